//! The time Storage stamps on what it writes (row change times, table import and change dates,
//! file, component and configuration times): the system clock, or a time the caller sets, so
//! that a test can write rows "at" chosen times instead of sleeping between writes.

use time::OffsetDateTime;

use super::db::{from_micros, to_micros};

/// Where a [`Storage`](crate::Storage) reads the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// The system clock (what [`Storage::open`](crate::Storage::open) starts with).
    #[default]
    System,
    /// Always this time.
    Fixed(OffsetDateTime),
}

impl Clock {
    /// The current time, truncated to microseconds (the resolution of every stored time) so
    /// that it round-trips through the database.
    pub fn now(&self) -> OffsetDateTime {
        let now = match self {
            Clock::System => OffsetDateTime::now_utc(),
            Clock::Fixed(t) => *t,
        };
        from_micros(to_micros(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_reads_its_time_in_whole_microseconds() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(
            Clock::Fixed(t).now(),
            OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).unwrap()
        );
        let before = OffsetDateTime::now_utc() - time::Duration::MICROSECOND;
        let now = Clock::System.now();
        assert!(now >= before && now <= OffsetDateTime::now_utc());
    }
}
