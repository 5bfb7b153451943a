-- V5: donations service.
--
-- Owns schema `donations`: donations, wave_webhook_events, refunds,
-- donation_analytics (spec section 3.5 and the donations indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at) and V4 (pots.pots).

create schema if not exists donations;

-- Donation transactions
create table donations.donations (
    id uuid primary key default gen_random_uuid(),
    pot_id uuid not null references pots.pots(id),

    -- Donor information (can be anonymous)
    donor_user_id uuid references identity.users(id), -- NULL for anonymous
    donor_name varchar(255), -- For anonymous donors
    donor_phone varchar(20), -- Wave payment phone

    -- Transaction details
    amount_cfa integer not null check (amount_cfa > 0),
    wave_transaction_id varchar(100) unique,
    wave_payment_url text,

    -- Transaction status
    status varchar(20) default 'pending', -- 'pending', 'processing', 'succeeded', 'failed', 'refunded'

    -- Payment flow
    initiated_at timestamp with time zone default now(),
    wave_notified_at timestamp with time zone,
    confirmed_at timestamp with time zone,
    failed_at timestamp with time zone,
    refunded_at timestamp with time zone,

    -- Message and preferences
    donation_message text,
    is_anonymous boolean default false,
    show_amount boolean default true,

    -- Wave webhook data
    wave_webhook_data jsonb,

    -- Fraud detection
    ip_address inet,
    user_agent text,
    risk_score integer default 0, -- 0-100, higher = more risky

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- Beyond the spec: exactly the values documented for status.
    constraint check_donations_status check (
        status in ('pending', 'processing', 'succeeded', 'failed', 'refunded')
    )
);

-- Wave webhook events (idempotency and audit)
create table donations.wave_webhook_events (
    id uuid primary key default gen_random_uuid(),
    wave_event_id varchar(100) unique not null, -- From Wave; a replayed event violates this
    event_type varchar(50) not null,
    donation_id uuid references donations.donations(id),

    -- Webhook payload
    raw_payload jsonb not null,
    processed_at timestamp with time zone,
    processing_error text,

    -- Idempotency
    idempotency_key varchar(255) unique,
    retry_count integer default 0,

    created_at timestamp with time zone default now()
);

-- Refund transactions
create table donations.refunds (
    id uuid primary key default gen_random_uuid(),
    donation_id uuid not null references donations.donations(id),
    refunded_by_user_id uuid not null references identity.users(id),

    -- Refund details
    amount_cfa integer not null,
    reason varchar(20) not null, -- 'user_request', 'fraud', 'failed_pot', 'admin_action'
    reason_description text,

    -- Wave refund tracking
    wave_refund_id varchar(100),
    wave_refund_status varchar(20) default 'pending',

    processed_at timestamp with time zone,
    completed_at timestamp with time zone,

    created_at timestamp with time zone default now(),

    -- Beyond the spec: a refund moves money, so its amount is positive
    -- (like donations.amount_cfa). Not enforced here: refunds of a donation
    -- summing to at most its amount (needs a cross-row check).
    constraint check_refunds_amount_positive check (amount_cfa > 0)
);

-- Donation analytics aggregates
create table donations.donation_analytics (
    id uuid primary key default gen_random_uuid(),

    -- Time period
    period_type varchar(20) not null, -- 'daily', 'weekly', 'monthly'
    period_start date not null,
    period_end date not null,

    -- Aggregate metrics
    total_amount_cfa bigint default 0,
    transaction_count integer default 0,
    unique_donors integer default 0,
    average_donation_cfa integer default 0,
    success_rate decimal(5,4), -- Successful / Total transactions

    -- Geographic breakdown
    region_breakdown jsonb, -- {"Dakar": 15000, "Thiès": 8000, ...}

    created_at timestamp with time zone default now(),

    unique (period_type, period_start, period_end)
);

-- Indexes from spec section 4.
create index idx_donations_pot_id on donations.donations(pot_id);
create index idx_donations_donor_user_id on donations.donations(donor_user_id) where donor_user_id is not null;
create index idx_donations_status on donations.donations(status);
create index idx_donations_wave_transaction_id on donations.donations(wave_transaction_id) where wave_transaction_id is not null;

-- Beyond the spec: foreign keys the product queries by.
create index idx_refunds_donation_id on donations.refunds(donation_id);
create index idx_wave_webhook_events_donation_id on donations.wave_webhook_events(donation_id) where donation_id is not null;

-- Keep updated_at current.
create trigger set_updated_at
    before update on donations.donations
    for each row execute function wolo.set_updated_at();
