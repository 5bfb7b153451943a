-- V4: pots service.
--
-- Owns schema `pots`: pots, pot_invitations, pot_analytics
-- (spec section 3.4 and the pots indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at) and V3
-- (referral.referrals).
--
-- pots.preferred_pack_id gets its foreign key to packs.packs in V11, because
-- packs is created after this migration.

create schema if not exists pots;

-- Birthday pots (main entity)
create table pots.pots (
    id uuid primary key default gen_random_uuid(),
    owner_user_id uuid not null references identity.users(id),

    -- Pot configuration
    title varchar(255) not null,
    description text,
    target_amount_cfa integer not null check (target_amount_cfa > 0),
    birthday_date date not null,

    -- Pot scheduling and lifecycle
    scheduled_open_at timestamp with time zone not null, -- J-30 before birthday
    actual_opened_at timestamp with time zone,
    closed_at timestamp with time zone,

    -- Status management
    status varchar(20) default 'scheduled', -- 'scheduled', 'open', 'funded', 'expired', 'closed'
    visibility varchar(20) default 'private', -- 'private', 'public', 'friends_only'

    -- Preferred pack selection
    preferred_pack_id uuid, -- References packs.packs(id), FK added in V11

    -- Pot settings
    allow_anonymous_donations boolean default true,
    show_donor_names boolean default true,
    enable_messages boolean default true,

    -- Social sharing
    share_count integer default 0,
    view_count integer default 0,

    -- Media
    cover_image_url varchar(500),
    gallery_images jsonb, -- Array of image URLs

    -- Auto-creation from referral
    created_from_referral_id uuid references referral.referrals(id),

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- The pot must open at the latest at 00:00 on the day before the
    -- birthday; the date -> timestamptz cast uses the session time zone.
    constraint check_open_before_birthday check (
        scheduled_open_at <= (birthday_date - interval '1 day')::timestamp with time zone
    ),

    -- Beyond the spec: exactly the values documented for status / visibility.
    constraint check_pots_status check (
        status in ('scheduled', 'open', 'funded', 'expired', 'closed')
    ),
    constraint check_pots_visibility check (
        visibility in ('private', 'public', 'friends_only')
    )
);

-- Pot invitations and sharing
create table pots.pot_invitations (
    id uuid primary key default gen_random_uuid(),
    pot_id uuid not null references pots.pots(id) on delete cascade,
    invited_by_user_id uuid not null references identity.users(id),

    -- Invitation details
    invitation_method varchar(20) not null, -- 'whatsapp', 'sms', 'email', 'social'
    recipient_identifier varchar(255) not null, -- phone, email, or social handle
    custom_message text,

    -- Tracking
    sent_at timestamp with time zone default now(),
    opened_at timestamp with time zone,
    clicked_at timestamp with time zone,

    created_at timestamp with time zone default now()
);

-- Pot statistics and analytics (daily snapshots)
create table pots.pot_analytics (
    id uuid primary key default gen_random_uuid(),
    pot_id uuid not null references pots.pots(id) on delete cascade,

    -- Daily snapshots
    snapshot_date date not null,
    total_raised_cfa integer default 0,
    donor_count integer default 0,
    view_count integer default 0,
    share_count integer default 0,
    conversion_rate decimal(5,4), -- Donations / Views

    created_at timestamp with time zone default now(),

    -- Also serves lookups by pot_id (leading column).
    unique (pot_id, snapshot_date)
);

-- Indexes from spec section 4.
create index idx_pots_owner_user_id on pots.pots(owner_user_id);
create index idx_pots_status on pots.pots(status);
create index idx_pots_scheduled_open_at on pots.pots(scheduled_open_at);
create index idx_pots_birthday_date on pots.pots(birthday_date);

-- Beyond the spec: foreign keys the product queries by (and the
-- ON DELETE CASCADE from pots).
create index idx_pot_invitations_pot_id on pots.pot_invitations(pot_id);
create index idx_pots_created_from_referral_id on pots.pots(created_from_referral_id) where created_from_referral_id is not null;

-- Keep updated_at current.
create trigger set_updated_at
    before update on pots.pots
    for each row execute function wolo.set_updated_at();
