-- V6: packs service.
--
-- Owns schema `packs`: partners, packs, sponsor_campaigns (spec section 3.6;
-- section 4 has no packs indexes).
-- Depends on V1 (identity.users, wolo.set_updated_at).
--
-- partners is created before packs so that packs.partner_id can reference it.
-- pots.pots.preferred_pack_id -> packs.packs is added in V11.

create schema if not exists packs;

-- Partner organizations
create table packs.partners (
    id uuid primary key default gen_random_uuid(),

    -- Partner details
    name varchar(255) not null,
    type varchar(50) not null, -- 'cinema', 'restaurant', 'spa', 'retail'
    description text,

    -- Contact information
    contact_name varchar(255),
    contact_email varchar(255),
    contact_phone varchar(20),

    -- Business details
    business_registration varchar(100),
    tax_id varchar(50),

    -- Financial terms
    revenue_split_percentage decimal(5,2) not null check (revenue_split_percentage between 0 and 100),
    payment_terms varchar(20) default 'monthly', -- 'weekly', 'monthly', 'quarterly'
    minimum_payout_cfa integer default 10000,

    -- Venues/locations
    venues jsonb, -- Array of venue objects with addresses

    -- Status and verification
    status varchar(20) default 'pending', -- 'pending', 'active', 'suspended', 'terminated'
    verified_at timestamp with time zone,
    verified_by_user_id uuid references identity.users(id),

    -- Settings
    auto_approve_redemptions boolean default false,
    notification_preferences jsonb,

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now()
);

-- Reward packages/products
create table packs.packs (
    id uuid primary key default gen_random_uuid(),

    -- Pack details
    name varchar(255) not null,
    description text not null,
    category varchar(50) not null, -- 'cinema', 'restaurant', 'spa', 'experience'

    -- Pricing
    base_price_cfa integer not null check (base_price_cfa > 0),
    discounted_price_cfa integer,

    -- Availability
    is_active boolean default true,
    available_from date,
    available_until date,
    max_redemptions_per_user integer default 1,
    total_available_quantity integer,

    -- Media
    image_url varchar(500),
    gallery_images jsonb,

    -- Partner information
    -- Beyond the spec: the spec only says "References partners.id"; the foreign
    -- key is real here. Removing a partner keeps its packs, unlinked.
    partner_id uuid references packs.partners(id) on delete set null,
    venue_restrictions jsonb, -- Specific venues where valid

    -- Terms and conditions
    terms_and_conditions text,
    redemption_instructions text,
    validity_days integer default 90, -- Days valid after birthday

    -- SEO and marketing
    seo_title varchar(255),
    seo_description text,
    marketing_tags text[],

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now()
);

-- Sponsor promotional campaigns
create table packs.sponsor_campaigns (
    id uuid primary key default gen_random_uuid(),
    sponsor_company_name varchar(255) not null,

    -- Campaign details
    campaign_name varchar(255) not null,
    description text,

    -- Targeting
    target_demographics jsonb, -- Age, region, interests
    pack_categories text[], -- Which pack categories to boost

    -- Boost configuration
    points_multiplier decimal(3,2) default 1.5, -- 1.5x points boost
    budget_cfa integer not null,
    spent_cfa integer default 0,

    -- Campaign timing
    starts_at timestamp with time zone not null,
    ends_at timestamp with time zone not null,

    -- Status
    status varchar(20) default 'draft', -- 'draft', 'active', 'paused', 'completed'

    -- Performance tracking
    impressions integer default 0,
    clicks integer default 0,
    conversions integer default 0,

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- Beyond the spec: budgets and spend are non-negative amounts and a
    -- campaign never spends more than its budget.
    constraint check_sponsor_campaigns_amounts_non_negative check (
        budget_cfa >= 0 and spent_cfa >= 0
    ),
    constraint check_sponsor_campaigns_spent_within_budget check (
        spent_cfa <= budget_cfa
    )
);

-- Beyond the spec: supports "packs of this partner" and the ON DELETE SET NULL.
create index idx_packs_partner_id on packs.packs(partner_id) where partner_id is not null;

-- Keep updated_at current.
create trigger set_updated_at
    before update on packs.partners
    for each row execute function wolo.set_updated_at();

create trigger set_updated_at
    before update on packs.packs
    for each row execute function wolo.set_updated_at();

create trigger set_updated_at
    before update on packs.sponsor_campaigns
    for each row execute function wolo.set_updated_at();
