//! Where the product reads the time for its calendar rules (`calendar`).
//!
//! Production uses the system clock. A test sets the clock to the instant it needs (the
//! eve of an 18th birthday, 29 February, 31 December...) and the clock runs on from there,
//! so a test never depends on the day it runs. The service passes `clock.now()` to the
//! SQL rules that take a time (`profiles.is_minor(dob, at)`, `profiles.can_open_pot(user,
//! at)`, `pots.scheduled_open_at(birthday, at)`...).

use chrono::{DateTime, Duration, NaiveDate, Utc};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Clock {
    /// Added to the system time: zero in production.
    offset: Option<Duration>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock { offset: None }
    }

    /// A clock that reads `at` now and runs on from there.
    pub fn starting_at(at: DateTime<Utc>) -> Clock {
        Clock {
            offset: Some(at - Utc::now()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self.offset {
            None => Utc::now(),
            Some(o) => Utc::now() + o,
        }
    }

    /// Today in Africa/Dakar.
    pub fn today(&self) -> NaiveDate {
        crate::calendar::dakar_day(self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_reads_its_instant_and_runs_on() {
        let at: DateTime<Utc> = "2028-02-29T23:59:59Z".parse().unwrap();
        let c = Clock::starting_at(at);
        let first = c.now();
        assert!(first >= at && first - at < Duration::seconds(5));
        assert_eq!(c.today().to_string(), "2028-02-29");
        assert!(c.now() >= first);
        assert!((Clock::system().now() - Utc::now()).num_seconds().abs() < 5);
    }
}
