-- V31: row-level security on every table of the ten service schemas.
--
-- V30 decides which tables and columns each API role may touch (grants);
-- this file decides which rows (policies). Deny by default: RLS is enabled on
-- every table, and a role sees or changes a row only through a policy below.
-- docs/security.md is the matrix of both.
--
-- Conventions
-- - "self" is (select wolo.current_user_id()): the JWT sub of the request,
--   NULL for anonymous callers (so "= self" is never true for them). The
--   sub-select makes PostgreSQL evaluate it once per statement.
-- - Policies are permissive (a row is visible when any policy of the role
--   allows it) and named <who>_<what>.
-- - Every table has admin_all (or admin_select / admin_insert): wolo_admin
--   through wolo.is_admin(). What admins may do per table is limited by
--   V30's grants (read only on password_reset_tokens, append only on
--   audit_logs).
-- - The table owner (the role that runs the migrations, the services' own
--   connection in development) is not subject to RLS; the seeds and the
--   services' internal writes rely on that.

-- ---------------------------------------------------------------- deny by default

do $$
declare
    t record;
begin
    for t in
        select n.nspname, c.relname
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p')
          and n.nspname in ('identity', 'profiles', 'referral', 'pots', 'donations', 'packs', 'qr',
                            'notifications', 'analytics', 'admin')
    loop
        execute format('alter table %I.%I enable row level security', t.nspname, t.relname);
    end loop;
end;
$$;

-- Admins: every row of every table (within V30's grants).
do $$
declare
    t record;
begin
    for t in
        select n.nspname, c.relname
        from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p')
          and n.nspname in ('identity', 'profiles', 'referral', 'pots', 'donations', 'packs', 'qr',
                            'notifications', 'analytics', 'admin')
          and not (n.nspname = 'admin' and c.relname = 'audit_logs')
    loop
        execute format(
            'create policy admin_all on %I.%I for all to wolo_admin using (wolo.is_admin()) with check (wolo.is_admin())',
            t.nspname, t.relname);
    end loop;
end;
$$;

-- Audit logs: admins read and append; no policy allows update or delete.
create policy admin_select on admin.audit_logs for select to wolo_admin using (wolo.is_admin());
create policy admin_insert on admin.audit_logs for insert to wolo_admin with check (wolo.is_admin());

-- ---------------------------------------------------------------- identity

create policy self_select on identity.users
    for select to wolo_user, wolo_partner
    using (id = (select wolo.current_user_id()));
create policy self_update on identity.users
    for update to wolo_user, wolo_partner
    using (id = (select wolo.current_user_id()))
    with check (id = (select wolo.current_user_id()));

create policy own_select on identity.user_sessions
    for select to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()));
-- Revoking is one-way: the row must stay the caller's and end up revoked.
create policy own_revoke on identity.user_sessions
    for update to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()))
    with check (user_id = (select wolo.current_user_id()) and is_revoked is true);

-- identity.password_reset_tokens: admin_all only (admins hold SELECT only).

-- ---------------------------------------------------------------- profiles

create policy own_select on profiles.profiles
    for select to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()));
create policy guardian_select on profiles.profiles
    for select to wolo_user
    using (guardian_user_id = (select wolo.current_user_id()));
create policy public_select on profiles.profiles
    for select to wolo_user
    using (is_profile_public is true);
create policy own_insert on profiles.profiles
    for insert to wolo_user, wolo_partner
    with check (user_id = (select wolo.current_user_id()));
create policy own_update on profiles.profiles
    for update to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()))
    with check (user_id = (select wolo.current_user_id()));
create policy own_delete on profiles.profiles
    for delete to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()));

create policy own_all on profiles.user_addresses
    for all to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()))
    with check (user_id = (select wolo.current_user_id()));

-- ---------------------------------------------------------------- referral

create policy sponsor_select on referral.referrals
    for select to wolo_user
    using (sponsor_user_id = (select wolo.current_user_id()));
create policy sponsored_select on referral.referrals
    for select to wolo_user
    using (sponsored_user_id = (select wolo.current_user_id()));
create policy sponsor_insert on referral.referrals
    for insert to wolo_user
    with check (sponsor_user_id = (select wolo.current_user_id()));

create policy sponsor_select on referral.points_ledger
    for select to wolo_user
    using (sponsor_user_id = (select wolo.current_user_id()));
create policy sponsor_select on referral.points_conversions
    for select to wolo_user
    using (sponsor_user_id = (select wolo.current_user_id()));
create policy sponsor_select on referral.sponsor_daily_limits
    for select to wolo_user
    using (sponsor_user_id = (select wolo.current_user_id()));
create policy sponsor_select on referral.sponsor_contact_batches
    for select to wolo_user
    using (sponsor_user_id = (select wolo.current_user_id()));

-- ---------------------------------------------------------------- pots

create policy public_select on pots.pots
    for select to wolo_anon, wolo_user, wolo_partner
    using (visibility = 'public');
create policy owner_select on pots.pots
    for select to wolo_user
    using (owner_user_id = (select wolo.current_user_id()));
create policy owner_insert on pots.pots
    for insert to wolo_user
    with check (owner_user_id = (select wolo.current_user_id()));
create policy owner_update on pots.pots
    for update to wolo_user
    using (owner_user_id = (select wolo.current_user_id()))
    with check (owner_user_id = (select wolo.current_user_id()));

create policy owner_select on pots.pot_invitations
    for select to wolo_user
    using (pot_id in (select wolo.my_pot_ids()));
create policy owner_insert on pots.pot_invitations
    for insert to wolo_user
    with check (invited_by_user_id = (select wolo.current_user_id())
                and pot_id in (select wolo.my_pot_ids()));

create policy owner_select on pots.pot_analytics
    for select to wolo_user
    using (pot_id in (select wolo.my_pot_ids()));

-- ---------------------------------------------------------------- donations

-- Succeeded donations to public pots are public (through the columns V30
-- grants: no donor identity but public_donor_name). The sub-query runs with
-- the caller's rights, and every role with this policy reads public pots.
create policy public_select on donations.donations
    for select to wolo_anon, wolo_user, wolo_partner
    using (status = 'succeeded'
           and exists (select 1 from pots.pots p where p.id = pot_id and p.visibility = 'public'));
-- A pot's owner sees every donation to it, whatever its status.
create policy pot_owner_select on donations.donations
    for select to wolo_user
    using (pot_id in (select wolo.my_pot_ids()));
-- A donor sees their own donations.
create policy donor_select on donations.donations
    for select to wolo_user
    using (donor_user_id = (select wolo.current_user_id()));

-- wave_webhook_events, refunds, donation_analytics: admin_all only.

-- ---------------------------------------------------------------- packs

-- Active and within their availability window (bounds are optional).
create policy public_select on packs.packs
    for select to wolo_anon, wolo_user, wolo_partner
    using (is_active is true
           and (available_from is null or available_from <= current_date)
           and (available_until is null or available_until >= current_date));
-- Partner staff also see their own packs when inactive or out of window.
create policy partner_select on packs.packs
    for select to wolo_partner
    using (partner_id in (select wolo.partner_ids()));

create policy public_select on packs.partners
    for select to wolo_anon, wolo_user
    using (status = 'active');
create policy partner_select on packs.partners
    for select to wolo_partner
    using (id in (select wolo.partner_ids()));

create policy public_select on packs.sponsor_campaigns
    for select to wolo_anon, wolo_user, wolo_partner
    using (status = 'active' and starts_at <= now() and ends_at > now());

create policy member_select on packs.partner_members
    for select to wolo_partner
    using (user_id = (select wolo.current_user_id()));

-- ---------------------------------------------------------------- qr

create policy pot_owner_select on qr.qr_codes
    for select to wolo_user
    using (pot_id in (select wolo.my_pot_ids()));
create policy partner_select on qr.qr_codes
    for select to wolo_partner
    using (redeemed_by_partner_id in (select wolo.partner_ids())
           or pack_id in (select wolo.partner_pack_ids()));

create policy partner_select on qr.partner_settlements
    for select to wolo_partner
    using (partner_id in (select wolo.partner_ids()));

-- Scans made by the partner's staff, and every scan of a code of its packs.
create policy partner_select on qr.qr_redemption_logs
    for select to wolo_partner
    using (partner_user_id in (select wolo.partner_staff_user_ids())
           or qr_code_id in (select c.id from qr.qr_codes c
                             where c.pack_id in (select wolo.partner_pack_ids())));

-- ---------------------------------------------------------------- notifications

create policy own_select on notifications.notifications
    for select to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()));

create policy own_select on notifications.notification_preferences
    for select to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()));
create policy own_insert on notifications.notification_preferences
    for insert to wolo_user, wolo_partner
    with check (user_id = (select wolo.current_user_id()));
create policy own_update on notifications.notification_preferences
    for update to wolo_user, wolo_partner
    using (user_id = (select wolo.current_user_id()))
    with check (user_id = (select wolo.current_user_id()));

-- notification_templates, notification_analytics: admin_all only.

-- ---------------------------------------------------------------- analytics

-- Anyone may record an event, anonymously or as themselves; nobody but
-- admins reads events back (no select policy, no select grant).
create policy client_insert on analytics.analytics_events
    for insert to wolo_anon, wolo_user
    with check (user_id is null or user_id = (select wolo.current_user_id()));

-- business_metrics, funnel_analytics, ab_tests, ab_test_assignments: admin_all only.

-- ---------------------------------------------------------------- admin
-- feature_flags, system_config, system_health_checks, admin_sessions:
-- admin_all only; audit_logs: admin_select and admin_insert only.

-- ---------------------------------------------------------------- comments for the API documentation

comment on table identity.users is
    'Accounts. A user reads their own row and may change email and phone; roles and is_active are changed by admins only.';
comment on column identity.users.roles is
    'Roles of the account (user, partner, admin, super_admin): decides the API role of its tokens. Not writable by the user.';
comment on table identity.user_sessions is
    'Sessions (refresh tokens) of a user. A user lists their own and may revoke one (is_revoked = true); the token hash is never exposed.';
comment on table profiles.profiles is
    'One profile per user. Public profiles (is_profile_public) are visible to signed-in users; identity document columns (id_*) are visible to admins only.';
comment on table referral.referrals is
    'Invitations sent by a sponsor. Visible to the sponsor and to the invited user once they joined; a sponsor creates them as themselves.';
comment on table referral.points_ledger is
    'Points earned and spent by a sponsor. Read-only for the sponsor; written by the referral service.';
comment on table pots.pots is
    'Birthday pots. Public pots are visible to everyone; the owner sees and edits their own (not the lifecycle columns, which the pots service manages).';
comment on column pots.pots.visibility is
    'public: anyone can see the pot; private and friends_only: only its owner (and admins) through the API.';
comment on table donations.donations is
    'Donations to pots, created by the checkout endpoint. Succeeded donations to public pots are public; the pot owner sees all donations to their pot, a donor their own. The donor''s identity is never exposed: read public_donor_name.';
comment on table packs.packs is
    'Gift packs on sale: active packs within their availability window are public.';
comment on table packs.partners is
    'Partner venues. The public sees active partners (name, type, description, venues, status); partner staff see their own partner whole.';
comment on table qr.qr_codes is
    'QR codes of gift packs. The pot owner sees them whole; partner staff see those of their packs or redeemed at their venues, without the code value.';
comment on table qr.partner_settlements is
    'What WOLO owes a partner per period. Visible to the partner''s staff.';
comment on table analytics.analytics_events is
    'Client events: anyone may insert one (anonymously or as themselves); only admins read them. Insert with Prefer: return=minimal.';
comment on table admin.feature_flags is
    'Feature flags: admins only (clients evaluate flags through a dedicated endpoint).';
