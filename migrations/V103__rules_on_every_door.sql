-- V103: one rule, every door (issue 13, items 3 and 5).
--
-- A rule a custom endpoint enforces also holds when the same row is written through
-- the REST layer (as wolo_anon, wolo_user, wolo_partner or wolo_admin): either the
-- grant is gone, or the database holds the rule itself. And what donors hide stays
-- hidden on every read path. docs/security.md ("One rule, every door" and "Who sees
-- hidden donor data") lists each door and the test that proves it.
--
-- Grants removed (the custom endpoint is the only door):
--   identity.users     UPDATE (email, phone) from wolo_user, wolo_partner: an e-mail or a
--                      phone changes only through a verified flow (PUT /identity/user
--                      refuses both).
--   identity.users     INSERT/UPDATE (roles, password_hash) from wolo_admin: roles change
--                      through POST /identity/admin/users/{id}/roles (super_admin kept for
--                      super admins, audited).
--   profiles.profiles  DELETE from wolo_user, wolo_partner: an account is deleted by
--                      DELETE /profiles/me (deleting the bare row dropped a minor's
--                      guardian link and with it profiles.can_open_pot's check).
--   profiles.profiles  the public_select policy: other users' profiles are read through
--                      profiles.public_profiles only.
--   donations.donations SELECT (amount_cfa) from wolo_anon, wolo_user, wolo_partner: read
--                      public_amount_cfa, or donations.donation_details when entitled.
--
-- Rules held by the database (row triggers; API roles = the four request roles):
--   pots.check_preferred_pack        pots.pots, API roles: the preferred pack is
--                                    available (packs.is_available) and does not change
--                                    once a QR code exists for the pot.
--   pots.check_rest_invitation       pots.pot_invitations, API roles: the pot is neither
--                                    closed nor expired; method whatsapp|sms|email; the
--                                    recipient is an E.164 phone or an e-mail; message
--                                    at most 500 characters; tracking stamps are the
--                                    server's.
--   profiles.check_rest_profile      profiles.profiles, wolo_user/wolo_partner: the
--                                    checks of PUT /profiles/me (name, date of birth,
--                                    avatar, bio, relationship, preferences; a minor has
--                                    an adult, active guardian).
--   profiles.minor_never_public      profiles.profiles, every writer: a minor's
--                                    is_profile_public is false.
--   referral.check_rest_referral     referral.referrals, API roles: a sponsor does not
--                                    invite their own phone or e-mail.
--   qr.check_code_issuance           qr.qr_codes, issued codes (issuance_key set) and API
--                                    roles: the pack is available when the code is issued.
--   qr.guard_settlement_write        qr.partner_settlements, API roles: no insert; the
--                                    figures are the job's; pending -> approved -> paid
--                                    (reference required), pending|approved -> disputed.
--   donations.check_refund_write     donations.refunds, API roles: a succeeded donation,
--                                    its whole amount.
--   analytics.check_rest_event       analytics.analytics_events, wolo_anon/wolo_user: the
--                                    checks of POST /analytics/events (name, category,
--                                    properties size, timestamp window, subject); IP and
--                                    user agent come from the request, not the body.
--
-- Hidden donor data:
--   donations.donations.public_amount_cfa  amount_cfa when show_amount is true, else NULL
--                                          (generated column).
--   donations.donations.public_donor_name  now also NULL when the pot's show_donor_names
--                                          is false; pots.propagate_show_donor_names
--                                          recomputes it when the setting changes.
--   donations.donation_details (view)      the entitled projection: the donor sees their
--                                          own donations whole; the pot owner sees the
--                                          amounts of every donation to their pots and
--                                          the name of every donor who did not ask for
--                                          anonymity; admins see everything.
--   profiles.public_profiles (view)        the public projection of public, adult, active
--                                          profiles: name, avatar, bio, birthday day and
--                                          month.
--
-- Depends on V30, V31, V60, V70, V71, V80, V81, V90.

-- ---------------------------------------------------------------- identity

revoke update (email, phone) on identity.users from wolo_user, wolo_partner;

-- Roles change through POST /identity/admin/users/{id}/roles only: it checks the roles,
-- keeps super_admin for super admins and writes the audit row. Through REST an admin could
-- make themselves super_admin, unaudited. Nor does an admin set a password hash (taking
-- over an account). Admins keep insert and update of every other column.
do $$
declare
    v_cols text;
begin
    select string_agg(pg_catalog.quote_ident(a.attname), ', ' order by a.attnum)
    into v_cols
    from pg_catalog.pg_attribute a
    where a.attrelid = 'identity.users'::regclass and a.attnum > 0 and not a.attisdropped
      and a.attname not in ('roles', 'password_hash');
    revoke insert, update on identity.users from wolo_admin;
    execute format('grant insert (%s), update (%s) on identity.users to wolo_admin', v_cols, v_cols);
end;
$$;

comment on table identity.users is
    'Accounts. A user reads their own row; e-mail, phone, roles and is_active are changed through the identity service (verified flows) or by admins, never by a plain REST write.';

-- ---------------------------------------------------------------- profiles

revoke delete on profiles.profiles from wolo_user, wolo_partner;

-- Whether a user may be a minor's guardian: NULL when yes, else why not. SECURITY DEFINER:
-- the caller cannot read another user's account or profile.
create or replace function profiles.guardian_problem(p_guardian uuid)
returns text
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select case
        when u.id is null or not coalesce(u.is_active, true) then 'guardian_not_found'
        when profiles.is_minor(p.date_of_birth, now()) then 'guardian_is_minor'
    end
    from (select p_guardian as id) g
    left join identity.users u on u.id = g.id
    left join profiles.profiles p on p.user_id = g.id
$$;

comment on function profiles.guardian_problem(uuid) is
    'NULL when the user may be a guardian (an active account, not a minor); else guardian_not_found or guardian_is_minor.';

revoke all on function profiles.guardian_problem(uuid) from public;
grant execute on function profiles.guardian_problem(uuid) to wolo_user, wolo_partner, wolo_admin;

-- The checks of PUT /profiles/me, for rows written through the REST layer by a user.
-- SECURITY INVOKER: current_user is the request's role.
create or replace function profiles.check_rest_profile()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_today date := (now() at time zone 'Africa/Dakar')::date;
    v_problem text;
begin
    if current_user not in ('wolo_user', 'wolo_partner') then
        return new;
    end if;
    if new.full_name is null or btrim(new.full_name) = '' or char_length(new.full_name) > 255 then
        raise exception 'Nom complet requis, 255 caractères au plus (full_name: 1-255 characters)'
            using errcode = '23514';
    end if;
    new.full_name := btrim(new.full_name);
    if new.date_of_birth is not null
       and (new.date_of_birth > v_today or age(v_today, new.date_of_birth) > interval '120 years') then
        raise exception 'Date de naissance invalide (invalid date_of_birth)'
            using errcode = '23514';
    end if;
    if new.avatar_url is not null
       and (new.avatar_url !~ '^https?://' or char_length(new.avatar_url) > 500 or new.avatar_url ~ '\s') then
        raise exception 'avatar_url : une URL http(s) de 500 caractères au plus (invalid avatar_url)'
            using errcode = '23514';
    end if;
    if new.bio is not null and char_length(new.bio) > 1000 then
        raise exception 'Bio : 1000 caractères au plus (bio too long)'
            using errcode = '23514';
    end if;
    if new.relationship_type is not null
       and new.relationship_type not in ('parent', 'guardian', 'grandparent', 'sibling', 'uncle_aunt', 'other') then
        raise exception 'Lien avec le tuteur inconnu (unknown relationship_type)'
            using errcode = '23514',
                  hint = 'parent, guardian, grandparent, sibling, uncle_aunt, other';
    end if;
    if new.notification_preferences is not null and jsonb_typeof(new.notification_preferences) <> 'object' then
        raise exception 'notification_preferences doit être un objet (must be an object)'
            using errcode = '23514';
    end if;
    if tg_op = 'INSERT' and profiles.is_minor(new.date_of_birth, now()) then
        if new.guardian_user_id is null or new.relationship_type is null then
            raise exception 'Moins de 18 ans : un tuteur (guardian_user_id) et le lien (relationship_type) sont requis (a minor needs a guardian)'
                using errcode = '23514';
        end if;
        v_problem := profiles.guardian_problem(new.guardian_user_id);
        if v_problem = 'guardian_not_found' then
            raise exception 'Tuteur introuvable (guardian user not found)'
                using errcode = '23514';
        elsif v_problem = 'guardian_is_minor' then
            raise exception 'Le tuteur doit être majeur (the guardian must be an adult)'
                using errcode = '23514';
        end if;
    end if;
    return new;
end;
$$;

comment on function profiles.check_rest_profile() is
    'Before insert/update on profiles.profiles by wolo_user/wolo_partner: the checks of PUT /profiles/me (23514 otherwise).';

create trigger check_rest_profile
    before insert or update on profiles.profiles
    for each row execute function profiles.check_rest_profile();

-- A minor's profile is never public, whoever writes it.
create or replace function profiles.minor_never_public()
returns trigger
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
    if new.is_profile_public is not false and profiles.is_minor(new.date_of_birth, now()) then
        new.is_profile_public := false;
    end if;
    return new;
end;
$$;

comment on function profiles.minor_never_public() is
    'Before insert/update on profiles.profiles, every writer: a minor''s (Africa/Dakar) is_profile_public is false.';

create trigger minor_never_public
    before insert or update on profiles.profiles
    for each row execute function profiles.minor_never_public();

update profiles.profiles set is_profile_public = false
where is_profile_public is not false and profiles.is_minor(date_of_birth, now());

-- Other users' profiles: the public projection only.
drop policy public_select on profiles.profiles;

create view profiles.public_profiles with (security_barrier = true) as
select p.user_id,
       p.full_name,
       p.avatar_url,
       p.bio,
       extract(day from p.date_of_birth)::integer as birthday_day,
       extract(month from p.date_of_birth)::integer as birthday_month
from profiles.profiles p
join identity.users u on u.id = p.user_id
where p.is_profile_public is true
  and p.date_of_birth is not null
  and not profiles.is_minor(p.date_of_birth, now())
  and coalesce(u.is_active, true);

comment on view profiles.public_profiles is
    'Public profiles: name, avatar, bio and the day and month of the birthday (never the year, the guardian, preferences or contact flags) of active adults who made their profile public. A minor''s profile is never listed.';
comment on column profiles.public_profiles.birthday_day is 'Day of the month of the birthday (1-31).';
comment on column profiles.public_profiles.birthday_month is 'Month of the birthday (1-12).';

revoke all on profiles.public_profiles from public;
grant select on profiles.public_profiles to wolo_user, wolo_admin;

comment on table profiles.profiles is
    'One profile per user: read by its owner (and a minor''s guardian); other users read profiles.public_profiles. Identity document columns (id_*) are visible to admins only.';

-- ---------------------------------------------------------------- referral

-- SECURITY INVOKER (current_user is the request's role): the sponsor reads their own
-- account row; another sponsor's row is not visible, and RLS refuses that insert anyway.
create or replace function referral.check_rest_referral()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_me record;
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new; -- the referral service checks its own invitations
    end if;
    select u.phone, u.email into v_me from identity.users u where u.id = new.sponsor_user_id;
    if found and ((new.invited_phone is not null and new.invited_phone = v_me.phone)
                  or (new.invited_email is not null and lower(new.invited_email) = lower(v_me.email))) then
        raise exception 'Vous ne pouvez pas vous inviter vous-même (you cannot invite yourself)'
            using errcode = '23514';
    end if;
    return new;
end;
$$;

comment on function referral.check_rest_referral() is
    'Before insert on referral.referrals by an API role: a sponsor does not invite their own phone or e-mail (23514).';

create trigger check_rest_referral
    before insert on referral.referrals
    for each row execute function referral.check_rest_referral();

-- ---------------------------------------------------------------- pots: preferred pack

-- The rules of POST /packs/pots/{id}/preferred-pack, for REST writes of the pot.
-- SECURITY INVOKER (current_user is the request's role); packs.is_available is a
-- security-definer function, and the owner sees the codes of their own pots.
create or replace function pots.check_preferred_pack()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new; -- the services check it themselves (packs endpoint)
    end if;
    if tg_op = 'UPDATE' then
        if new.preferred_pack_id is not distinct from old.preferred_pack_id then
            return new;
        end if;
        if exists (select 1 from qr.qr_codes c where c.pot_id = new.id) then
            raise exception 'Le QR code de cette cagnotte est déjà émis : le pack ne peut plus changer.'
                using errcode = '23514',
                      detail = 'qr_already_issued';
        end if;
    end if;
    if new.preferred_pack_id is not null and not packs.is_available(new.preferred_pack_id) then
        raise exception 'Ce pack n''est pas disponible (inactive, hors dates ou épuisé).'
            using errcode = '23514',
                  detail = 'pack_unavailable';
    end if;
    return new;
end;
$$;

comment on function pots.check_preferred_pack() is
    'Before insert/update of preferred_pack_id on pots.pots by an API role: the pack is available (packs.is_available) and cannot change once a QR code exists for the pot (23514).';

create trigger check_preferred_pack
    before insert or update of preferred_pack_id on pots.pots
    for each row execute function pots.check_preferred_pack();

-- ---------------------------------------------------------------- pots: invitations

-- The rules of POST /pots/pots/{id}/invitations, for invitations inserted through the REST
-- layer (which records the invitation; only the endpoint sends the message).
-- SECURITY INVOKER: current_user is the request's role; the owner reads their pot (another
-- user's pot is not visible here, and RLS refuses that insert anyway).
create or replace function pots.check_rest_invitation()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_status text;
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new;
    end if;
    select coalesce(p.status, 'scheduled') into v_status from pots.pots p where p.id = new.pot_id;
    if v_status in ('closed', 'expired') then
        raise exception 'Cette cagnotte est % : on ne peut plus y inviter (the pot is %)',
                case v_status when 'closed' then 'fermée' else 'expirée' end, v_status
            using errcode = '23514',
                  detail = 'pot_not_open';
    end if;
    new.invitation_method := lower(btrim(new.invitation_method));
    new.recipient_identifier := btrim(new.recipient_identifier);
    if new.invitation_method in ('whatsapp', 'sms') then
        if new.recipient_identifier !~ '^\+[1-9][0-9]{7,14}$' then
            raise exception 'Numéro de téléphone invalide : format international +221... attendu (phone must be E.164)'
                using errcode = '23514';
        end if;
    elsif new.invitation_method = 'email' then
        new.recipient_identifier := lower(new.recipient_identifier);
        if new.recipient_identifier !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' or char_length(new.recipient_identifier) > 254 then
            raise exception 'Adresse e-mail invalide (invalid e-mail address)'
                using errcode = '23514';
        end if;
    else
        raise exception 'method doit valoir whatsapp, sms ou email (method must be whatsapp, sms or email)'
            using errcode = '23514';
    end if;
    new.custom_message := nullif(btrim(new.custom_message), '');
    if char_length(new.custom_message) > 500 then
        raise exception 'message : 500 caractères au plus (message: at most 500 characters)'
            using errcode = '23514';
    end if;
    new.sent_at := now();
    new.opened_at := null;
    new.clicked_at := null;
    new.created_at := now();
    return new;
end;
$$;

comment on function pots.check_rest_invitation() is
    'Before insert on pots.pot_invitations by an API role: the pot is neither closed nor expired, method whatsapp|sms|email with an E.164 phone or an e-mail, message at most 500 characters, server-set stamps (23514).';

create trigger check_rest_invitation
    before insert on pots.pot_invitations
    for each row execute function pots.check_rest_invitation();

-- ---------------------------------------------------------------- donations: what donors hide

-- The amount as the public may see it.
alter table donations.donations
    add column public_amount_cfa integer
        generated always as (case when show_amount is true then amount_cfa end) stored;

comment on column donations.donations.public_amount_cfa is
    'amount_cfa when the donor let it show (show_amount true), NULL otherwise. What the API roles read; amount_cfa is for the entitled (donations.donation_details) and admins.';

-- public_donor_name also follows the pot's show_donor_names (NULL = shown, the default).
create or replace function donations.set_public_donor_name()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    -- Published only when the donor explicitly did not ask for anonymity (is_anonymous
    -- NULL counts as anonymous) and the pot shows its donors' names.
    new.public_donor_name := case
        when new.is_anonymous is false
             and coalesce((select p.show_donor_names from pots.pots p where p.id = new.pot_id), true)
        then new.donor_name end;
    return new;
end;
$$;

comment on function donations.set_public_donor_name() is
    'BEFORE INSERT OR UPDATE row trigger: public_donor_name := donor_name unless the donation is anonymous or its pot hides donor names (show_donor_names false).';

create or replace function pots.propagate_show_donor_names()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
    if new.show_donor_names is distinct from old.show_donor_names then
        -- donations.set_public_donor_name recomputes the column on each row.
        update donations.donations d set public_donor_name = null where d.pot_id = new.id;
    end if;
    return null;
end;
$$;

comment on function pots.propagate_show_donor_names() is
    'After update of show_donor_names on pots.pots: recomputes public_donor_name of the pot''s donations.';

create trigger propagate_show_donor_names
    after update of show_donor_names on pots.pots
    for each row execute function pots.propagate_show_donor_names();

-- Existing rows (without touching their updated_at).
alter table donations.donations disable trigger set_updated_at;
update donations.donations d set public_donor_name = null
where d.public_donor_name is not null
  and exists (select 1 from pots.pots p where p.id = d.pot_id and p.show_donor_names is false);
alter table donations.donations enable trigger set_updated_at;

revoke select (amount_cfa) on donations.donations from wolo_anon, wolo_user, wolo_partner;
grant select (public_amount_cfa) on donations.donations to wolo_anon, wolo_user, wolo_partner;

-- The entitled projection. Owned by the migration role (not subject to RLS): the WHERE
-- clause decides the rows, security_barrier keeps callers' filters from seeing others.
create view donations.donation_details with (security_barrier = true) as
select d.id,
       d.pot_id,
       d.amount_cfa,
       d.status,
       d.donation_message,
       d.is_anonymous,
       d.show_amount,
       case when wolo.is_admin()
                 or d.donor_user_id = wolo.current_user_id()
                 or d.is_anonymous is false
            then d.donor_name end as donor_name,
       coalesce(d.donor_user_id = wolo.current_user_id(), false) as is_mine,
       d.confirmed_at,
       d.refunded_at,
       d.created_at
from donations.donations d
where wolo.is_admin()
   or d.donor_user_id = wolo.current_user_id()
   or d.pot_id in (select p.id from pots.pots p where p.owner_user_id = wolo.current_user_id());

comment on view donations.donation_details is
    'Donations as the entitled see them: a donor their own donations whole (amount, own name); a pot owner every donation to their pots with its amount, and the donor''s name unless the donor asked for anonymity; admins everything. Everyone else reads donations.donations (public_amount_cfa, public_donor_name).';
comment on column donations.donation_details.donor_name is
    'The donor''s name: for the donor themself and admins always; for the pot owner unless the donation is anonymous.';
comment on column donations.donation_details.is_mine is 'True for the caller''s own donations.';

revoke all on donations.donation_details from public;
grant select on donations.donation_details to wolo_user, wolo_admin;

comment on table donations.donations is
    'Donations to pots, created by the checkout endpoint. Succeeded donations to public pots are public; the pot owner sees all donations to their pot, a donor their own. The public columns hide what donors hide: public_amount_cfa (NULL when show_amount is false) and public_donor_name (NULL when anonymous or when the pot hides names). The entitled read donations.donation_details.';

-- ---------------------------------------------------------------- qr: issuance

-- The issuer reads the pot FOR SHARE, so a change of its preferred pack waits for the
-- issuance, then sees the code and is refused (pots.check_preferred_pack). FOR SHARE needs
-- UPDATE on the pot, which the qr service does not hold: this function takes the lock for it.
create or replace function qr.lock_pot_for_issuance(p_pot_id uuid)
returns table (owner_user_id uuid, birthday_date date, preferred_pack_id uuid)
language sql
security definer
set search_path = ''
as $$
    select p.owner_user_id, p.birthday_date, p.preferred_pack_id
    from pots.pots p where p.id = p_pot_id
    for share
$$;

comment on function qr.lock_pot_for_issuance(uuid) is
    'The pot''s owner, birthday and preferred pack, the row locked FOR SHARE until the end of the transaction (QR issuance).';

revoke all on function qr.lock_pot_for_issuance(uuid) from public;


-- A code is issued only for an available pack (active, within its dates, quantity left),
-- whatever the pack was when the owner chose it.
create or replace function qr.check_code_issuance()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.issuance_key is null
       and current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new;
    end if;
    if new.pack_id is not null and not packs.is_available(new.pack_id) then
        raise exception 'Ce pack n''est pas disponible (inactive, hors dates ou épuisé) : pas de QR code.'
            using errcode = '23514',
                  detail = 'pack_unavailable';
    end if;
    return new;
end;
$$;

comment on function qr.check_code_issuance() is
    'Before insert on qr.qr_codes of an issued code (issuance_key set) or by an API role: the pack is available (packs.is_available), 23514 otherwise.';

create trigger check_code_issuance
    before insert on qr.qr_codes
    for each row execute function qr.check_code_issuance();

-- ---------------------------------------------------------------- qr: settlements

-- POST /qr/settlements/{id}/approve and /paid run as the admin (so the audit names them);
-- the same rules hold for a PATCH /qr/partner_settlements: pending -> approved (stamped),
-- approved -> paid (with a payment reference), pending|approved -> disputed -> pending;
-- the figures are the settlement job's.
create or replace function qr.guard_settlement_write()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new;
    end if;
    if tg_op = 'INSERT' then
        raise exception 'Les règlements sont calculés par le service (settlements are computed by the qr service)'
            using errcode = '42501';
    end if;
    if (new.partner_id, new.period_start, new.period_end, new.total_redemptions_count,
        new.total_revenue_cfa, new.partner_share_cfa, new.wolo_commission_cfa,
        new.carried_in_cfa, new.payout_cfa, new.carried_out_cfa)
       is distinct from
       (old.partner_id, old.period_start, old.period_end, old.total_redemptions_count,
        old.total_revenue_cfa, old.partner_share_cfa, old.wolo_commission_cfa,
        old.carried_in_cfa, old.payout_cfa, old.carried_out_cfa) then
        raise exception 'Les montants d''un règlement ne se modifient pas (settlement figures are computed)'
            using errcode = '23514';
    end if;
    if new.status is distinct from old.status then
        if old.status = 'pending' and new.status = 'approved' then
            new.approved_by_user_id := wolo.current_user_id();
            new.approved_at := now();
        elsif old.status = 'approved' and new.status = 'paid' then
            if coalesce(btrim(new.payment_reference), '') = '' then
                raise exception 'payment_reference est obligatoire (payment_reference is required)'
                    using errcode = '23514';
            end if;
            new.paid_at := now();
        elsif not ((old.status in ('pending', 'approved') and new.status = 'disputed')
                   or (old.status = 'disputed' and new.status = 'pending')) then
            raise exception 'Ce règlement est « % » : il ne peut pas passer à « % » (invalid settlement transition)',
                    old.status, new.status
                using errcode = '23514',
                      hint = 'pending -> approved -> paid; pending|approved -> disputed -> pending';
        end if;
    elsif new.approved_by_user_id is distinct from old.approved_by_user_id
          or new.approved_at is distinct from old.approved_at
          or new.paid_at is distinct from old.paid_at then
        raise exception 'Les validations d''un règlement ne se réécrivent pas (approval stamps are set by the transitions)'
            using errcode = '23514';
    end if;
    return new;
end;
$$;

comment on function qr.guard_settlement_write() is
    'Before insert/update on qr.partner_settlements by an API role: no insert, figures unchanged, transitions pending -> approved -> paid (reference required), pending|approved -> disputed -> pending (23514).';

create trigger guard_settlement_write
    before insert or update on qr.partner_settlements
    for each row execute function qr.guard_settlement_write();

-- ---------------------------------------------------------------- donations: refunds

-- POST /donations/{id}/refund runs as the admin; a refunds row written through REST
-- follows the same rules: a succeeded donation, its whole amount.
create or replace function donations.check_refund_write()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_status text;
    v_amount integer;
begin
    if current_user not in ('wolo_anon', 'wolo_user', 'wolo_partner', 'wolo_admin') then
        return new;
    end if;
    if tg_op = 'UPDATE' and new.donation_id is distinct from old.donation_id then
        raise exception 'Un remboursement ne change pas de don (a refund keeps its donation)'
            using errcode = '23514';
    end if;
    select d.status, d.amount_cfa into v_status, v_amount
    from donations.donations d where d.id = new.donation_id;
    if tg_op = 'INSERT' then
        if v_status is distinct from 'succeeded' then
            raise exception 'Seul un don réussi peut être remboursé (only a succeeded donation can be refunded)'
                using errcode = '23514';
        end if;
        new.refunded_by_user_id := coalesce(wolo.current_user_id(), new.refunded_by_user_id);
    end if;
    if new.amount_cfa is distinct from v_amount then
        raise exception 'Le remboursement porte sur tout le don : % FCFA (a refund is the whole donation)', v_amount
            using errcode = '23514';
    end if;
    return new;
end;
$$;

comment on function donations.check_refund_write() is
    'Before insert/update on donations.refunds by an API role: the donation succeeded (insert; refunded_by_user_id = the caller), the amount is the donation''s, the donation never changes (23514).';

create trigger check_refund_write
    before insert or update on donations.refunds
    for each row execute function donations.check_refund_write();

-- ---------------------------------------------------------------- analytics

-- The checks of POST /analytics/events, for events inserted through the REST layer.
create or replace function analytics.check_rest_event()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v_headers jsonb;
begin
    if current_user not in ('wolo_anon', 'wolo_user') then
        return new;
    end if;
    if new.event_name is null or new.event_name !~ '^[a-z0-9_.]{1,100}$' then
        raise exception 'event_name : minuscules, chiffres, _ et . (100 au plus) (lowercase snake_case)'
            using errcode = '23514';
    end if;
    if new.event_category is null or new.event_category !~ '^[a-z0-9_.]{1,50}$' then
        raise exception 'event_category : minuscules et _ (50 au plus) (lowercase, 50 chars max)'
            using errcode = '23514';
    end if;
    new.properties := coalesce(new.properties, '{}'::jsonb);
    if jsonb_typeof(new.properties) <> 'object' then
        raise exception 'properties doit être un objet JSON (properties must be an object)'
            using errcode = '23514';
    end if;
    if octet_length(new.properties::text) > 8192 then
        raise exception 'properties dépasse 8192 octets (properties too large)'
            using errcode = '23514';
    end if;
    new.timestamp := coalesce(new.timestamp, now());
    if new.timestamp > now() + interval '5 minutes' then
        raise exception 'timestamp est dans le futur (timestamp is in the future)'
            using errcode = '23514';
    end if;
    if new.timestamp < now() - interval '7 days' then
        raise exception 'timestamp a plus de 7 jours (timestamp older than 7 days)'
            using errcode = '23514';
    end if;
    if new.user_id is null and new.anonymous_id is null then
        raise exception 'anonymous_id est obligatoire sans connexion (anonymous_id required when signed out)'
            using errcode = '23514';
    end if;
    if new.platform is not null and new.platform not in ('web', 'mobile_app', 'api') then
        raise exception 'platform : web, mobile_app ou api (platform must be web, mobile_app or api)'
            using errcode = '23514';
    end if;
    -- What the request says about itself, not what the body claims.
    v_headers := coalesce(nullif(current_setting('request.headers', true), ''), '{}')::jsonb;
    begin
        new.ip_address := nullif(v_headers ->> 'x-wolo-client-ip', '')::inet;
    exception when others then
        new.ip_address := null;
    end;
    new.user_agent := left(v_headers ->> 'user-agent', 1000);
    new.country := null;
    new.region := null;
    new.created_at := now();
    return new;
end;
$$;

comment on function analytics.check_rest_event() is
    'Before insert on analytics.analytics_events by wolo_anon/wolo_user: the checks of POST /analytics/events (23514 otherwise); IP and user agent from the request headers, country and region left unset.';

create trigger check_rest_event
    before insert on analytics.analytics_events
    for each row execute function analytics.check_rest_event();

-- Trigger functions run as the writer or as their owner; none is called directly.
revoke all on function profiles.check_rest_profile(), profiles.minor_never_public(),
    referral.check_rest_referral(), pots.check_preferred_pack(), pots.check_rest_invitation(),
    pots.propagate_show_donor_names(), donations.set_public_donor_name(),
    qr.check_code_issuance(), qr.guard_settlement_write(), donations.check_refund_write(),
    analytics.check_rest_event() from public;

-- The qr service's login (V102) issues codes: it locks the pot and re-checks the pack.
do $$
begin
    if exists (select from pg_catalog.pg_roles where rolname = 'wolo_svc_qr') then
        grant execute on function qr.lock_pot_for_issuance(uuid), packs.is_available(uuid) to wolo_svc_qr;
    end if;
end;
$$;

notify pgrst, 'reload schema';
