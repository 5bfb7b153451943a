-- V102: one login role per service, holding what that service does and nothing else.
--
-- Owns:
--   roles      wolo_svc_identity, wolo_svc_profiles, wolo_svc_referral, wolo_svc_pots,
--              wolo_svc_donations, wolo_svc_packs, wolo_svc_qr, wolo_svc_notifications,
--              wolo_svc_analytics, wolo_svc_admin: LOGIN NOINHERIT BYPASSRLS, members of
--              the four API roles (so the REST layer can SET LOCAL ROLE), no password here
--              (`wolo migrate` sets WOLO_DB_PASSWORD_<SERVICE> when given)
--   grants     each role: every row of its own schema (S I U D), the cross-schema reads
--              its code makes, the documented cross-schema writes (listed below and in
--              docs/security.md), the outbox, the request helpers, the migration history
--   defaults   ALTER DEFAULT PRIVILEGES: tables and functions created later in a service's
--              schema by the migration owner are granted to that service's role
--   functions  referral.create_referral_pot becomes SECURITY DEFINER (it inserts the
--              referred user's pot; referral and profiles call it);
--              analytics.ensure_archive_partition becomes SECURITY DEFINER and
--              analytics.drop_archive_partition(text) is new (partitions stay the owner's);
--              donations.lock_pot_for_donation, qr.lock_pack_for_issuance and
--              qr.lock_partner_for_settlement take row locks on another schema's rows
--
-- Why NOINHERIT: PostgreSQL 15 has no per-membership INHERIT option, and a member that
-- inherits wolo_admin would hold every admin grant. A NOINHERIT role uses only what is
-- granted to it directly, and its memberships only through SET ROLE (a REST request).
-- Why BYPASSRLS: row-level security (V31) is written for the API roles; the service's own
-- statements are decided by these grants alone. After SET ROLE the API role's RLS applies.
--
-- Roles are cluster-wide and test databases are cloned from a template, so this runs many
-- times per cluster, sometimes concurrently (as V30): create only when missing, alter only
-- when different, tolerate a concurrent run, then verify.

do $$
declare
    svc text;
    r text;
    api text;
begin
    foreach svc in array array['identity', 'profiles', 'referral', 'pots', 'donations', 'packs',
                               'qr', 'notifications', 'analytics', 'admin'] loop
        r := 'wolo_svc_' || svc;
        if not exists (select from pg_catalog.pg_roles where rolname = r) then
            begin
                execute format('create role %I login noinherit bypassrls', r);
            exception
                when duplicate_object or unique_violation then
                    null; -- created meanwhile by a concurrent migration of another database
                when insufficient_privilege then
                    raise exception 'cannot create role % (BYPASSRLS needs a superuser): create it once with "create role % login noinherit bypassrls" and migrate again', r, r;
            end;
        end if;
        if exists (select from pg_catalog.pg_roles
                   where rolname = r
                     and (not rolcanlogin or rolinherit or not rolbypassrls or rolsuper
                          or rolcreaterole or rolcreatedb or rolreplication)) then
            begin
                execute format('alter role %I login noinherit bypassrls nosuperuser nocreaterole nocreatedb noreplication', r);
            exception when others then
                null; -- concurrent update; verified below
            end;
        end if;
        foreach api in array array['wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin'] loop
            if not pg_catalog.pg_has_role(r, api, 'MEMBER') then
                begin
                    execute format('grant %I to %I', api, r);
                exception when others then
                    null; -- concurrent grant; verified below
                end;
            end if;
        end loop;
    end loop;

    foreach svc in array array['identity', 'profiles', 'referral', 'pots', 'donations', 'packs',
                               'qr', 'notifications', 'analytics', 'admin'] loop
        r := 'wolo_svc_' || svc;
        if not exists (select from pg_catalog.pg_roles
                       where rolname = r and rolcanlogin and not rolinherit and rolbypassrls
                         and not rolsuper and not rolcreaterole and not rolcreatedb
                         and not rolreplication) then
            raise exception 'role % must be LOGIN NOINHERIT BYPASSRLS without other attributes', r;
        end if;
        foreach api in array array['wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin'] loop
            if not pg_catalog.pg_has_role(r, api, 'MEMBER') then
                raise exception '% is not a member of %', r, api;
            end if;
        end loop;
    end loop;
end;
$$;

-- ---------------------------------------------------------------- functions that must not need the caller's rights

-- The referred user's pot is created by the referral service (on acceptance) and by the
-- profiles service (when the profile that was missing is completed). As the definer, it
-- inserts into pots.pots without either service holding INSERT there. Every name in its
-- body is schema-qualified.
alter function referral.create_referral_pot(uuid, timestamp with time zone)
    security definer set search_path = '';

-- Archive partitions are created and dropped by the definer, so they stay the owner's
-- (a service role owns nothing, and `wolo serve` checks it in production).
alter function analytics.ensure_archive_partition(date) security definer set search_path = pg_catalog;

create or replace function analytics.drop_archive_partition(p_name text)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog
as $$
begin
    if p_name !~ '^analytics_events_archive_[0-9]{4}_[0-9]{2}$'
       or not exists (select from pg_inherits i join pg_class c on c.oid = i.inhrelid
                      join pg_namespace n on n.oid = c.relnamespace
                      where i.inhparent = 'analytics.analytics_events_archive'::regclass
                        and n.nspname = 'analytics' and c.relname = p_name) then
        return false;
    end if;
    execute format('drop table analytics.%I', p_name);
    return true;
end;
$$;

comment on function analytics.drop_archive_partition(text) is
    'Drops one monthly partition of analytics.analytics_events_archive (name analytics_events_archive_YYYY_MM); false when it is not one. The partitions job calls it.';
revoke all on function analytics.drop_archive_partition(text) from public;

-- ---------------------------------------------------------------- row locks on another service's rows
--
-- SELECT ... FOR SHARE / FOR UPDATE needs UPDATE on the table, which these services do not
-- hold on another schema's table: each function takes the lock for its caller (a row lock
-- belongs to the transaction, whoever took it) and the caller reads the row as before.

create or replace function donations.lock_pot_for_donation(p_pot_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform 1 from pots.pots p where p.id = p_pot_id for share;
    return found;
end;
$$;

comment on function donations.lock_pot_for_donation(uuid) is
    'Locks the pot FOR SHARE until the end of the transaction (a checkout, so its status cannot change meanwhile); false when there is no such pot.';

create or replace function qr.lock_pack_for_issuance(p_pack_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform 1 from packs.packs p where p.id = p_pack_id for update;
    return found;
end;
$$;

comment on function qr.lock_pack_for_issuance(uuid) is
    'Locks the pack FOR UPDATE until the end of the transaction (QR issuance against the quantity left); false when there is no such pack.';

create or replace function qr.lock_partner_for_settlement(p_partner_id uuid)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
    perform 1 from packs.partners p where p.id = p_partner_id for update skip locked;
    return found;
end;
$$;

comment on function qr.lock_partner_for_settlement(uuid) is
    'Locks the partner FOR UPDATE SKIP LOCKED until the end of the transaction (one settlement run per partner at a time); false when another run holds it or there is no such partner.';

revoke all on function donations.lock_pot_for_donation(uuid), qr.lock_pack_for_issuance(uuid),
    qr.lock_partner_for_settlement(uuid) from public;

-- ---------------------------------------------------------------- every service: the shared plumbing

-- The outbox (shared/platform/src/outbox.rs): publish through wolo.publish_event, read the
-- log, keep a cursor and failures per consumer.
grant usage on schema wolo to wolo_svc_identity, wolo_svc_profiles, wolo_svc_referral,
    wolo_svc_pots, wolo_svc_donations, wolo_svc_packs, wolo_svc_qr, wolo_svc_notifications,
    wolo_svc_analytics, wolo_svc_admin;
grant select on wolo.outbox to wolo_svc_identity, wolo_svc_profiles, wolo_svc_referral,
    wolo_svc_pots, wolo_svc_donations, wolo_svc_packs, wolo_svc_qr, wolo_svc_notifications,
    wolo_svc_analytics, wolo_svc_admin;
grant select, insert, update on wolo.outbox_cursors to wolo_svc_identity, wolo_svc_profiles,
    wolo_svc_referral, wolo_svc_pots, wolo_svc_donations, wolo_svc_packs, wolo_svc_qr,
    wolo_svc_notifications, wolo_svc_analytics, wolo_svc_admin;
grant select, insert, update, delete on wolo.outbox_failures to wolo_svc_identity,
    wolo_svc_profiles, wolo_svc_referral, wolo_svc_pots, wolo_svc_donations, wolo_svc_packs,
    wolo_svc_qr, wolo_svc_notifications, wolo_svc_analytics, wolo_svc_admin;

-- The request helpers (triggers and policies call them as the current role), publishing,
-- and wolo.audit (SECURITY DEFINER: appends to admin.audit_logs).
grant execute on function
    wolo.jwt_claims(), wolo.current_user_id(), wolo.is_admin(), wolo.role_statement_timeout(name),
    wolo.partner_ids(), wolo.partner_pack_ids(), wolo.partner_staff_user_ids(), wolo.my_pot_ids(),
    wolo.publish_event(text, jsonb, text),
    wolo.audit(text, text, uuid, jsonb, jsonb, text, jsonb)
    to wolo_svc_identity, wolo_svc_profiles, wolo_svc_referral, wolo_svc_pots, wolo_svc_donations,
       wolo_svc_packs, wolo_svc_qr, wolo_svc_notifications, wolo_svc_analytics, wolo_svc_admin;

-- /ready compares the applied migration version with the binary's.
do $$
begin
    if pg_catalog.to_regclass('public.refinery_schema_history') is not null then
        grant select on public.refinery_schema_history to wolo_svc_identity, wolo_svc_profiles,
            wolo_svc_referral, wolo_svc_pots, wolo_svc_donations, wolo_svc_packs, wolo_svc_qr,
            wolo_svc_notifications, wolo_svc_analytics, wolo_svc_admin;
    end if;
end;
$$;

-- ---------------------------------------------------------------- every service: its own schema

do $$
declare
    svc text;
    r text;
begin
    foreach svc in array array['identity', 'profiles', 'referral', 'pots', 'donations', 'packs',
                               'qr', 'notifications', 'analytics', 'admin'] loop
        r := 'wolo_svc_' || svc;
        execute format('grant usage on schema %I to %I', svc, r);
        execute format('grant select, insert, update, delete on all tables in schema %I to %I', svc, r);
        execute format('grant usage, select, update on all sequences in schema %I to %I', svc, r);
        execute format('grant execute on all functions in schema %I to %I', svc, r);
        -- What later migrations create in the schema follows (objects created by the role
        -- running the migrations, i.e. the owner).
        execute format('alter default privileges in schema %I grant select, insert, update, delete on tables to %I', svc, r);
        execute format('alter default privileges in schema %I grant usage, select, update on sequences to %I', svc, r);
        execute format('alter default privileges in schema %I grant execute on functions to %I', svc, r);
    end loop;
end;
$$;

-- ---------------------------------------------------------------- cross-schema reads
--
-- Every `from <schema>.<table>` / `join` of another service's schema in services/<svc>/src.

grant usage on schema profiles, admin to wolo_svc_identity;
grant select on profiles.profiles to wolo_svc_identity;

grant usage on schema identity, referral, pots, donations, qr, notifications, analytics, admin
    to wolo_svc_profiles;
grant select on identity.users, identity.user_sessions,
    referral.referrals, referral.sponsor_codes, referral.points_ledger, referral.points_balances,
    referral.points_conversions, referral.sponsor_daily_limits, referral.sponsor_contact_batches,
    pots.pots, pots.pot_invitations,
    donations.donations, donations.refunds,
    qr.qr_codes,
    notifications.notifications, notifications.notification_preferences,
    analytics.analytics_events, analytics.analytics_events_archive, analytics.ab_test_assignments,
    admin.audit_logs
    to wolo_svc_profiles;

grant usage on schema identity, profiles, pots, donations, packs, admin to wolo_svc_referral;
grant select on identity.users, identity.user_sessions, profiles.profiles, pots.pots,
    donations.donations, admin.system_config, admin.feature_flags
    to wolo_svc_referral;

grant usage on schema profiles, donations, packs to wolo_svc_pots;
grant select on profiles.profiles, donations.donations, packs.packs to wolo_svc_pots;

grant usage on schema pots, profiles, admin to wolo_svc_donations;
grant select on pots.pots, profiles.profiles, profiles.user_addresses,
    admin.system_config, admin.feature_flags
    to wolo_svc_donations;

grant usage on schema pots, qr to wolo_svc_packs;
grant select on pots.pots, qr.qr_codes to wolo_svc_packs;

grant usage on schema packs, pots, profiles to wolo_svc_qr;
grant select on packs.packs, packs.partners, packs.partner_members, pots.pots, profiles.profiles
    to wolo_svc_qr;

grant usage on schema identity, profiles, admin to wolo_svc_notifications;
grant select on identity.users, profiles.profiles, admin.system_config, admin.feature_flags
    to wolo_svc_notifications;

grant usage on schema identity, profiles, referral to wolo_svc_analytics;
grant select on identity.users, profiles.profiles, profiles.user_addresses, referral.referrals
    to wolo_svc_analytics;

grant usage on schema identity to wolo_svc_admin;
grant select on identity.users to wolo_svc_admin;

-- Functions of other schemas a service calls (the SECURITY DEFINER ones run as their
-- owner: packs.apply_campaign_boost spends a campaign's budget, admin.config_int and
-- admin.flag_on read the settings; the others are plain reads).
grant execute on function admin.flag_on(text) to wolo_svc_referral, wolo_svc_donations,
    wolo_svc_notifications;
grant execute on function admin.config_int(text, integer) to wolo_svc_donations,
    wolo_svc_notifications;
grant execute on function packs.apply_campaign_boost(uuid, integer, jsonb) to wolo_svc_referral;
grant execute on function profiles.is_minor(date, timestamp with time zone) to wolo_svc_referral;
grant execute on function referral.create_referral_pot(uuid, timestamp with time zone)
    to wolo_svc_profiles;
grant execute on function profiles.can_open_pot(uuid) to wolo_svc_pots;
grant execute on function packs.effective_price_cfa(uuid), packs.quantity_left(uuid)
    to wolo_svc_qr;

-- ---------------------------------------------------------------- cross-schema writes (the exceptions)
--
-- Each one is a documented part of a service's job (docs/security.md, "Service roles").

-- identity: a role change and its audit entry in one transaction (services/identity/src/admin.rs).
grant insert on admin.audit_logs to wolo_svc_identity;

-- referral: converting points adds to the pot's raised amount in the same transaction as
-- the ledger debit (services/referral/src/points.rs).
grant update (raised_amount_cfa) on pots.pots to wolo_svc_referral;

-- packs: choosing a pot's pack (services/packs/src/lib.rs).
grant update (preferred_pack_id) on pots.pots to wolo_svc_packs;

-- profiles: account deletion anonymises every schema in one transaction
-- (services/profiles/src/privacy.rs); only the columns it scrubs, and the rows it removes.
grant update (phone, email, password_hash, is_active, last_login_at) on identity.users to wolo_svc_profiles;
grant update (is_revoked, revoked_at, device_info, ip_address) on identity.user_sessions to wolo_svc_profiles;
grant select, delete on identity.password_reset_tokens, identity.otp_codes to wolo_svc_profiles;
grant delete on referral.sponsor_codes, referral.referrals to wolo_svc_profiles;
grant update (contact_snapshot, manual_selections) on referral.sponsor_contact_batches to wolo_svc_profiles;
grant update (invited_name, invitation_message, invited_phone, invited_email) on referral.referrals to wolo_svc_profiles;
-- profiles: a referred user who completes the profile settles whether the referral needs
-- identity documents (a minor), then gets the referral's pot (services/profiles/src/http.rs).
grant update (ids_required) on referral.referrals to wolo_svc_profiles;
grant update (status, revoked_at, revoked_reason) on referral.points_ledger to wolo_svc_profiles;
grant update (title, description, cover_image_url, gallery_images) on pots.pots to wolo_svc_profiles;
grant update (recipient_identifier, custom_message) on pots.pot_invitations to wolo_svc_profiles;
grant update (donor_name, donor_phone, donor_email, ip_address, user_agent, donation_message, is_anonymous)
    on donations.donations to wolo_svc_profiles;
grant delete on notifications.notifications, notifications.notification_preferences to wolo_svc_profiles;
grant update (user_id, ip_address, user_agent) on analytics.analytics_events, analytics.analytics_events_archive
    to wolo_svc_profiles;
grant delete on analytics.ab_test_assignments to wolo_svc_profiles;
