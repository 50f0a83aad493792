//! Time in one place: every timestamp is UTC and stored as Unix milliseconds, and "now" is read
//! from a `Clock` held in the app state (`state.clock`, the same as `db.clock`), never from the
//! system directly, so a test moves it instead of sleeping: expiry, availability windows,
//! throttle windows, sessions, signed cookies and digests all read this one clock.
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

/// The portal's clock: the system's UTC time plus an offset that stays 0 in production and that
/// tests move forward (`advance`). Clones share the offset, so every part of one app (and the
/// database handle it was built with) reads the same time.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system's time.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in Unix milliseconds (the storage format of every timestamp column).
    pub fn now_ms(&self) -> i64 {
        to_ms(OffsetDateTime::now_utc()) + self.offset_ms.load(Ordering::Relaxed)
    }

    /// How far this clock is ahead of the system's (0 in production).
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward by `by`: for tests, which move time
    /// rather than wait for it.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
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

/// A readable form for pages and mails: `11 Dec 2026, 23:59 UTC` (the API speaks RFC 3339).
/// Pages show it in the viewer's own time zone: static/app.js rewrites exactly this shape.
pub fn human(ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = from_ms(ms);
    format!(
        "{} {} {}, {:02}:{:02} UTC",
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_dates_read_like_a_calendar() {
        let ms = super::parse_rfc3339("2026-12-11T23:59:30Z").unwrap();
        assert_eq!(super::human(ms), "11 Dec 2026, 23:59 UTC");
        let ms = super::parse_rfc3339("2027-01-02T03:04:00Z").unwrap();
        assert_eq!(super::human(ms), "2 Jan 2027, 03:04 UTC");
    }
}
