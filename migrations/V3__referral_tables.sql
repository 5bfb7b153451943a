-- V3: referral service.
--
-- Owns schema `referral`: referrals, points_ledger, points_conversions,
-- sponsor_daily_limits, sponsor_contact_batches
-- (spec section 3.3 and the referral indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at).
--
-- The spec creates referrals first and later adds daily_limit_id, batch_id and
-- invitation_order with ALTER TABLE. Here sponsor_daily_limits and
-- sponsor_contact_batches are created first so referrals can be created whole;
-- the resulting table (columns, order, constraint names) is the same.
--
-- points_conversions.applied_to_pot_id gets its foreign key to pots.pots in
-- V11, because pots is created after this migration.

create schema if not exists referral;

-- Daily invitation limits and tracking
create table referral.sponsor_daily_limits (
    id uuid primary key default gen_random_uuid(),
    sponsor_user_id uuid not null references identity.users(id),
    limit_date date not null default current_date,

    -- Daily limits
    max_invitations_per_day integer not null default 50,
    invitations_sent_today integer not null default 0,

    -- Batch selection tracking
    current_batch_start integer default 0, -- Starting position in contact list
    preferred_selection_method varchar(20) default 'batch', -- 'batch', 'individual'

    -- Reset tracking
    last_reset_at timestamp with time zone default now(),
    next_reset_at timestamp with time zone default (current_date + interval '1 day')::timestamp with time zone,

    -- Engagement metrics
    consecutive_active_days integer default 0,
    total_lifetime_invitations integer default 0,

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- One record per sponsor per day
    unique (sponsor_user_id, limit_date),

    -- Never exceed the daily limit
    constraint check_daily_limit check (invitations_sent_today <= max_invitations_per_day)
);

-- Contact selection batches for sponsors
create table referral.sponsor_contact_batches (
    id uuid primary key default gen_random_uuid(),
    sponsor_user_id uuid not null references identity.users(id),
    batch_date date not null default current_date,

    -- Batch configuration
    batch_number integer not null default 1, -- Which batch of 50 for the day
    start_position integer not null, -- Starting index in contact list
    end_position integer not null, -- Ending index in contact list

    -- Batch status
    status varchar(20) default 'pending', -- 'pending', 'selected', 'sent', 'skipped'
    selected_count integer default 0,
    sent_count integer default 0,

    -- Contact data snapshot (for consistency)
    contact_snapshot jsonb, -- Array of contact objects for this batch

    -- Selection preferences
    auto_selected boolean default false,
    manual_selections jsonb, -- Array of manually selected contact IDs

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- A batch is a non-empty window of at most 50 contacts.
    constraint check_batch_positions check (end_position > start_position),
    constraint check_batch_size check (end_position - start_position <= 50)
);

-- Referral/sponsorship relationships
create table referral.referrals (
    id uuid primary key default gen_random_uuid(),
    sponsor_user_id uuid not null references identity.users(id),
    referral_code varchar(20) not null unique,
    invited_phone varchar(20),
    invited_email varchar(255),
    invited_name varchar(255),
    invitation_message text,

    -- Referral status tracking
    status varchar(20) not null default 'sent', -- 'sent', 'accepted', 'expired', 'declined'
    sponsored_user_id uuid references identity.users(id),

    -- Identity collection for <18 users
    both_ids_collected boolean default false,
    sponsor_id_verified boolean default false,
    sponsored_id_verified boolean default false,

    -- Timing
    sent_at timestamp with time zone default now(),
    accepted_at timestamp with time zone,
    expired_at timestamp with time zone default (now() + interval '7 days'),

    created_at timestamp with time zone default now(),

    -- Daily limit tracking (added by ALTER TABLE in the spec)
    daily_limit_id uuid references referral.sponsor_daily_limits(id),
    batch_id uuid references referral.sponsor_contact_batches(id),
    invitation_order integer, -- Order within the day (1-50)

    -- An invitation needs somewhere to be sent.
    constraint check_invitation_contact check (
        invited_phone is not null or invited_email is not null
    ),

    -- Beyond the spec: exactly the values documented for status.
    constraint check_referrals_status check (
        status in ('sent', 'accepted', 'expired', 'declined')
    )
);

-- Points ledger for sponsors
create table referral.points_ledger (
    id uuid primary key default gen_random_uuid(),
    sponsor_user_id uuid not null references identity.users(id),
    referral_id uuid references referral.referrals(id),

    -- Point transaction details
    event_type varchar(50) not null, -- 'referral_accepted', 'pot_opened', 'first_donation'
    points_earned integer not null default 0,
    points_spent integer not null default 0,

    -- Point status and maturation
    status varchar(20) default 'pending', -- 'pending', 'matured', 'revoked'
    matured_at timestamp with time zone,

    -- Sponsor boost multipliers
    base_multiplier decimal(3,2) default 1.00,
    sponsor_boost_multiplier decimal(3,2) default 1.00,

    description text,
    metadata jsonb,

    created_at timestamp with time zone default now(),

    -- Beyond the spec: exactly the values documented for status.
    constraint check_points_ledger_status check (
        status in ('pending', 'matured', 'revoked')
    ),
    -- Beyond the spec: a ledger line records earned and spent points as two
    -- non-negative amounts; the direction is given by the column, not the sign.
    constraint check_points_ledger_points_non_negative check (
        points_earned >= 0 and points_spent >= 0
    )
);

-- Points conversion to credits
create table referral.points_conversions (
    id uuid primary key default gen_random_uuid(),
    sponsor_user_id uuid not null references identity.users(id),
    points_converted integer not null,
    credits_issued integer not null, -- In CFA francs
    conversion_rate decimal(10,4) not null, -- Points to CFA rate
    applied_to_pot_id uuid, -- Which pot received the credit (FK added in V11)

    created_at timestamp with time zone default now(),

    -- Beyond the spec: neither points nor credits can be negative.
    constraint check_points_conversions_non_negative check (
        points_converted >= 0 and credits_issued >= 0
    )
);

-- Indexes from spec section 4.
create index idx_referrals_sponsor_user_id on referral.referrals(sponsor_user_id);
create index idx_referrals_referral_code on referral.referrals(referral_code);
create index idx_referrals_status on referral.referrals(status);
create index idx_points_ledger_sponsor_user_id on referral.points_ledger(sponsor_user_id);
create index idx_points_ledger_status on referral.points_ledger(status);

-- Beyond the spec: foreign keys the product queries by.
create index idx_referrals_sponsored_user_id on referral.referrals(sponsored_user_id) where sponsored_user_id is not null;
create index idx_points_ledger_referral_id on referral.points_ledger(referral_id) where referral_id is not null;
create index idx_points_conversions_sponsor_user_id on referral.points_conversions(sponsor_user_id);
create index idx_sponsor_contact_batches_sponsor_user_id on referral.sponsor_contact_batches(sponsor_user_id);

-- Keep updated_at current.
create trigger set_updated_at
    before update on referral.sponsor_daily_limits
    for each row execute function wolo.set_updated_at();

create trigger set_updated_at
    before update on referral.sponsor_contact_batches
    for each row execute function wolo.set_updated_at();
