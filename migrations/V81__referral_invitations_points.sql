-- V81: referral service: sponsor codes, the atomic daily invitation limit (also for
-- REST inserts), the referral pot, points ledger bookkeeping and balance, templates.
--
-- Owns (schema `referral`):
-- - referral.sponsor_codes: one stable personal code per sponsor.
-- - Extra columns on referrals (fraud_reason, flagged_at, ids_required; one accepted
--   referral per sponsored user) and on
--   points_ledger (matures_at, revoked_at, revoked_reason, idempotency_key, campaign_id,
--   pot_id, donation_id, conversion_id).
-- - referral.take_invitation_slots(sponsor, at, n): the only way an invitation is
--   counted: conditional update of the sponsor's sponsor_daily_limits row for the
--   Africa/Dakar day (51 concurrent invitations -> exactly 50 counted).
-- - Trigger count_rest_invitation: referrals inserted through the REST layer (API roles)
--   take a slot too, with server-set timing (closes the "plain REST insert" gap).
-- - referral.create_referral_pot(referral id, now): the birthday pot of a sponsored user
--   (J-30 via pots.scheduled_open_at), once per referral; publishes pot.created.
-- - referral.points_balance(user) and the view referral.points_balances.
-- - system_config referral.pot_target_amount_cfa; templates points_converted.
-- Depends on V3, V21, V30, V31, V35, V60 (pots.scheduled_open_at), V80.

-- ---------------------------------------------------------------- sponsor codes

create table referral.sponsor_codes (
    sponsor_user_id uuid primary key references identity.users(id),
    code varchar(12) not null unique,
    created_at timestamp with time zone not null default now()
);

comment on table referral.sponsor_codes is
    'The personal sponsor code of each sponsor (stable); invitation codes are <sponsor code>-<suffix>. Written by the referral service.';

alter table referral.sponsor_codes enable row level security;
create policy admin_all on referral.sponsor_codes for all to wolo_admin
    using (wolo.is_admin()) with check (wolo.is_admin());
create policy sponsor_select on referral.sponsor_codes for select to wolo_user
    using (sponsor_user_id = (select wolo.current_user_id()));
grant select on referral.sponsor_codes to wolo_user;
grant select, insert, update, delete on referral.sponsor_codes to wolo_admin;

-- ---------------------------------------------------------------- extra columns

alter table referral.referrals
    add column fraud_reason varchar(50),
    add column flagged_at timestamp with time zone,
    add column ids_required boolean not null default false;

comment on column referral.referrals.fraud_reason is
    'Why the referral earns nothing (same_device, same_phone, account_deleted...): its points are revoked.';
comment on column referral.referrals.ids_required is
    'The sponsored user is a minor: the referral counts (points mature) only once the minor''s and the guardian''s identity documents are verified.';

alter table referral.points_ledger
    add column matures_at timestamp with time zone,
    add column revoked_at timestamp with time zone,
    add column revoked_reason varchar(50),
    add column idempotency_key varchar(120),
    add column campaign_id uuid references packs.sponsor_campaigns(id) on delete set null,
    add column pot_id uuid references pots.pots(id) on delete set null,
    add column donation_id uuid references donations.donations(id) on delete set null,
    add column conversion_id uuid references referral.points_conversions(id);

comment on column referral.points_ledger.matures_at is
    'When a pending line may mature: created_at + points.maturation_delay_days (NULL, for lines written before V81: the same rule). Lines of a minor''s referral also wait for both identity documents to be verified.';
comment on column referral.points_ledger.idempotency_key is
    'One line per fact: referral_accepted:<referral>, pot_opened:<pot>, first_donation:<referral>, conversion:<conversion>.';

create unique index idx_points_ledger_idempotency_key on referral.points_ledger(idempotency_key)
    where idempotency_key is not null;
create index idx_points_ledger_pending_matures_at on referral.points_ledger(matures_at)
    where status = 'pending';
create index idx_referrals_sent_expired_at on referral.referrals(expired_at) where status = 'sent';

-- A user has at most one sponsor.
create unique index idx_referrals_one_sponsor on referral.referrals(sponsored_user_id)
    where status = 'accepted';

-- A line is either earned or spent.
alter table referral.points_ledger add constraint check_points_ledger_one_direction
    check (points_earned = 0 or points_spent = 0);

-- ---------------------------------------------------------------- daily limit

create or replace function referral.take_invitation_slots(p_sponsor uuid, p_at timestamp with time zone, p_count integer)
returns table (daily_limit_id uuid, first_order integer)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
    v_day date := (p_at at time zone 'Africa/Dakar')::date;
    v_max integer;
    v_id uuid;
    v_sent integer;
    v_left integer;
begin
    if p_count is null or p_count < 1 then
        raise exception 'p_count must be positive' using errcode = '22023';
    end if;
    -- Under an API request (claims set), only the signed-in sponsor (or an admin) may take
    -- slots: nobody exhausts another sponsor's day. The service itself has no claims.
    if wolo.current_user_id() is not null and p_sponsor is distinct from wolo.current_user_id()
       and not wolo.is_admin() then
        raise exception 'invitations are counted for the signed-in sponsor only'
            using errcode = '42501';
    end if;
    v_max := coalesce((select (c.config_value #>> '{}')::integer from admin.system_config c
                       where c.config_key = 'referral.daily_invitation_limit'), 50);
    insert into referral.sponsor_daily_limits as l
        (sponsor_user_id, limit_date, max_invitations_per_day, invitations_sent_today,
         last_reset_at, next_reset_at, consecutive_active_days, total_lifetime_invitations)
    values (p_sponsor, v_day, v_max, 0,
            v_day::timestamp at time zone 'Africa/Dakar',
            (v_day + 1)::timestamp at time zone 'Africa/Dakar',
            coalesce((select y.consecutive_active_days from referral.sponsor_daily_limits y
                      where y.sponsor_user_id = p_sponsor and y.limit_date = v_day - 1), 0) + 1,
            coalesce((select max(y.total_lifetime_invitations) from referral.sponsor_daily_limits y
                      where y.sponsor_user_id = p_sponsor), 0))
    on conflict (sponsor_user_id, limit_date) do nothing;
    -- The row lock serialises concurrent invitations; the condition is re-checked on the
    -- latest row version, so the limit cannot be passed.
    update referral.sponsor_daily_limits l
    set invitations_sent_today = l.invitations_sent_today + p_count,
        total_lifetime_invitations = coalesce(l.total_lifetime_invitations, 0) + p_count
    where l.sponsor_user_id = p_sponsor and l.limit_date = v_day
      and l.invitations_sent_today + p_count <= l.max_invitations_per_day
    returning l.id, l.invitations_sent_today into v_id, v_sent;
    if v_id is null then
        select l.max_invitations_per_day - l.invitations_sent_today into v_left
        from referral.sponsor_daily_limits l
        where l.sponsor_user_id = p_sponsor and l.limit_date = v_day;
        raise exception 'Limite quotidienne d''invitations atteinte (daily invitation limit reached)'
            using errcode = 'WL429',
                  detail = format('remaining=%s', coalesce(v_left, 0)),
                  hint = 'La limite de 50 invitations par jour se réinitialise à minuit (heure de Dakar).';
    end if;
    return query select v_id, v_sent - p_count + 1;
end;
$$;

comment on function referral.take_invitation_slots(uuid, timestamp with time zone, integer) is
    'Counts p_count invitations of a sponsor on the Africa/Dakar day of p_at, all or nothing; raises WL429 over the daily limit. Returns the day''s sponsor_daily_limits id and the order (1-50) of the first invitation.';

revoke all on function referral.take_invitation_slots(uuid, timestamp with time zone, integer) from public;

create or replace function referral.config_int(p_key text, p_default integer)
returns integer
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce((select (c.config_value #>> '{}')::integer from admin.system_config c
                     where c.config_key = p_key and c.config_key like 'referral.%'), p_default)
$$;

comment on function referral.config_int(text, integer) is
    'An integer referral.* admin.system_config value (for the referral triggers, which run as the caller).';

grant execute on function referral.config_int(text, integer) to wolo_user, wolo_partner, wolo_admin;

create or replace function referral.count_rest_invitation()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    v record;
    v_days integer;
begin
    if current_user not in ('wolo_user', 'wolo_partner', 'wolo_admin') then
        return new; -- the referral service counts its own invitations
    end if;
    if new.sponsor_user_id is distinct from wolo.current_user_id() and not wolo.is_admin() then
        return new; -- not the caller's invitation: row-level security refuses the row
    end if;
    select * into v from referral.take_invitation_slots(new.sponsor_user_id, now(), 1);
    v_days := referral.config_int('referral.invitation_validity_days', 7);
    new.daily_limit_id := v.daily_limit_id;
    new.invitation_order := v.first_order;
    new.sent_at := now();
    new.expired_at := now() + make_interval(days => v_days);
    return new;
end;
$$;

-- Runs as the caller; take_invitation_slots (security definer) writes the counter.
grant execute on function referral.take_invitation_slots(uuid, timestamp with time zone, integer)
    to wolo_user, wolo_partner, wolo_admin;

create trigger count_rest_invitation
    before insert on referral.referrals
    for each row execute function referral.count_rest_invitation();

-- ---------------------------------------------------------------- referral pot

insert into admin.system_config (config_key, config_value, data_type, description, validation_rules)
values (
    'referral.pot_target_amount_cfa', '50000', 'number',
    'Objectif (en francs CFA) de la cagnotte d''anniversaire créée automatiquement pour un filleul.',
    '{"type": "integer", "minimum": 1000, "maximum": 10000000}'
)
on conflict (config_key) do nothing;

create or replace function referral.create_referral_pot(p_referral_id uuid, p_now timestamp with time zone default now())
returns uuid
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    r record;
    v_pot uuid;
    v_today date := (p_now at time zone 'Africa/Dakar')::date;
    v_birthday date;
    v_years integer;
    v_open timestamptz;
    v_target integer;
begin
    select rf.id, rf.sponsored_user_id, p.date_of_birth, p.full_name
    into r
    from referral.referrals rf
    join profiles.profiles p on p.user_id = rf.sponsored_user_id
    where rf.id = p_referral_id and rf.status = 'accepted'
    for update of rf;
    if not found then
        return null; -- not accepted, or the profile (date of birth) is not there yet
    end if;
    select id into v_pot from pots.pots where created_from_referral_id = p_referral_id limit 1;
    if v_pot is not null then
        return v_pot;
    end if;
    -- The next birthday that leaves at least one day before it (Feb 29 -> Feb 28).
    v_years := extract(year from age(v_today, r.date_of_birth))::integer + 1;
    v_birthday := (r.date_of_birth + make_interval(years => v_years))::date;
    if v_birthday <= v_today + 1 then
        v_birthday := (r.date_of_birth + make_interval(years => v_years + 1))::date;
    end if;
    v_open := pots.scheduled_open_at(v_birthday, p_now);
    v_target := coalesce((select (c.config_value #>> '{}')::integer from admin.system_config c
                          where c.config_key = 'referral.pot_target_amount_cfa'), 50000);
    insert into pots.pots (owner_user_id, title, target_amount_cfa, birthday_date, scheduled_open_at,
                           status, created_from_referral_id)
    values (r.sponsored_user_id, left('Anniversaire de ' || r.full_name, 255), v_target, v_birthday,
            v_open, 'scheduled', p_referral_id)
    returning id into v_pot;
    perform wolo.publish_event('pot.created', jsonb_build_object(
        'pot_id', v_pot,
        'owner_user_id', r.sponsored_user_id,
        'birthday_date', v_birthday,
        'scheduled_open_at', v_open,
        'target_amount_cfa', v_target,
        'created_from_referral_id', p_referral_id), 'referral');
    return v_pot;
end;
$$;

comment on function referral.create_referral_pot(uuid, timestamp with time zone) is
    'Creates (once) the birthday pot of an accepted referral''s sponsored user, opening at J-30 of the next birthday, and publishes pot.created. NULL while the user has no profile. Called by the referral service on acceptance and by the profiles service when the profile is completed. Runs as the table owner.';

revoke all on function referral.create_referral_pot(uuid, timestamp with time zone) from public;

-- ---------------------------------------------------------------- balance

create or replace function referral.points_balance(p_sponsor uuid)
returns integer
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select (coalesce(sum(l.points_earned) filter (where l.status = 'matured'), 0)
            - coalesce(sum(l.points_spent) filter (where l.status <> 'revoked'), 0))::integer
    from referral.points_ledger l
    where l.sponsor_user_id = p_sponsor
$$;

comment on function referral.points_balance(uuid) is
    'Spendable points: matured points earned minus points spent, from the ledger. Conversions lock the sponsor and check it, so it never goes below 0.';

create view referral.points_balances with (security_invoker = true) as
select l.sponsor_user_id,
       coalesce(sum(l.points_earned) filter (where l.status = 'pending'), 0)::integer as pending_points,
       coalesce(sum(l.points_earned) filter (where l.status = 'matured'), 0)::integer as matured_points,
       coalesce(sum(l.points_earned) filter (where l.status = 'revoked'), 0)::integer as revoked_points,
       coalesce(sum(l.points_spent) filter (where l.status <> 'revoked'), 0)::integer as spent_points,
       (coalesce(sum(l.points_earned) filter (where l.status = 'matured'), 0)
        - coalesce(sum(l.points_spent) filter (where l.status <> 'revoked'), 0))::integer as balance_points
from referral.points_ledger l
group by l.sponsor_user_id;

comment on view referral.points_balances is
    'Per sponsor: pending, matured, revoked and spent points and the spendable balance (matured - spent). Row-level security of points_ledger applies (security_invoker).';

grant select on referral.points_balances to wolo_user, wolo_admin;
grant execute on function referral.points_balance(uuid) to wolo_user, wolo_admin;

-- ---------------------------------------------------------------- templates

insert into notifications.notification_templates
    (template_key, locale, name, description, channels, variables, subject, body_text, body_html)
values
(
    'points_converted.fr-SN', 'fr-SN',
    'Points convertis en crédit de cagnotte',
    'Envoyé au parrain quand il convertit des points en crédit CFA versé dans une cagnotte.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "points": "number", "credit_cfa": "cfa", "pot_title": "string", "balance_points": "number"}',
    'Vos points ont été offerts',
    '{{first_name}}, vous avez converti {{points}} points : {{credit_cfa}} FCFA ont été versés dans la cagnotte « {{pot_title}} ». Solde restant : {{balance_points}} points.',
    '<p>{{first_name}},</p>
<p>Vous avez converti <strong>{{points}} points</strong> : {{credit_cfa}} FCFA ont été versés dans la cagnotte « {{pot_title}} ».</p>
<p>Solde restant : {{balance_points}} points.</p>'
),
(
    'points_converted.wo-SN', 'wo-SN',
    'Points convertis en crédit de cagnotte - wolof',
    'Envoyé au parrain quand il convertit des points en crédit CFA versé dans une cagnotte.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "points": "number", "credit_cfa": "cfa", "pot_title": "string", "balance_points": "number"}',
    'Sa points yi dugg nañu ci cagnotte bi',
    '{{first_name}}, soppi nga {{points}} points : {{credit_cfa}} FCFA dugg nañu ci cagnotte « {{pot_title}} ». Li des : {{balance_points}} points.',
    '<p>{{first_name}},</p>
<p>Soppi nga <strong>{{points}} points</strong> : {{credit_cfa}} FCFA dugg nañu ci cagnotte « {{pot_title}} ».</p>
<p>Li des : {{balance_points}} points.</p>'
),
(
    'points_converted.en', 'en',
    'Points converted into pot credit',
    'Sent to the sponsor who converts points into CFA credit paid into a pot.',
    array['sms', 'whatsapp', 'email']::varchar(20)[],
    '{"first_name": "string", "points": "number", "credit_cfa": "cfa", "pot_title": "string", "balance_points": "number"}',
    'Your points were gifted',
    '{{first_name}}, you converted {{points}} points: {{credit_cfa}} CFA went into the pot "{{pot_title}}". Points left: {{balance_points}}.',
    '<p>{{first_name}},</p>
<p>You converted <strong>{{points}} points</strong>: {{credit_cfa}} CFA went into the pot "{{pot_title}}".</p>
<p>Points left: {{balance_points}}.</p>'
)
on conflict (template_key) do nothing;
