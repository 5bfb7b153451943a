-- V93: calendar rules computed on dates in Africa/Dakar, one SQL implementation each
-- (issue #20). Their Rust twins are in shared/platform/src/calendar.rs; the property tests
-- in shared/suite/tests/calendar drive both over every day of five years.
--
-- PostgreSQL compares intervals by counting a month as 30 days, so V80's
-- `age(today, dob) < interval '18 years'` answered "adult" the day (or days) before many
-- 18th birthdays (17 years 11 mons 30 days is not less than 18 years). Every rule now works
-- on dates:
-- - wolo.dakar_date(at), wolo.dakar_midnight(day): the Dakar calendar day of an instant,
--   and the instant a Dakar day starts;
-- - wolo.age_years(dob, on): full years, the month and day of birth reached (29 February is
--   reached on 1 March in a common year, as age() and the spec's check_minor_has_guardian
--   count it);
-- - wolo.birthday_in(dob, year), wolo.next_birthday_after(dob, after): birthdays, 29 February
--   on 28 February in a common year;
-- - profiles.is_minor(dob, at) on wolo.age_years; profiles.can_open_pot(user, at) takes the
--   time (the pots lifecycle passes its own), the one-argument form reads now();
-- - referral.create_referral_pot on wolo.next_birthday_after;
-- - the public catalog policy of packs.packs on the Dakar date instead of the session's
--   current_date (packs.is_available already used Dakar).
-- Depends on V1 (schema wolo), V31, V70, V80, V81.

create or replace function wolo.dakar_date(p_at timestamp with time zone)
returns date
language sql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select (p_at at time zone 'Africa/Dakar')::date
$$;

comment on function wolo.dakar_date(timestamp with time zone) is
    'The Africa/Dakar calendar day of an instant (Rust: platform::calendar::dakar_day).';

create or replace function wolo.dakar_midnight(p_day date)
returns timestamp with time zone
language sql
stable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select p_day::timestamp at time zone 'Africa/Dakar'
$$;

comment on function wolo.dakar_midnight(date) is
    '00:00 Africa/Dakar on a day (Rust: platform::calendar::dakar_midnight).';

create or replace function wolo.age_years(p_date_of_birth date, p_on date)
returns integer
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select extract(year from p_on)::integer - extract(year from p_date_of_birth)::integer
           - case when (extract(month from p_on), extract(day from p_on))
                       < (extract(month from p_date_of_birth), extract(day from p_date_of_birth))
                  then 1 else 0 end
$$;

comment on function wolo.age_years(date, date) is
    'Full years of someone born on p_date_of_birth, on the day p_on: the year counts once the month and day of birth are reached (29 February on 1 March in a common year, as age() counts). Compares dates, never intervals. Rust: platform::calendar::age_on.';

create or replace function wolo.birthday_in(p_date_of_birth date, p_year integer)
returns date
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    -- date + whole years: 29 February falls on 28 February in a common year.
    select (p_date_of_birth
            + make_interval(years => p_year - extract(year from p_date_of_birth)::integer))::date
$$;

comment on function wolo.birthday_in(date, integer) is
    'The birthday of someone born on p_date_of_birth in p_year (29 February on 28 February in a common year). Rust: platform::calendar::birthday_in.';

create or replace function wolo.next_birthday_after(p_date_of_birth date, p_after date)
returns date
language sql
immutable
parallel safe
set search_path = pg_catalog, pg_temp
as $$
    select case when wolo.birthday_in(p_date_of_birth, extract(year from p_after)::integer) > p_after
                then wolo.birthday_in(p_date_of_birth, extract(year from p_after)::integer)
                else wolo.birthday_in(p_date_of_birth, extract(year from p_after)::integer + 1) end
$$;

comment on function wolo.next_birthday_after(date, date) is
    'The first birthday strictly after p_after. Rust: platform::calendar::next_birthday_after.';

grant execute on function wolo.dakar_date(timestamp with time zone), wolo.dakar_midnight(date),
    wolo.age_years(date, date), wolo.birthday_in(date, integer), wolo.next_birthday_after(date, date)
    to wolo_anon, wolo_user, wolo_partner, wolo_admin;

-- ---------------------------------------------------------------- minors

create or replace function profiles.is_minor(p_date_of_birth date, p_at timestamp with time zone)
returns boolean
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
    select p_date_of_birth is not null
       and wolo.age_years(p_date_of_birth, wolo.dakar_date(p_at)) < 18
$$;

comment on function profiles.is_minor(date, timestamp with time zone) is
    'Under 18 on the Africa/Dakar calendar day of the given time (wolo.age_years: dates, never intervals). Rust: platform::calendar::is_minor_on.';

create or replace function profiles.can_open_pot(p_user_id uuid, p_at timestamp with time zone)
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select coalesce(
        (select not profiles.is_minor(p.date_of_birth, p_at)
                or (p.guardian_user_id is not null and p.guardian_confirmed_at is not null)
         from profiles.profiles p
         where p.user_id = p_user_id),
        true)
$$;

comment on function profiles.can_open_pot(uuid, timestamp with time zone) is
    'False while the user is a minor (Africa/Dakar day of p_at) whose guardian has not confirmed; true otherwise (also without a profile). The pots lifecycle passes its own time.';

create or replace function profiles.can_open_pot(p_user_id uuid)
returns boolean
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
    select profiles.can_open_pot(p_user_id, now())
$$;

comment on function profiles.can_open_pot(uuid) is
    'profiles.can_open_pot(user, now()).';

grant execute on function profiles.can_open_pot(uuid, timestamp with time zone) to wolo_user, wolo_partner, wolo_admin;

-- ---------------------------------------------------------------- referral pot

create or replace function referral.create_referral_pot(p_referral_id uuid, p_now timestamp with time zone default now())
returns uuid
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
    r record;
    v_pot uuid;
    v_today date := wolo.dakar_date(p_now);
    v_birthday date;
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
    v_birthday := wolo.next_birthday_after(r.date_of_birth, v_today + 1);
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

-- ---------------------------------------------------------------- public catalog

drop policy public_select on packs.packs;
create policy public_select on packs.packs
    for select to wolo_anon, wolo_user, wolo_partner
    using (is_active is true
           and (available_from is null or available_from <= wolo.dakar_date(now()))
           and (available_until is null or available_until >= wolo.dakar_date(now()))
           and (total_available_quantity is null or packs.quantity_left(id) > 0));
