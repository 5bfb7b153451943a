-- V80: profiles service: guardian confirmation, encrypted identity documents,
-- Senegal regions and one default address per type.
--
-- Owns (schema `profiles`):
-- - profiles.profiles: extra columns guardian_confirmed_at, guardian_confirmed_by
--   (the guardian's confirmation of a minor's profile) and id_number_encrypted
--   (the identity document number, AES-256-GCM, `<key id>:<base64(nonce||ciphertext)>`;
--   the spec's id_number varchar(50) is too short for it and stays empty);
--   at most one profile per identity document (id_hash unique);
--   locale and timezone checked on every write (REST included).
-- - profiles.is_minor(date of birth, at): under 18 on the Africa/Dakar calendar day of `at`.
-- - profiles.can_open_pot(user id): false while a minor's guardian has not confirmed
--   (the pots lifecycle calls it before opening a pot).
-- - profiles.canonical_region(text): one of Senegal's 14 regions, accent and case
--   insensitive; user_addresses.region is stored canonical (trigger).
-- - user_addresses: one default address per user and type (partial unique index); making
--   an address the default un-defaults the previous one in the same transaction (trigger).
-- Depends on V2, V30, V31.

alter table profiles.profiles
    add column guardian_confirmed_at timestamp with time zone,
    add column guardian_confirmed_by uuid references identity.users(id),
    add column id_number_encrypted text;

comment on column profiles.profiles.guardian_confirmed_at is
    'When the guardian (guardian_user_id) confirmed this minor''s profile; reset when the guardian changes. A minor''s pot cannot open before (profiles.can_open_pot).';
comment on column profiles.profiles.id_number_encrypted is
    'Identity document number encrypted with AES-256-GCM: <key id>:<base64(96-bit nonce || ciphertext+tag)>. Keys from WOLO_ID_ENCRYPTION_KEYS; id_number stays empty.';

-- The same identity document cannot back two profiles (id_hash = HMAC-SHA256 of the
-- normalised number under WOLO_ID_HASH_KEY).
create unique index idx_profiles_id_hash_unique on profiles.profiles(id_hash) where id_hash is not null;

grant select (guardian_confirmed_at, guardian_confirmed_by) on profiles.profiles to wolo_user, wolo_partner;

-- ---------------------------------------------------------------- minors

create or replace function profiles.is_minor(p_date_of_birth date, p_at timestamp with time zone)
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select p_date_of_birth is not null
       and age((p_at at time zone 'Africa/Dakar')::date, p_date_of_birth) < interval '18 years'
$$;

comment on function profiles.is_minor(date, timestamp with time zone) is
    'Under 18 on the Africa/Dakar calendar day of the given time.';

create or replace function profiles.can_open_pot(p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(
        (select not profiles.is_minor(p.date_of_birth, now())
                or (p.guardian_user_id is not null and p.guardian_confirmed_at is not null)
         from profiles.profiles p
         where p.user_id = p_user_id),
        true)
$$;

comment on function profiles.can_open_pot(uuid) is
    'False while the user is a minor (Africa/Dakar) whose guardian has not confirmed; true otherwise (also without a profile). The pots lifecycle checks it before opening a pot.';

grant execute on function profiles.is_minor(date, timestamp with time zone) to wolo_anon, wolo_user, wolo_partner, wolo_admin;
grant execute on function profiles.can_open_pot(uuid) to wolo_user, wolo_partner, wolo_admin;

-- Locale and timezone on every write; a new guardian must confirm again.
create or replace function profiles.check_profile_row()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if new.locale is not null and new.locale not in ('fr-SN', 'wo-SN', 'en') then
        raise exception 'Langue non prise en charge : % (unsupported locale)', new.locale
            using errcode = '23514', hint = 'fr-SN, wo-SN ou en';
    end if;
    if new.timezone is not null
       and not exists (select 1 from pg_catalog.pg_timezone_names where name = new.timezone) then
        raise exception 'Fuseau horaire inconnu : % (unknown time zone)', new.timezone
            using errcode = '23514', hint = 'Un nom IANA, par exemple Africa/Dakar';
    end if;
    if tg_op = 'UPDATE' and new.guardian_user_id is distinct from old.guardian_user_id then
        new.guardian_confirmed_at := null;
        new.guardian_confirmed_by := null;
    end if;
    if new.guardian_user_id is not null and new.guardian_user_id = new.user_id then
        raise exception 'On ne peut pas être son propre tuteur (a user cannot be their own guardian)'
            using errcode = '23514';
    end if;
    return new;
end;
$$;

create trigger check_profile_row
    before insert or update on profiles.profiles
    for each row execute function profiles.check_profile_row();

-- ---------------------------------------------------------------- addresses

create or replace function profiles.region_key(p_text text)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select regexp_replace(
        lower(translate(p_text, 'ÉÈÊËéèêëÀÂÄàâäÎÏîïÔÖôöÛÙÜûùüÇç', 'EEEEeeeeAAAaaaIIiiOOooUUUuuuCc')),
        '[^a-z]', '', 'g')
$$;

create or replace function profiles.canonical_region(p_input text)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
    select r
    from unnest(array['Dakar', 'Diourbel', 'Fatick', 'Kaffrine', 'Kaolack', 'Kédougou', 'Kolda',
                      'Louga', 'Matam', 'Saint-Louis', 'Sédhiou', 'Tambacounda', 'Thiès',
                      'Ziguinchor']) as r
    where profiles.region_key(r) = profiles.region_key(p_input)
$$;

comment on function profiles.canonical_region(text) is
    'The canonical name of one of Senegal''s 14 regions ("thies", "SAINT LOUIS" -> Thiès, Saint-Louis), NULL when unknown.';

grant execute on function profiles.region_key(text), profiles.canonical_region(text)
    to wolo_anon, wolo_user, wolo_partner, wolo_admin;

create or replace function profiles.address_before_write()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_region text;
begin
    new.type := coalesce(new.type, 'primary');
    if new.type not in ('primary', 'billing', 'delivery') then
        raise exception 'Type d''adresse inconnu : % (unknown address type)', new.type
            using errcode = '23514', hint = 'primary, billing ou delivery';
    end if;
    if new.region is not null and coalesce(new.country, 'SEN') = 'SEN' then
        v_region := profiles.canonical_region(new.region);
        if v_region is null then
            raise exception 'Région inconnue : % (unknown Senegal region)', new.region
                using errcode = '23514',
                      hint = 'Dakar, Diourbel, Fatick, Kaffrine, Kaolack, Kédougou, Kolda, Louga, Matam, Saint-Louis, Sédhiou, Tambacounda, Thiès, Ziguinchor';
        end if;
        new.region := v_region;
    end if;
    if coalesce(new.is_default, false) then
        -- Serialise default switches of one user, then un-default the previous one.
        perform pg_advisory_xact_lock(hashtextextended('profiles.address_default:' || new.user_id::text, 0));
        update profiles.user_addresses
        set is_default = false
        where user_id = new.user_id and type = new.type and is_default and id <> new.id;
    end if;
    return new;
end;
$$;

create trigger address_before_write
    before insert or update on profiles.user_addresses
    for each row execute function profiles.address_before_write();

-- One default address per user and type.
create unique index idx_user_addresses_one_default
    on profiles.user_addresses(user_id, type) where is_default;
