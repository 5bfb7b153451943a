//! The calendar rules of the product, each implemented once in Rust. Their SQL twins live
//! in the database (migration V93, schema `wolo`, plus `profiles.is_minor` and
//! `pots.scheduled_open_at`); `suite/tests/calendar` drives both over every day of
//! five years (leap days included) against a plain reference computation.
//!
//! Every rule works on **dates in Africa/Dakar** (UTC+0 all year, no daylight saving).
//! None compares intervals: PostgreSQL compares `interval`s by counting a month as 30
//! days, so `age(today, dob) < interval '18 years'` answered "adult" on the eve of many
//! 18th birthdays (issue #20).
//!
//! Two conventions for someone born on 29 February, in a common year:
//! - their **birthday** (the pot's date, J-30) is on 28 February, as `date + N years`
//!   gives in PostgreSQL and chrono;
//! - their **age** turns on 1 March, as PostgreSQL's `age()` counts it, which the spec's
//!   `check_minor_has_guardian` constraint uses: the product and the constraint agree on
//!   who is a minor on every day.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
pub use chrono_tz::Africa::Dakar;

/// Age of majority in Senegal.
pub const MAJORITY_AGE: i32 = 18;

/// A pot opens this many days before the birthday (J-30).
pub const POT_OPENS_DAYS_BEFORE: u64 = 30;

/// The Africa/Dakar calendar day of `at`. SQL: `wolo.dakar_date(at)`.
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date as people write it: "5 mars 2026" (French, and Wolof: Wolof speakers use the French
/// month names), "5 March 2026" (a locale starting with `en`). Messages and pages share it.
pub fn long_date(d: NaiveDate, locale: &str) -> String {
    use chrono::Datelike;
    let m = d.month0() as usize;
    let month = if locale.starts_with("en") {
        MONTHS_EN[m]
    } else {
        MONTHS_FR[m]
    };
    format!("{} {} {}", d.day(), month, d.year())
}

pub fn dakar_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Dakar).date_naive()
}

/// 00:00 Africa/Dakar on `day`, in UTC. SQL: `wolo.dakar_midnight(day)`.
pub fn dakar_midnight(day: NaiveDate) -> DateTime<Utc> {
    Dakar
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("Africa/Dakar has no daylight saving")
        .with_timezone(&Utc)
}

/// Full years of someone born on `dob`, on the day `on` (PostgreSQL's `age()` count: the
/// year is complete once the month and day of birth are reached; 29 February is reached
/// on 1 March in a common year). SQL: `wolo.age_years(dob, on)`.
pub fn age_on(dob: NaiveDate, on: NaiveDate) -> i32 {
    let years = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        years - 1
    } else {
        years
    }
}

/// Under 18 on the day `on`. SQL: `profiles.is_minor(dob, at)`.
pub fn is_minor_on(dob: NaiveDate, on: NaiveDate) -> bool {
    age_on(dob, on) < MAJORITY_AGE
}

/// The birthday of someone born on `dob` in `year`: the same month and day, 28 February
/// for 29 February in a common year.
pub fn birthday_in(dob: NaiveDate, year: i32) -> NaiveDate {
    let years = year - dob.year();
    let months = Months::new(years.unsigned_abs() * 12);
    if years >= 0 {
        dob.checked_add_months(months)
    } else {
        dob.checked_sub_months(months)
    }
    .expect("a birthday within chrono's range")
}

/// The first birthday of someone born on `dob` strictly after the day `after`.
/// SQL: `wolo.next_birthday_after(dob, after)`.
pub fn next_birthday_after(dob: NaiveDate, after: NaiveDate) -> NaiveDate {
    let this_year = birthday_in(dob, after.year());
    if this_year > after {
        this_year
    } else {
        birthday_in(dob, after.year() + 1)
    }
}

/// When a pot for `birthday` opens, as of `now` (J-30): 00:00 Africa/Dakar thirty days
/// before the birthday, or `now` when that moment is past, never later than 00:00 Dakar
/// the day before the birthday. `None` when the birthday is not after today in Dakar.
/// SQL: `pots.scheduled_open_at(birthday, now)`.
pub fn pot_opens_at(birthday: NaiveDate, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if birthday <= dakar_day(now) {
        return None;
    }
    let j30 = dakar_midnight(birthday - chrono::Days::new(POT_OPENS_DAYS_BEFORE));
    let latest = dakar_midnight(birthday - chrono::Days::new(1));
    Some(j30.max(now).min(latest))
}

/// When an unfunded pot for `birthday` expires: once the birthday day is over in Dakar
/// (00:00 Africa/Dakar the day after). The lifecycle job expires pots whose
/// `birthday_date < wolo.dakar_date(now)`, the same moment.
pub fn pot_expires_at(birthday: NaiveDate) -> DateTime<Utc> {
    dakar_midnight(birthday + chrono::Days::new(1))
}

/// The window a gift's QR code is redeemable in: from 00:00 Dakar on the birthday, for
/// `validity_days` whole days (until 00:00 Dakar `validity_days` days later, excluded).
pub fn qr_window(birthday: NaiveDate, validity_days: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let from = dakar_midnight(birthday);
    (
        from,
        dakar_midnight(birthday + chrono::Days::new(u64::from(validity_days))),
    )
}

/// `at` plus `days` whole days (invitation expiry, points maturation, retention windows):
/// the same Dakar wall-clock time `days` calendar days later (Dakar has no daylight saving,
/// so this is also `days` × 24 h). SQL: `at + make_interval(days => days)`.
pub fn plus_days(at: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    at + Duration::days(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A plain reference: count the birthdays passed, one day at a time.
    fn reference_age(dob: NaiveDate, on: NaiveDate) -> i32 {
        let mut age = 0;
        let mut day = dob;
        while day < on {
            day = day.succ_opt().unwrap();
            // A year completes on the day whose month/day first reaches the birth's.
            let turned = (day.month(), day.day()) == (dob.month(), dob.day())
                || (dob.month() == 2
                    && dob.day() == 29
                    && !day.leap_year()
                    && (day.month(), day.day()) == (3, 1));
            if turned {
                age += 1;
            }
        }
        age
    }

    #[test]
    fn age_matches_a_day_by_day_count_over_five_years() {
        let dobs = [
            d("2008-02-29"),
            d("2008-03-01"),
            d("2008-02-28"),
            d("2008-12-31"),
            d("2009-01-01"),
            d("2008-07-31"),
        ];
        for dob in dobs {
            let mut on = d("2024-01-01");
            while on <= d("2028-12-31") {
                assert_eq!(age_on(dob, on), reference_age(dob, on), "{dob} on {on}");
                on = on.succ_opt().unwrap();
            }
        }
    }

    #[test]
    fn the_eve_of_an_18th_birthday_is_still_a_minor() {
        // 17 years 11 months 30 days: the interval comparison said "adult".
        assert!(is_minor_on(d("2008-12-04"), d("2026-12-03")));
        assert!(!is_minor_on(d("2008-12-03"), d("2026-12-03")));
        // Born on 29 February: of age on 1 March in a common year, 29 February in a leap year.
        assert!(is_minor_on(d("2008-02-29"), d("2026-02-28")));
        assert!(!is_minor_on(d("2008-02-29"), d("2026-03-01")));
        assert!(!is_minor_on(d("2010-02-28"), d("2028-02-28")));
    }

    #[test]
    fn birthdays_of_29_february_fall_on_28_february_in_common_years() {
        assert_eq!(
            next_birthday_after(d("2008-02-29"), d("2026-12-03")),
            d("2027-02-28")
        );
        assert_eq!(
            next_birthday_after(d("2008-02-29"), d("2027-02-28")),
            d("2028-02-29")
        );
        assert_eq!(
            next_birthday_after(d("1990-03-01"), d("2027-02-28")),
            d("2027-03-01")
        );
        assert_eq!(
            next_birthday_after(d("1990-12-31"), d("2026-12-31")),
            d("2027-12-31")
        );
    }

    #[test]
    fn j30_is_thirty_dakar_days_before_capped_the_day_before() {
        let now = d("2026-12-03").and_hms_opt(10, 0, 0).unwrap().and_utc();
        assert_eq!(pot_opens_at(d("2026-12-03"), now), None);
        assert_eq!(
            pot_opens_at(d("2026-12-04"), now),
            Some(now.min(dakar_midnight(d("2026-12-03"))))
        );
        assert_eq!(
            pot_opens_at(d("2027-03-01"), now),
            Some(dakar_midnight(d("2027-01-30")))
        );
        assert_eq!(
            pot_expires_at(d("2027-02-28")),
            dakar_midnight(d("2027-03-01"))
        );
        let (from, until) = qr_window(d("2027-02-28"), 1);
        assert_eq!(
            (from, until),
            (
                dakar_midnight(d("2027-02-28")),
                dakar_midnight(d("2027-03-01"))
            )
        );
    }
}
