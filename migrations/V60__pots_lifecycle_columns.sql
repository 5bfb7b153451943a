-- V60: pots service — raised total, donor count, the J-30 schedule function,
-- server-computed dates for pots created or edited through the REST layer, and
-- a guard on status transitions (docs/pots.md).

-- ---------------------------------------------------------------- columns

-- Beyond the spec: the money a pot received and how many donations made it.
-- Maintained exactly once by the pots service's outbox consumer
-- (`pots.donations`: donation.succeeded / donation.refunded) and by the points
-- converter (which adds to raised_amount_cfa and publishes pot.credited).
alter table pots.pots
    add column raised_amount_cfa integer not null default 0,
    add column donor_count integer not null default 0,
    add constraint check_pots_raised_amount_cfa check (raised_amount_cfa >= 0),
    add constraint check_pots_donor_count check (donor_count >= 0);

comment on column pots.pots.raised_amount_cfa is
    'CFA received: succeeded donations minus refunded ones, plus points converted into the pot. Kept by the pots service (and the points converter); never written by users.';
comment on column pots.pots.donor_count is
    'Number of succeeded (not refunded) donations to the pot. Kept by the pots service.';

-- ---------------------------------------------------------------- J-30 schedule

-- When a pot for this birthday opens: the birthday minus 30 days at 00:00
-- Africa/Dakar; if that moment is already past, p_now; and never later than
-- 00:00 Dakar on the day before the birthday (check_open_before_birthday), so a
-- pot for tomorrow's birthday is due at once. A birthday that is not after
-- today's date in Dakar raises 22023 (HTTP 400 through the REST layer).
-- NULL birthday -> NULL.
create or replace function pots.scheduled_open_at(p_birthday date, p_now timestamptz default now())
returns timestamptz
language plpgsql
stable
set search_path = ''
as $$
declare
    today date;
    j30 timestamptz;
    latest timestamptz;
begin
    if p_birthday is null then
        return null;
    end if;
    today := (p_now at time zone 'Africa/Dakar')::date;
    if p_birthday <= today then
        raise exception 'birthday_date % is not in the future (today is % in Africa/Dakar)', p_birthday, today
            using errcode = '22023',
                  hint = 'Choose a birthday date after today.';
    end if;
    j30 := ((p_birthday - 30)::timestamp) at time zone 'Africa/Dakar';
    -- The V4 check casts with the session time zone: stay below both readings.
    latest := least(((p_birthday - 1)::timestamp) at time zone 'Africa/Dakar',
                    (p_birthday - interval '1 day')::timestamptz);
    if j30 > p_now then
        return least(j30, latest);
    end if;
    return least(p_now, latest);
end;
$$;

comment on function pots.scheduled_open_at(date, timestamptz) is
    'J-30 opening time of a pot: birthday - 30 days at 00:00 Africa/Dakar, or p_now when already past (capped at 00:00 Dakar the day before the birthday). Raises 22023 when the birthday is not after today (Dakar).';

grant execute on function pots.scheduled_open_at(date, timestamptz)
    to wolo_anon, wolo_user, wolo_partner, wolo_admin;

-- ---------------------------------------------------------------- REST writes by users

-- Closes the gap noted in docs/security.md: a user inserting or editing a pot
-- through the REST layer never chooses its dates, lifecycle or counters, and
-- the owner is the caller (filled in when omitted; RLS refuses anyone else). Applies to the user-facing roles only; the services (table owner)
-- and admins write what they mean.
create or replace function pots.user_pot_write()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if current_user not in ('wolo_user', 'wolo_partner', 'wolo_anon') then
        return new;
    end if;
    if tg_op = 'INSERT' then
        -- Omitted owner = the caller; another user's id is left for the
        -- owner_insert policy to refuse (42501), never silently rewritten.
        new.owner_user_id := coalesce(new.owner_user_id, wolo.current_user_id());
        if new.owner_user_id is null then
            raise exception 'a pot needs a signed-in owner'
                using errcode = '42501';
        end if;
        if new.birthday_date is null then
            raise exception 'birthday_date is required'
                using errcode = '23502';
        end if;
        new.scheduled_open_at := pots.scheduled_open_at(new.birthday_date, now());
        new.status := 'scheduled';
        new.actual_opened_at := null;
        new.closed_at := null;
        new.raised_amount_cfa := 0;
        new.donor_count := 0;
        new.view_count := 0;
        new.share_count := 0;
        new.created_from_referral_id := null;
        new.created_at := now();
        new.updated_at := now();
    else
        if old.status in ('closed', 'expired') then
            raise exception 'pot % is %: it can no longer be edited', old.id, old.status
                using errcode = '22023';
        end if;
        new.id := old.id;
        new.owner_user_id := old.owner_user_id;
        new.birthday_date := old.birthday_date;
        new.scheduled_open_at := old.scheduled_open_at;
        new.status := old.status;
        new.actual_opened_at := old.actual_opened_at;
        new.closed_at := old.closed_at;
        new.raised_amount_cfa := old.raised_amount_cfa;
        new.donor_count := old.donor_count;
        new.view_count := old.view_count;
        new.share_count := old.share_count;
        new.created_from_referral_id := old.created_from_referral_id;
        new.created_at := old.created_at;
    end if;
    return new;
end;
$$;

comment on function pots.user_pot_write() is
    'Before insert/update on pots.pots by an API user role: owner defaults to the caller (RLS refuses another), scheduled_open_at computed (pots.scheduled_open_at), lifecycle columns and counters kept by the service.';

create trigger user_pot_write
    before insert or update on pots.pots
    for each row execute function pots.user_pot_write();

-- pot.created for pots inserted through the REST layer (the services that
-- insert pots themselves publish it in their own transaction).
create or replace function pots.user_pot_created()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if current_user in ('wolo_user', 'wolo_partner', 'wolo_anon') then
        perform wolo.publish_event('pot.created', jsonb_build_object(
            'pot_id', new.id,
            'owner_user_id', new.owner_user_id,
            'birthday_date', new.birthday_date,
            'scheduled_open_at', new.scheduled_open_at,
            'target_amount_cfa', new.target_amount_cfa,
            'created_from_referral_id', new.created_from_referral_id), 'pots');
    end if;
    return null;
end;
$$;

comment on function pots.user_pot_created() is
    'After insert on pots.pots by an API user role: publishes pot.created in the same transaction.';

create trigger user_pot_created
    after insert on pots.pots
    for each row execute function pots.user_pot_created();

-- ---------------------------------------------------------------- status transitions

-- Every status change, whoever makes it, must follow the lifecycle:
--   scheduled -> open | closed | expired
--   open      -> funded | closed | expired
--   funded    -> closed
--   expired   -> closed
-- (closed is final; nothing goes back to scheduled or open).
create or replace function pots.guard_status_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
    if new.status is distinct from old.status then
        if not ((old.status = 'scheduled' and new.status in ('open', 'closed', 'expired'))
             or (old.status = 'open' and new.status in ('funded', 'closed', 'expired'))
             or (old.status = 'funded' and new.status = 'closed')
             or (old.status = 'expired' and new.status = 'closed')) then
            raise exception 'pot % cannot go from % to %', old.id, old.status, new.status
                using errcode = '23514',
                      hint = 'Allowed: scheduled->open|closed|expired, open->funded|closed|expired, funded->closed, expired->closed.';
        end if;
    end if;
    return new;
end;
$$;

comment on function pots.guard_status_transition() is
    'Before update of status on pots.pots: refuses transitions outside the lifecycle (23514).';

create trigger guard_status_transition
    before update of status on pots.pots
    for each row execute function pots.guard_status_transition();

-- The lifecycle job's scans.
create index idx_pots_open_birthday on pots.pots(birthday_date) where status in ('scheduled', 'open');
