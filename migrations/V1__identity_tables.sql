-- V1: identity service.
--
-- Owns schema `identity`: users, user_sessions, password_reset_tokens
-- (spec section 3.1 and the identity indexes of section 4).
--
-- Also creates schema `wolo`, which holds helper functions shared by every
-- service (no tables). It lives here because V1 is the first migration to run
-- and every later migration may rely on it. `wolo.set_updated_at()` is the
-- BEFORE UPDATE trigger function that keeps `updated_at` columns current; each
-- service migration attaches it to its own tables that have `updated_at`.
--
-- All names are schema-qualified; nothing relies on search_path.
-- gen_random_uuid() is built into PostgreSQL 13+, no extension needed.

create schema if not exists wolo;

comment on schema wolo is
    'Helper functions shared by all WOLO services. Holds no tables.';

create or replace function wolo.set_updated_at()
returns trigger
language plpgsql
as $$
begin
    -- now() is the transaction start time, like the column defaults.
    new.updated_at := pg_catalog.now();
    return new;
end;
$$;

comment on function wolo.set_updated_at() is
    'BEFORE UPDATE row trigger: sets NEW.updated_at to now().';

create schema if not exists identity;

-- Users (core identity)
create table identity.users (
    id uuid primary key default gen_random_uuid(),
    phone varchar(20) unique,
    email varchar(255) unique,
    auth_provider varchar(50) not null default 'phone', -- 'phone', 'google', 'facebook'
    roles text[] default array['user'], -- ['user', 'admin', 'super_admin', 'partner']
    is_active boolean default true,
    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),
    last_login_at timestamp with time zone,

    -- A user must be reachable: at least one of phone / email.
    constraint check_contact_method check (
        phone is not null or email is not null
    )
);

-- Sessions (JWT token management)
create table identity.user_sessions (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references identity.users(id) on delete cascade,
    token_hash varchar(255) not null,
    device_info jsonb,
    ip_address inet,
    expires_at timestamp with time zone not null,
    created_at timestamp with time zone default now(),
    is_revoked boolean default false
);

-- Password reset tokens
create table identity.password_reset_tokens (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references identity.users(id) on delete cascade,
    token_hash varchar(255) not null,
    expires_at timestamp with time zone not null,
    used_at timestamp with time zone,
    created_at timestamp with time zone default now()
);

-- Indexes from spec section 4.
create index idx_users_phone on identity.users(phone) where phone is not null;
create index idx_users_email on identity.users(email) where email is not null;
create index idx_users_roles on identity.users using gin(roles);
create index idx_user_sessions_token_hash on identity.user_sessions(token_hash);
create index idx_user_sessions_user_id on identity.user_sessions(user_id);

-- Beyond the spec: supports the ON DELETE CASCADE from users and the
-- "tokens of this user" lookups.
create index idx_password_reset_tokens_user_id on identity.password_reset_tokens(user_id);
-- Beyond the spec: the reset flow looks a token up by its hash.
create index idx_password_reset_tokens_token_hash on identity.password_reset_tokens(token_hash);

-- Keep updated_at current.
create trigger set_updated_at
    before update on identity.users
    for each row execute function wolo.set_updated_at();
