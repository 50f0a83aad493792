//! Time in one place: every timestamp is UTC and stored as Unix milliseconds.
//!
//! The current time is read only through a [`Clock`] held in the app state (and in `Db`, for
//! functions that only have a connection), so tests can move it instead of sleeping. The rest
//! of this module is pure conversions.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

/// The system time plus an offset that tests may move; production never moves it. Cloning
/// shares the offset, so every part of one instance sees the same time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Current time in Unix milliseconds (the storage format of every timestamp column).
    pub fn now_ms(&self) -> i64 {
        to_ms(OffsetDateTime::now_utc()) + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Current time in whole Unix seconds (JWT `exp`).
    pub fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// `t`, which a library computed from the system time (tower-sessions' expiry date), moved
    /// onto this clock: "12 hours from now" stays 12 hours from this clock's now.
    pub fn from_system(&self, t: OffsetDateTime) -> i64 {
        to_ms(t) + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock forward by `by` (tests).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    /// Sets this clock to `ms` Unix milliseconds from now on (it keeps running from there).
    pub fn set(&self, ms: i64) {
        let real = to_ms(OffsetDateTime::now_utc());
        self.offset_ms.store(ms - real, Ordering::Relaxed);
    }
}

pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC, as the API promises.
pub fn rfc3339(ms: i64) -> String {
    from_ms(ms)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Parses an RFC 3339 timestamp from user input.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339)
        .ok()
        .map(to_ms)
}

/// A short human form for pages: `2026-11-25 14:03 UTC`.
pub fn human(ms: i64) -> String {
    let t = from_ms(ms);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset() {
        let a = Clock::system();
        let b = a.clone();
        let before = b.now_ms();
        a.advance(Duration::from_secs(3600));
        assert!(b.now_ms() >= before + 3_600_000);
        a.set(1_000);
        assert!(b.now_ms() < 10_000);
    }
}
