-- V10: admin service.
--
-- Owns schema `admin`: feature_flags, system_config, audit_logs,
-- system_health_checks, admin_sessions
-- (spec section 3.10 and the audit/admin indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at).
--
-- Roles, grants and row-level security are not set up here; they come in a
-- later migration.

create schema if not exists admin;

-- Feature flags and system toggles
create table admin.feature_flags (
    id uuid primary key default gen_random_uuid(),

    -- Flag identification
    flag_key varchar(100) not null unique,
    name varchar(255) not null,
    description text,

    -- Flag configuration
    is_enabled boolean default false,
    flag_type varchar(20) default 'boolean', -- 'boolean', 'string', 'number', 'json'
    flag_value jsonb,

    -- Rollout configuration
    rollout_percentage integer default 0 check (rollout_percentage between 0 and 100),
    target_user_groups text[], -- ['beta_users', 'premium_users']
    target_regions text[], -- ['Dakar', 'Thiès']

    -- Environment
    environment varchar(20) default 'production', -- 'development', 'staging', 'production'

    -- Audit
    created_by_user_id uuid references identity.users(id),
    last_modified_by_user_id uuid references identity.users(id),

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now()
);

-- System configuration
create table admin.system_config (
    id uuid primary key default gen_random_uuid(),

    -- Configuration key
    config_key varchar(100) not null unique,
    config_value jsonb not null,

    -- Metadata
    description text,
    data_type varchar(20) not null, -- 'string', 'number', 'boolean', 'object', 'array'
    is_sensitive boolean default false, -- For secrets/passwords

    -- Validation
    validation_rules jsonb, -- JSON schema for validation

    -- Environment-specific
    environment varchar(20) default 'production',

    -- Audit
    last_modified_by_user_id uuid references identity.users(id),

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now()
);

-- Audit log for admin actions
create table admin.audit_logs (
    id uuid primary key default gen_random_uuid(),

    -- Actor information
    actor_user_id uuid references identity.users(id),
    actor_type varchar(20) not null, -- 'user', 'system', 'api'
    actor_ip inet,

    -- Action details
    action varchar(100) not null, -- 'user_suspended', 'pot_deleted', 'refund_processed'
    resource_type varchar(50) not null, -- 'user', 'pot', 'donation'
    resource_id uuid, -- Polymorphic (see resource_type), so no foreign key

    -- Change details
    old_values jsonb,
    new_values jsonb,

    -- Context
    reason text,
    metadata jsonb,

    -- Timing
    timestamp timestamp with time zone default now(),

    -- Request context
    request_id varchar(100),
    user_agent text,

    created_at timestamp with time zone default now()
);

-- System health and monitoring
create table admin.system_health_checks (
    id uuid primary key default gen_random_uuid(),

    -- Service identification
    service_name varchar(100) not null,
    check_name varchar(100) not null,

    -- Health status
    status varchar(20) not null, -- 'healthy', 'degraded', 'unhealthy'
    response_time_ms integer,

    -- Check details
    check_data jsonb, -- Service-specific health data
    error_message text,

    -- Timing
    checked_at timestamp with time zone default now(),

    created_at timestamp with time zone default now()
);

-- Admin user sessions and activity
create table admin.admin_sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references identity.users(id),

    -- Session details
    session_token_hash varchar(255) not null,
    ip_address inet not null,
    user_agent text,

    -- Admin-specific tracking
    admin_level varchar(20) not null, -- 'regular', 'super', 'partner', 'sponsor'
    permissions_granted text[], -- Specific permissions for this session

    -- Session lifecycle
    created_at timestamp with time zone default now(),
    last_activity_at timestamp with time zone default now(),
    expires_at timestamp with time zone not null,
    terminated_at timestamp with time zone,
    termination_reason varchar(50), -- 'logout', 'timeout', 'revoked'

    -- Security
    is_suspicious boolean default false,
    security_flags jsonb
);

-- Indexes from spec section 4.
create index idx_audit_logs_actor_user_id on admin.audit_logs(actor_user_id) where actor_user_id is not null;
create index idx_audit_logs_action on admin.audit_logs(action);
create index idx_audit_logs_timestamp on admin.audit_logs(timestamp);

-- Beyond the spec: "sessions of this admin" and session lookup by token hash.
create index idx_admin_sessions_user_id on admin.admin_sessions(user_id);
create index idx_admin_sessions_session_token_hash on admin.admin_sessions(session_token_hash);

-- Keep updated_at current.
create trigger set_updated_at
    before update on admin.feature_flags
    for each row execute function wolo.set_updated_at();

create trigger set_updated_at
    before update on admin.system_config
    for each row execute function wolo.set_updated_at();
