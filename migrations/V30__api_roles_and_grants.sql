-- V30: API roles, request helpers and grants for the PostgREST-style REST layer.
--
-- Owns:
--   roles      wolo_anon, wolo_user, wolo_partner, wolo_admin (NOLOGIN: a request
--              switches to one of them with SET LOCAL ROLE) and wolo_authenticator
--              (LOGIN NOINHERIT, member of exactly those four, no password here);
--              per-role statement_timeout settings
--   functions  wolo.jwt_claims(), wolo.current_user_id(), wolo.is_admin(),
--              wolo.partner_ids(), wolo.partner_pack_ids(),
--              wolo.partner_staff_user_ids(), wolo.my_pot_ids(),
--              wolo.role_statement_timeout(name), donations.set_public_donor_name(),
--              admin.refuse_audit_log_change()
--   table      packs.partner_members (which users are staff of which partner)
--   column     donations.donations.public_donor_name (kept by a trigger)
--   trigger    admin.audit_logs is append-only, for everyone
--   grants     every privilege the four API roles hold (table and column level)
--
-- Row-level security and the policies that decide *which rows* a role sees
-- are in V31; this file decides *which tables and columns* a role may touch.
-- docs/security.md is the matrix of both.
--
-- Roles are cluster-wide and test databases are cloned from a template, so
-- this migration may run many times on one cluster, sometimes concurrently:
-- every role statement is guarded (create only when missing, alter only when
-- different) and tolerant of a concurrent run, and a final check fails the
-- migration if the roles are not as they must be.

-- ---------------------------------------------------------------- roles

do $$
declare
    r text;
    timeouts constant jsonb := '{"wolo_anon": "3s", "wolo_user": "8s", "wolo_partner": "8s", "wolo_admin": "30s"}';
begin
    foreach r in array array['wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin', 'wolo_authenticator'] loop
        if not exists (select from pg_catalog.pg_roles where rolname = r) then
            begin
                if r = 'wolo_authenticator' then
                    -- LOGIN without a password: production sets one (or uses
                    -- certificate auth) outside the migrations. NOINHERIT: it
                    -- holds no privilege of its own and must SET ROLE to act.
                    execute format('create role %I login noinherit', r);
                else
                    execute format('create role %I nologin', r);
                end if;
            exception when duplicate_object or unique_violation then
                null; -- created meanwhile by a concurrent migration of another database
            end;
        end if;
    end loop;

    -- An existing wolo_authenticator keeps (or gets back) its two attributes.
    if exists (select from pg_catalog.pg_roles
               where rolname = 'wolo_authenticator' and (not rolcanlogin or rolinherit)) then
        begin
            alter role wolo_authenticator login noinherit;
        exception when others then
            null; -- concurrent update; verified below
        end;
    end if;

    -- wolo_authenticator may switch to the four API roles and to nothing else.
    foreach r in array array['wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin'] loop
        if not exists (select from pg_catalog.pg_auth_members m
                       where m.roleid = (select oid from pg_catalog.pg_roles where rolname = r)
                         and m.member = (select oid from pg_catalog.pg_roles where rolname = 'wolo_authenticator')) then
            begin
                execute format('grant %I to wolo_authenticator', r);
            exception when others then
                null; -- concurrent grant; verified below
            end;
        end if;

        -- SET LOCAL ROLE does not apply these settings; the REST layer reads
        -- them with wolo.role_statement_timeout() and applies them itself.
        if not exists (select from pg_catalog.pg_db_role_setting s
                       where s.setdatabase = 0
                         and s.setrole = (select oid from pg_catalog.pg_roles where rolname = r)
                         and ('statement_timeout=' || (timeouts ->> r)) = any (s.setconfig)) then
            begin
                execute format('alter role %I set statement_timeout = %L', r, timeouts ->> r);
            exception when others then
                null; -- concurrent update; verified below
            end;
        end if;
    end loop;

    -- Verify: whatever happened above, the roles must now be exactly right.
    foreach r in array array['wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin'] loop
        if not exists (select from pg_catalog.pg_roles where rolname = r and not rolcanlogin and not rolsuper and not rolbypassrls) then
            raise exception 'role % is missing, can log in, or bypasses RLS', r;
        end if;
        if not pg_catalog.pg_has_role('wolo_authenticator', r, 'MEMBER') then
            raise exception 'wolo_authenticator is not a member of %', r;
        end if;
        if not exists (select from pg_catalog.pg_db_role_setting s
                       where s.setdatabase = 0
                         and s.setrole = (select oid from pg_catalog.pg_roles where rolname = r)
                         and ('statement_timeout=' || (timeouts ->> r)) = any (s.setconfig)) then
            raise exception 'role % has no statement_timeout of %', r, timeouts ->> r;
        end if;
    end loop;
    if not exists (select from pg_catalog.pg_roles
                   where rolname = 'wolo_authenticator' and rolcanlogin and not rolinherit
                     and not rolsuper and not rolbypassrls and not rolcreaterole and not rolcreatedb) then
        raise exception 'wolo_authenticator must be LOGIN NOINHERIT without other attributes';
    end if;
end;
$$;

-- ---------------------------------------------------------------- request helpers
--
-- Each HTTP request runs in one transaction that does
--     set local role <wolo_anon | wolo_user | wolo_partner | wolo_admin>;
--     select set_config('request.jwt.claims', '<claims json>', true);
-- These functions read that context. They are STABLE and (except where they
-- must read a table the caller may not see) SECURITY INVOKER, so the planner
-- can inline them. Policies call them as `(select wolo.f())` so they run once
-- per statement, not once per row.

create or replace function wolo.jwt_claims()
returns jsonb
language sql
stable
as $$
    select coalesce(nullif(pg_catalog.current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;

comment on function wolo.jwt_claims() is
    'The verified JWT claims of the current request (request.jwt.claims, set per transaction by the REST layer); {} when none.';

create or replace function wolo.current_user_id()
returns uuid
language sql
stable
as $$
    select case
        when c.sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then c.sub::uuid
    end
    from (select wolo.jwt_claims() ->> 'sub' as sub) as c
$$;

comment on function wolo.current_user_id() is
    'identity.users.id of the caller: the JWT claim sub; NULL when absent or not a UUID (anonymous callers).';

create or replace function wolo.is_admin()
returns boolean
language sql
stable
as $$
    select current_user = 'wolo_admin' or coalesce(wolo.jwt_claims() ->> 'role', '') = 'wolo_admin'
$$;

comment on function wolo.is_admin() is
    'True when the request runs as wolo_admin (or its JWT role claim is wolo_admin).';

-- Which statement_timeout the REST layer applies for a role (the values set
-- with ALTER ROLE above; SET LOCAL ROLE does not apply them by itself):
--     select set_config('statement_timeout', wolo.role_statement_timeout(current_user), true);
create or replace function wolo.role_statement_timeout(role_name name)
returns text
language sql
stable
as $$
    select pg_catalog.substr(c.setting, pg_catalog.length('statement_timeout=') + 1)
    from pg_catalog.pg_db_role_setting s
    join pg_catalog.pg_roles r on r.oid = s.setrole
    cross join lateral pg_catalog.unnest(s.setconfig) as c(setting)
    where r.rolname = role_name
      and s.setdatabase = 0
      and c.setting like 'statement_timeout=%'
$$;

comment on function wolo.role_statement_timeout(name) is
    'The statement_timeout configured for an API role with ALTER ROLE (e.g. ''3s''); NULL for other roles. The REST layer applies it with set_config(''statement_timeout'', ..., true) after SET LOCAL ROLE.';

-- ---------------------------------------------------------------- partner staff

-- Beyond the spec: the spec has no link between a partner and its staff
-- accounts. A partner user (role wolo_partner) acts for the partners listed
-- here, and only for those.
create table packs.partner_members (
    partner_id uuid not null references packs.partners(id) on delete cascade,
    user_id uuid not null references identity.users(id) on delete cascade,
    role varchar(20) not null default 'staff',
    venue_ids jsonb, -- ids of partners.venues[] this member works at; NULL = all venues
    created_at timestamp with time zone default now(),

    primary key (partner_id, user_id),

    constraint check_partner_members_role check (role in ('owner', 'manager', 'staff'))
);

-- "Partners of this user" (the primary key leads with partner_id).
create index idx_partner_members_user_id on packs.partner_members(user_id);

comment on table packs.partner_members is
    'Staff accounts of a partner: a user with role wolo_partner acts for the partners listed here. Written by admins only.';
comment on column packs.partner_members.role is
    'owner, manager or staff.';
comment on column packs.partner_members.venue_ids is
    'Ids of the partner''s venues (packs.partners.venues[].id) this member works at; NULL means every venue.';

-- Helpers that must read tables the caller may not see, hence SECURITY
-- DEFINER (they run as the migration's role, the tables' owner, to which RLS
-- does not apply) with an empty search_path and fully qualified names. Each
-- returns only rows tied to the caller's own user id.

create or replace function wolo.partner_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
    select m.partner_id from packs.partner_members m where m.user_id = wolo.current_user_id()
$$;

comment on function wolo.partner_ids() is
    'Ids of the partners the current user is staff of (packs.partner_members).';

create or replace function wolo.partner_pack_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
    select p.id from packs.packs p
    where p.partner_id in (select m.partner_id from packs.partner_members m
                           where m.user_id = wolo.current_user_id())
$$;

comment on function wolo.partner_pack_ids() is
    'Ids of the packs (active or not) of the partners the current user is staff of.';

create or replace function wolo.partner_staff_user_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
    select distinct o.user_id from packs.partner_members o
    where o.partner_id in (select m.partner_id from packs.partner_members m
                           where m.user_id = wolo.current_user_id())
$$;

comment on function wolo.partner_staff_user_ids() is
    'User ids of every staff member (the caller included) of the partners the current user is staff of.';

create or replace function wolo.my_pot_ids()
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
    select p.id from pots.pots p where p.owner_user_id = wolo.current_user_id()
$$;

comment on function wolo.my_pot_ids() is
    'Ids of the pots the current user owns.';

-- ---------------------------------------------------------------- donations.public_donor_name

-- Beyond the spec: the name a donation may be shown under. The API roles can
-- read this column but never donor_name: an anonymous donation's name cannot
-- leak through the REST layer.
alter table donations.donations add column public_donor_name varchar(255);

comment on column donations.donations.public_donor_name is
    'Name shown publicly: donor_name unless the donation is anonymous (NULL then). Kept by a trigger; read this, never donor_name.';
comment on column donations.donations.donor_name is
    'Name given by the donor. Personal: readable by admins only (use public_donor_name).';
comment on column donations.donations.donor_phone is
    'Wave payment phone. Personal: readable by admins only.';

create or replace function donations.set_public_donor_name()
returns trigger
language plpgsql
as $$
begin
    -- Published only when the donor explicitly did not ask for anonymity
    -- (is_anonymous NULL counts as anonymous).
    new.public_donor_name := case when new.is_anonymous is false then new.donor_name end;
    return new;
end;
$$;

comment on function donations.set_public_donor_name() is
    'BEFORE INSERT OR UPDATE row trigger: public_donor_name := donor_name unless the donation is anonymous.';

create trigger set_public_donor_name
    before insert or update on donations.donations
    for each row execute function donations.set_public_donor_name();

-- Backfill existing rows without touching their updated_at.
alter table donations.donations disable trigger set_updated_at;
update donations.donations set public_donor_name = public_donor_name; -- the new trigger computes it
alter table donations.donations enable trigger set_updated_at;

-- ---------------------------------------------------------------- admin.audit_logs is append-only

create or replace function admin.refuse_audit_log_change()
returns trigger
language plpgsql
as $$
begin
    raise exception 'admin.audit_logs is append-only: % is not allowed', tg_op
        using errcode = 'insufficient_privilege',
              hint = 'Audit entries are never changed or removed; add a new entry instead.';
end;
$$;

comment on function admin.refuse_audit_log_change() is
    'Trigger function: refuses UPDATE, DELETE and TRUNCATE on admin.audit_logs, whoever runs them.';

create trigger refuse_update_or_delete
    before update or delete on admin.audit_logs
    for each row execute function admin.refuse_audit_log_change();

create trigger refuse_truncate
    before truncate on admin.audit_logs
    for each statement execute function admin.refuse_audit_log_change();

-- ENABLE ALWAYS: the triggers fire even with session_replication_role =
-- replica (which skips ordinary triggers).
alter table admin.audit_logs enable always trigger refuse_update_or_delete;
alter table admin.audit_logs enable always trigger refuse_truncate;

comment on table admin.audit_logs is
    'Append-only record of admin and system actions: rows can be inserted and read, never updated, deleted or truncated (enforced by triggers, for every role).';

-- ---------------------------------------------------------------- schema usage and functions

-- Nothing is granted to PUBLIC on the service tables (PostgreSQL grants
-- nothing on new tables); make it explicit, and take EXECUTE on the helper
-- functions away from PUBLIC so only the API roles call them.
revoke all on all tables in schema identity, profiles, referral, pots, donations, packs, qr,
    notifications, analytics, admin from public;
revoke execute on all functions in schema wolo from public;

grant usage on schema wolo, identity, profiles, referral, pots, donations, packs, qr,
    notifications, analytics, admin
    to wolo_anon, wolo_user, wolo_partner, wolo_admin;

grant execute on function
    wolo.jwt_claims(), wolo.current_user_id(), wolo.is_admin(), wolo.role_statement_timeout(name),
    wolo.partner_ids(), wolo.partner_pack_ids(), wolo.partner_staff_user_ids(), wolo.my_pot_ids()
    to wolo_anon, wolo_user, wolo_partner, wolo_admin;

-- The REST layer may read a role's timeout before switching to it.
grant usage on schema wolo to wolo_authenticator;
grant execute on function wolo.role_statement_timeout(name) to wolo_authenticator;

-- /ready compares the applied migration version with the binary's; in
-- production it runs as wolo_authenticator, which holds nothing else.
-- (Absent when migrations are applied with psql rather than refinery.)
do $$
begin
    if pg_catalog.to_regclass('public.refinery_schema_history') is not null then
        grant select on public.refinery_schema_history to wolo_authenticator;
    end if;
end;
$$;

-- Sequences: the schema has none today (every key is a UUID); any that
-- exists is usable by the roles that may insert.
grant usage, select on all sequences in schema identity, profiles, referral, pots, donations,
    packs, qr, notifications, analytics, admin to wolo_user, wolo_partner, wolo_admin;
grant usage, select on all sequences in schema analytics to wolo_anon;

-- ---------------------------------------------------------------- wolo_admin

-- Admins may select/insert/update/delete every table (rows: V31's admin_all
-- policies), except password_reset_tokens (read only) and audit_logs (read and
-- append only; the triggers above refuse changes even to the owner).
grant select, insert, update, delete on all tables in schema identity, profiles, referral, pots,
    donations, packs, qr, notifications, analytics, admin to wolo_admin;
revoke insert, update, delete on identity.password_reset_tokens from wolo_admin;
revoke update, delete on admin.audit_logs from wolo_admin;

-- ---------------------------------------------------------------- identity

-- users: own row; only email and phone are writable (never roles, is_active, id).
grant select on identity.users to wolo_user, wolo_partner;
grant update (email, phone) on identity.users to wolo_user, wolo_partner;

-- user_sessions: own sessions, without the token hash; may revoke them.
grant select (id, user_id, device_info, ip_address, expires_at, created_at, is_revoked)
    on identity.user_sessions to wolo_user, wolo_partner;
grant update (is_revoked) on identity.user_sessions to wolo_user, wolo_partner;

-- password_reset_tokens: admins read; nobody else.

-- ---------------------------------------------------------------- profiles

-- profiles: every column except the identity document (id_number, id_type,
-- id_country, id_hash, id_media_url), which only admins read.
grant select (user_id, full_name, date_of_birth, locale, timezone, avatar_url, bio,
              guardian_user_id, relationship_type, id_verified_at, id_verified_by,
              is_profile_public, allow_contact_by_sponsors, notification_preferences,
              created_at, updated_at)
    on profiles.profiles to wolo_user, wolo_partner;
-- Creating one's profile names the date of birth and, for a minor, the guardian.
grant insert (user_id, full_name, date_of_birth, locale, timezone, avatar_url, bio,
              guardian_user_id, relationship_type,
              is_profile_public, allow_contact_by_sponsors, notification_preferences)
    on profiles.profiles to wolo_user, wolo_partner;
-- Afterwards the date of birth, the guardian link and the verification are
-- changed by admins (or the profiles service) only.
grant update (full_name, locale, timezone, avatar_url, bio,
              is_profile_public, allow_contact_by_sponsors, notification_preferences)
    on profiles.profiles to wolo_user, wolo_partner;
grant delete on profiles.profiles to wolo_user, wolo_partner;

grant select, insert, update, delete on profiles.user_addresses to wolo_user, wolo_partner;

-- ---------------------------------------------------------------- referral

-- Sponsors read their own referral data. Points, conversions, daily limits and
-- contact batches are written by the referral service only.
grant select on referral.referrals, referral.points_ledger, referral.points_conversions,
    referral.sponsor_daily_limits, referral.sponsor_contact_batches to wolo_user;
-- A sponsor may create an invitation (as themselves, V31); its status,
-- sponsored user, verification flags and limit tracking are the service's.
grant insert (sponsor_user_id, referral_code, invited_phone, invited_email, invited_name,
              invitation_message)
    on referral.referrals to wolo_user;

-- ---------------------------------------------------------------- pots

grant select on pots.pots to wolo_anon, wolo_user, wolo_partner;
-- Lifecycle columns (status, actual_opened_at, closed_at), counters
-- (share_count, view_count) and created_from_referral_id are the service's.
grant insert (owner_user_id, title, description, target_amount_cfa, birthday_date,
              scheduled_open_at, visibility, preferred_pack_id,
              allow_anonymous_donations, show_donor_names, enable_messages,
              cover_image_url, gallery_images)
    on pots.pots to wolo_user;
grant update (title, description, target_amount_cfa, visibility, preferred_pack_id,
              allow_anonymous_donations, show_donor_names, enable_messages,
              cover_image_url, gallery_images)
    on pots.pots to wolo_user;

grant select on pots.pot_invitations to wolo_user;
grant insert (pot_id, invited_by_user_id, invitation_method, recipient_identifier, custom_message)
    on pots.pot_invitations to wolo_user;

grant select on pots.pot_analytics to wolo_user;

-- ---------------------------------------------------------------- donations

-- Never donor_name, donor_phone, donor_user_id, ip_address, user_agent,
-- wave_*, risk_score, and no writes (the checkout endpoint creates donations).
grant select (id, pot_id, amount_cfa, status, donation_message, is_anonymous, show_amount,
              confirmed_at, created_at, public_donor_name)
    on donations.donations to wolo_anon, wolo_user, wolo_partner;

-- wave_webhook_events, refunds, donation_analytics: admins only.

-- ---------------------------------------------------------------- packs

grant select on packs.packs to wolo_anon, wolo_user, wolo_partner;

-- The public directory shows who a partner is, not its contacts, registration,
-- tax id or financial terms.
grant select (id, name, type, description, venues, status)
    on packs.partners to wolo_anon, wolo_user;
-- Partner staff read their own partner whole (V31 limits them to it).
grant select on packs.partners to wolo_partner;

-- Public campaign columns: no targeting, budget or performance figures.
grant select (id, sponsor_company_name, campaign_name, description, pack_categories,
              points_multiplier, starts_at, ends_at, status)
    on packs.sponsor_campaigns to wolo_anon, wolo_user, wolo_partner;

grant select on packs.partner_members to wolo_partner;

-- ---------------------------------------------------------------- qr

-- Pot owners see their codes whole.
grant select on qr.qr_codes to wolo_user;
-- Partner staff see codes of their packs and codes redeemed at their partner,
-- but not the code value (nor its image): knowing the value of a code that is
-- not redeemed yet would let staff redeem it without its holder.
grant select (id, pot_id, pack_id, redeemable_from, expires_at, status, redeemed_at,
              redeemed_by_partner_id, redeemed_at_venue, partner_notes, created_at)
    on qr.qr_codes to wolo_partner;
grant select on qr.partner_settlements, qr.qr_redemption_logs to wolo_partner;

-- ---------------------------------------------------------------- notifications

grant select on notifications.notifications to wolo_user, wolo_partner;
grant select, insert, update on notifications.notification_preferences to wolo_user, wolo_partner;
-- notification_templates (read by the service as itself), notification_analytics: admins only.

-- ---------------------------------------------------------------- analytics

-- Clients send events (as themselves or anonymously) but cannot read any back.
grant insert (event_name, event_category, user_id, session_id, anonymous_id, properties,
              timestamp, ip_address, user_agent, referrer, page_url, platform, device_type,
              os, browser, country, region, city)
    on analytics.analytics_events to wolo_anon, wolo_user;

-- ---------------------------------------------------------------- admin
-- feature_flags, system_config, audit_logs, system_health_checks,
-- admin_sessions: admins only (granted above).
