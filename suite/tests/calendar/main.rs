//! Every calendar rule of the product, driven over every day of five years (2024-2028: two
//! leap days) in Rust (`platform::calendar`) and in SQL (V93 and the functions built on it),
//! each compared with a plain reference computation written here, day by day.
//!
//! The edge days matter: born on 29 February, a birthday on 1 March, the last day of a
//! 31-day month, 31 December, and every eve of an 18th birthday (where comparing
//! `age()` with `interval '18 years'` said "adult").

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use platform::calendar::{self, dakar_midnight};
use testkit::TestDb;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Every day of 2024-2028.
fn days() -> Vec<NaiveDate> {
    d("2024-01-01")
        .iter_days()
        .take_while(|x| *x <= d("2028-12-31"))
        .collect()
}

/// Birth dates that exercise the edges, whatever the day.
const SPECIAL_BIRTHS: [&str; 8] = [
    "2008-02-29",
    "2004-02-29",
    "2008-02-28",
    "2008-03-01",
    "2007-12-31",
    "2008-01-01",
    "2008-07-31",
    "2010-08-31",
];

/// Reference: someone born on `dob` has had their `n`-th birthday by `on` when the day
/// `on` reaches the birth's month and day in the year `dob.year() + n`; 29 February, in a
/// year without one, is reached on 1 March (PostgreSQL's `age()` count).
fn reference_age(dob: NaiveDate, on: NaiveDate) -> i32 {
    let mut n = 0;
    loop {
        let y = dob.year() + n + 1;
        let reached = match NaiveDate::from_ymd_opt(y, dob.month(), dob.day()) {
            Some(b) => b <= on,
            None => NaiveDate::from_ymd_opt(y, 3, 1).unwrap() <= on,
        };
        if !reached {
            return n;
        }
        n += 1;
    }
}

/// Reference: the first day after `after` that is the birth's month and day, or 28
/// February for 29 February in a common year, found by walking the calendar.
fn reference_next_birthday(dob: NaiveDate, after: NaiveDate) -> NaiveDate {
    let mut day = after.succ_opt().unwrap();
    loop {
        let is_birthday = (day.month(), day.day()) == (dob.month(), dob.day())
            || ((dob.month(), dob.day()) == (2, 29)
                && (day.month(), day.day()) == (2, 28)
                && !day.leap_year());
        if is_birthday {
            return day;
        }
        day = day.succ_opt().unwrap();
    }
}

/// Reference: midnight on a day, Dakar being UTC+0 all year with no daylight saving.
fn reference_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0).unwrap().and_utc()
}

#[tokio::test]
async fn age_and_minority_agree_in_rust_sql_the_spec_constraint_and_the_reference() {
    let db = TestDb::new().await;
    let mut dobs = Vec::new();
    let mut ons = Vec::new();
    for on in days() {
        // Around the 18th birthday: 18 years ago, and two days either side.
        // 29 February 18 years before a leap day does not exist: 28 February then.
        let eighteen = on
            .with_year(on.year() - 18)
            .unwrap_or_else(|| on.pred_opt().unwrap().with_year(on.year() - 18).unwrap());
        for k in -2..=2 {
            dobs.push(eighteen + Duration::days(k));
            ons.push(on);
        }
        for s in SPECIAL_BIRTHS {
            dobs.push(d(s));
            ons.push(on);
        }
    }
    // At 00:00:00 and 23:59:59 Dakar, the same day.
    let rows: Vec<(i32, i32, bool, bool)> = sqlx::query_as(
        "select wolo.age_years(b, o),
                extract(year from age(o, b))::integer,
                profiles.is_minor(b, wolo.dakar_midnight(o)),
                profiles.is_minor(b, wolo.dakar_midnight(o) + interval '23:59:59')
         from unnest($1::date[], $2::date[]) with ordinality as t(b, o, i) order by i",
    )
    .bind(&dobs)
    .bind(&ons)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), dobs.len());
    let mut eves = 0;
    for ((dob, on), (sql_age, spec_age, minor_at_0, minor_at_23)) in dobs.iter().zip(&ons).zip(rows)
    {
        let want = reference_age(*dob, *on);
        assert_eq!(
            calendar::age_on(*dob, *on),
            want,
            "Rust age of {dob} on {on}"
        );
        assert_eq!(sql_age, want, "wolo.age_years({dob}, {on})");
        // The spec's check_minor_has_guardian counts with age(): the same years.
        assert_eq!(spec_age, want, "age({on}, {dob})");
        assert_eq!(
            calendar::is_minor_on(*dob, *on),
            want < 18,
            "Rust minor {dob} on {on}"
        );
        assert_eq!(
            minor_at_0,
            want < 18,
            "profiles.is_minor({dob}) at 00:00 on {on}"
        );
        assert_eq!(
            minor_at_23,
            want < 18,
            "profiles.is_minor({dob}) at 23:59:59 on {on}"
        );
        if reference_next_birthday(*dob, *on) == on.succ_opt().unwrap() && want == 17 {
            eves += 1;
        }
    }
    // Every day has an eve of an 18th birthday among the births tried, but the two days
    // before a 29 February (nobody was born on 29 February 18 years before).
    assert!(eves >= days().len() - 2, "{eves} eves");
}

#[tokio::test]
async fn next_birthdays_agree_in_rust_sql_and_the_reference() {
    let db = TestDb::new().await;
    let mut dobs = Vec::new();
    let mut afters = Vec::new();
    for after in days() {
        for s in SPECIAL_BIRTHS {
            dobs.push(d(s));
            afters.push(after);
        }
        // Born on this very day of another year, and the day after.
        dobs.push(after.with_year(1990).unwrap_or(d("1990-02-28")));
        afters.push(after);
        dobs.push(
            after
                .succ_opt()
                .unwrap()
                .with_year(1990)
                .unwrap_or(d("1990-02-28")),
        );
        afters.push(after);
    }
    let sql: Vec<NaiveDate> = sqlx::query_scalar(
        "select wolo.next_birthday_after(b, a)
         from unnest($1::date[], $2::date[]) with ordinality as t(b, a, i) order by i",
    )
    .bind(&dobs)
    .bind(&afters)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for ((dob, after), sql) in dobs.iter().zip(&afters).zip(sql) {
        let want = reference_next_birthday(*dob, *after);
        assert_eq!(
            calendar::next_birthday_after(*dob, *after),
            want,
            "Rust next birthday of {dob} after {after}"
        );
        assert_eq!(sql, want, "wolo.next_birthday_after({dob}, {after})");
    }
}

#[tokio::test]
async fn j30_opening_and_expiry_agree_in_rust_sql_and_the_reference() {
    let db = TestDb::new().await;
    let mut birthdays = Vec::new();
    let mut nows = Vec::new();
    for b in days() {
        let j30 = reference_midnight(b - Duration::days(30));
        let eve = reference_midnight(b - Duration::days(1));
        for now in [
            j30 - Duration::days(1),
            j30 - Duration::seconds(1),
            j30,
            j30 + Duration::seconds(1),
            eve - Duration::seconds(1),
            eve + Duration::hours(5),
            reference_midnight(b) - Duration::seconds(1),
            reference_midnight(b),
            reference_midnight(b) + Duration::hours(23),
            reference_midnight(b + Duration::days(1)),
        ] {
            birthdays.push(b);
            nows.push(now);
        }
    }
    // NULL where the birthday is not in the future (the function refuses it).
    let rows: Vec<(Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        "select case when b > wolo.dakar_date(n) then pots.scheduled_open_at(b, n) end,
                b < (n at time zone 'Africa/Dakar')::date
         from unnest($1::date[], $2::timestamptz[]) with ordinality as t(b, n, i) order by i",
    )
    .bind(&birthdays)
    .bind(&nows)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for ((b, now), (sql_open, sql_expired)) in birthdays.iter().zip(&nows).zip(rows) {
        let today = now.date_naive();
        let want = (*b > today).then(|| {
            (*now)
                .max(reference_midnight(*b - Duration::days(30)))
                .min(reference_midnight(*b - Duration::days(1)))
        });
        assert_eq!(
            calendar::pot_opens_at(*b, *now),
            want,
            "Rust J-30 of {b} at {now}"
        );
        assert_eq!(sql_open, want, "pots.scheduled_open_at({b}, {now})");
        if let Some(open) = want {
            // Never more than 30 days ahead of the birthday, always before it.
            assert!(
                open >= reference_midnight(*b - Duration::days(30))
                    && open < reference_midnight(*b)
            );
        }
        // Expired once the birthday day is over in Dakar: the lifecycle job's SQL condition.
        let over = *now >= reference_midnight(*b + Duration::days(1));
        assert_eq!(
            *now >= calendar::pot_expires_at(*b),
            over,
            "Rust expiry of {b} at {now}"
        );
        assert_eq!(sql_expired, over, "SQL expiry of {b} at {now}");
    }
}

#[tokio::test]
async fn dakar_days_midnights_and_whole_day_windows_agree() {
    let db = TestDb::new().await;
    let mut instants = Vec::new();
    for day in days() {
        let m = reference_midnight(day);
        instants.extend([m - Duration::seconds(1), m, m + Duration::hours(12)]);
    }
    // The Dakar day (daily invitation limit, snapshots), 7-day invitation expiry and the
    // points maturation delay, as SQL computes them.
    type Row = (NaiveDate, DateTime<Utc>, DateTime<Utc>, DateTime<Utc>);
    let rows: Vec<Row> = sqlx::query_as(
        "select wolo.dakar_date(t), wolo.dakar_midnight(wolo.dakar_date(t)),
                t + make_interval(days => 7), t + make_interval(days => 30)
         from unnest($1::timestamptz[]) with ordinality as x(t, i) order by i",
    )
    .bind(&instants)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (t, (day, midnight, in7, in30)) in instants.iter().zip(rows) {
        let want_day = t.date_naive();
        assert_eq!(calendar::dakar_day(*t), want_day, "Rust Dakar day of {t}");
        assert_eq!(day, want_day, "wolo.dakar_date({t})");
        assert_eq!(dakar_midnight(want_day), reference_midnight(want_day));
        assert_eq!(
            midnight,
            reference_midnight(want_day),
            "wolo.dakar_midnight({want_day})"
        );
        // Same wall-clock time, 7 and 30 calendar days later.
        let later = |n: i64| (want_day + Duration::days(n)).and_time(t.time()).and_utc();
        assert_eq!(calendar::plus_days(*t, 7), later(7));
        assert_eq!(in7, later(7), "{t} + 7 days");
        assert_eq!(calendar::plus_days(*t, 30), later(30));
        assert_eq!(in30, later(30), "{t} + 30 days");
    }
    // A QR code is redeemable from 00:00 Dakar on the birthday for validity_days whole days.
    for b in days() {
        for v in [1u32, 30, 90, 365] {
            let (from, until) = calendar::qr_window(b, v);
            assert_eq!(from, reference_midnight(b));
            assert_eq!(until, reference_midnight(b + Duration::days(i64::from(v))));
            assert_eq!(qr::issue::redeemable_from(b), from);
        }
    }
}

#[test]
fn settlement_periods_tile_the_calendar() {
    use qr::jobs::Terms;
    for terms in [Terms::Weekly, Terms::Monthly, Terms::Quarterly] {
        for day in days() {
            let (start, end) = (terms.period_start(day), terms.period_end(day));
            assert!(start <= day && day <= end, "{terms:?} {day}");
            // Reference: the period is the run of days sharing its key.
            let key = |x: NaiveDate| match terms {
                Terms::Weekly => (x.iso_week().year(), x.iso_week().week()),
                Terms::Monthly => (x.year(), x.month()),
                Terms::Quarterly => (x.year(), x.month0() / 3),
            };
            assert_eq!(key(start), key(day));
            assert_ne!(
                key(start.pred_opt().unwrap()),
                key(day),
                "{terms:?} starts on {start}"
            );
            assert_eq!(key(end), key(day));
            assert_ne!(
                key(end.succ_opt().unwrap()),
                key(day),
                "{terms:?} ends on {end}"
            );
        }
    }
}
