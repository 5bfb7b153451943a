-- V2: profiles service.
--
-- Owns schema `profiles`: profiles, user_addresses
-- (spec section 3.2 and the profiles indexes of section 4).
-- Depends on V1 (identity.users, wolo.set_updated_at).

create schema if not exists profiles;

-- User profiles (extended user information), one per user.
create table profiles.profiles (
    user_id uuid primary key references identity.users(id) on delete cascade,
    full_name varchar(255) not null,
    date_of_birth date not null,
    locale varchar(10) default 'fr-SN',
    timezone varchar(50) default 'Africa/Dakar',
    avatar_url varchar(500),
    bio text,

    -- Guardian relationship (for minors <18)
    guardian_user_id uuid references identity.users(id),
    relationship_type varchar(50), -- 'parent', 'guardian', 'sibling', etc.

    -- Identity verification (especially for <18 users)
    id_number varchar(50),
    id_type varchar(20), -- 'passport', 'national_id', 'birth_certificate'
    id_country varchar(3), -- ISO country code
    id_hash varchar(255), -- Hashed ID for privacy
    id_media_url varchar(500), -- Encrypted storage URL for ID document
    id_verified_at timestamp with time zone,
    id_verified_by uuid references identity.users(id),

    -- Privacy & preferences
    is_profile_public boolean default true,
    allow_contact_by_sponsors boolean default true,
    notification_preferences jsonb default '{"email": true, "sms": true, "whatsapp": true}',

    created_at timestamp with time zone default now(),
    updated_at timestamp with time zone default now(),

    -- A minor (under 18 at write time) must name a guardian and the
    -- relationship. Note: age() is evaluated when the row is inserted or
    -- updated, so the check is not re-run when a minor turns 18.
    constraint check_minor_has_guardian check (
        case when extract(year from age(date_of_birth)) < 18
        then guardian_user_id is not null and relationship_type is not null
        else true end
    )
);

-- Address information (optional)
create table profiles.user_addresses (
    id uuid primary key default gen_random_uuid(),
    user_id uuid not null references identity.users(id) on delete cascade,
    type varchar(20) default 'primary', -- 'primary', 'billing', 'delivery'
    street_address text,
    city varchar(100),
    region varchar(100), -- Senegal regions
    country varchar(3) default 'SEN',
    postal_code varchar(10),
    is_default boolean default false,
    created_at timestamp with time zone default now()
);

-- Indexes from spec section 4.
create index idx_profiles_date_of_birth on profiles.profiles(date_of_birth);
create index idx_profiles_guardian_user_id on profiles.profiles(guardian_user_id) where guardian_user_id is not null;

-- Beyond the spec: supports the ON DELETE CASCADE from users and
-- "addresses of this user".
create index idx_user_addresses_user_id on profiles.user_addresses(user_id);

-- Keep updated_at current.
create trigger set_updated_at
    before update on profiles.profiles
    for each row execute function wolo.set_updated_at();
