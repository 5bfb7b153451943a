-- V9: analytics service.
--
-- Owns schema `analytics`: analytics_events, business_metrics,
-- funnel_analytics, ab_tests, ab_test_assignments
-- (spec section 3.9 and the analytics indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at).

create schema if not exists analytics;

-- Event tracking (user actions)
create table analytics.analytics_events (
    id uuid primary key default gen_random_uuid(),

    -- Event identification
    event_name varchar(100) not null, -- 'pot_created', 'donation_made', etc.
    event_category varchar(50) not null, -- 'pot', 'referral', 'donation'

    -- User context
    user_id uuid references identity.users(id),
    session_id varchar(100),
    anonymous_id varchar(100), -- For non-logged-in users

    -- Event properties
    properties jsonb, -- Flexible event data

    -- Context
    timestamp timestamp with time zone not null default now(),
    ip_address inet,
    user_agent text,
    referrer varchar(500),
    page_url varchar(500),

    -- Device/platform info
    platform varchar(20), -- 'web', 'mobile_app', 'api'
    device_type varchar(20), -- 'desktop', 'mobile', 'tablet'
    os varchar(50),
    browser varchar(50),

    -- Geographic info
    country varchar(3), -- ISO country code
    region varchar(100),
    city varchar(100),

    created_at timestamp with time zone default now()
);

-- Business metrics aggregates
create table analytics.business_metrics (
    id uuid primary key default gen_random_uuid(),

    -- Time period
    metric_date date not null,
    metric_type varchar(50) not null, -- 'daily_active_users', 'revenue', etc.

    -- Metric value
    metric_value decimal(15,4) not null,
    metric_count integer,

    -- Dimensions
    dimensions jsonb, -- {"region": "Dakar", "age_group": "18-25"}

    -- Comparison metrics
    previous_period_value decimal(15,4),
    period_over_period_change decimal(8,4),

    created_at timestamp with time zone default now(),

    -- As in the spec. Note: NULLs are distinct in a unique constraint, so rows
    -- with dimensions NULL are not deduplicated (store '{}' for "no
    -- dimensions" where deduplication matters).
    unique (metric_date, metric_type, dimensions)
);

-- User funnel analysis
create table analytics.funnel_analytics (
    id uuid primary key default gen_random_uuid(),

    -- Funnel configuration
    funnel_name varchar(100) not null, -- 'sponsorship_conversion', 'pot_creation'
    step_number integer not null,
    step_name varchar(100) not null,

    -- Time period
    period_start date not null,
    period_end date not null,

    -- Metrics
    users_entered integer default 0,
    users_completed integer default 0,
    completion_rate decimal(5,4),

    -- Segmentation
    segment_filters jsonb, -- {"age_group": "18-25", "region": "Dakar"}

    created_at timestamp with time zone default now(),

    -- As in the spec; same NULL caveat as business_metrics (segment_filters).
    unique (funnel_name, step_number, period_start, period_end, segment_filters)
);

-- A/B test configurations and results
create table analytics.ab_tests (
    id uuid primary key default gen_random_uuid(),

    -- Test configuration
    test_name varchar(100) not null unique,
    description text,

    -- Test parameters
    variants jsonb not null, -- {"control": {...}, "variant_a": {...}}
    traffic_allocation jsonb not null, -- {"control": 0.5, "variant_a": 0.5}

    -- Target metrics
    primary_metric varchar(100) not null,
    secondary_metrics text[],

    -- Test timing
    start_date date not null,
    end_date date,

    -- Status
    status varchar(20) default 'draft', -- 'draft', 'running', 'paused', 'completed'

    -- Results
    results jsonb, -- Statistical analysis results
    winner_variant varchar(50),
    confidence_level decimal(5,4),

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now()
);

-- A/B test participant assignments
create table analytics.ab_test_assignments (
    id uuid primary key default gen_random_uuid(),
    test_id uuid not null references analytics.ab_tests(id),

    -- Participant identification
    user_id uuid references identity.users(id),
    anonymous_id varchar(100),

    -- Assignment details
    variant varchar(50) not null,
    assigned_at timestamp with time zone default now(),

    -- Context
    ip_address inet,
    user_agent text,

    -- One assignment per participant and test; these also serve lookups by
    -- test_id (leading column).
    unique (test_id, user_id),
    unique (test_id, anonymous_id)
);

-- Indexes from spec section 4.
create index idx_analytics_events_event_name on analytics.analytics_events(event_name);
create index idx_analytics_events_user_id on analytics.analytics_events(user_id) where user_id is not null;
create index idx_analytics_events_timestamp on analytics.analytics_events(timestamp);

-- Beyond the spec: "assignments of this user" (unique (test_id, user_id)
-- cannot serve it, user_id is not its leading column).
create index idx_ab_test_assignments_user_id on analytics.ab_test_assignments(user_id) where user_id is not null;

-- Keep updated_at current.
create trigger set_updated_at
    before update on analytics.ab_tests
    for each row execute function wolo.set_updated_at();
