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

/// A readable form for pages and mails: `11 Dec 2026, 23:59 UTC` (the API speaks RFC 3339), or
/// in the time zone of whoever reads it: a signed-in person's pages run inside
/// [`viewer_zone`], and mails to an account use [`human_in`] with theirs
/// (`12 Dec 2026, 00:59 CET`). static/app.js rewrites the UTC shape into the browser's zone for
/// those the server knows none for.
pub fn human(ms: i64) -> String {
    match ZONE.try_with(Clone::clone).ok().flatten() {
        Some(tz) => in_zone(ms, &tz),
        None => utc(ms),
    }
}

/// [`human`] in the IANA zone `zone` ("" or an unknown name: UTC).
pub fn human_in(ms: i64, zone: &str) -> String {
    match time_zone(zone) {
        Some(tz) => in_zone(ms, &tz),
        None => utc(ms),
    }
}

fn utc(ms: i64) -> String {
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

fn in_zone(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        // %Z: the zone's abbreviation ("CET"), or its offset where it has none ("+03").
        Ok(t) => t
            .to_zoned_datetime(tz.clone())
            .strftime("%-d %b %Y, %H:%M %Z")
            .to_string(),
        Err(_) => utc(ms),
    }
}

/// The day `ms` falls on ("2026-12-11"), in the reader's zone as [`human`] (date inputs).
pub fn local_date(ms: i64) -> String {
    let zone = ZONE.try_with(Clone::clone).ok().flatten();
    match (zone, jiff::Timestamp::from_millisecond(ms)) {
        (Some(tz), Ok(t)) => t.to_zoned_datetime(tz).date().to_string(),
        _ => from_ms(ms).date().to_string(),
    }
}

/// The last second of `date` ("2026-12-11", a date input's value) in the reader's zone, as
/// [`human`] shows times: "until the end of 11 Dec" means the reader's 11 Dec.
pub fn end_of_local_day(date: &str) -> Option<i64> {
    let d = time::Date::parse(
        date.trim(),
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()?;
    let utc = to_ms(d.with_hms(23, 59, 59).ok()?.assume_utc());
    match ZONE.try_with(Clone::clone).ok().flatten() {
        Some(tz) => {
            let civil = jiff::civil::DateTime::new(
                i16::try_from(d.year()).ok()?,
                i8::try_from(u8::from(d.month())).ok()?,
                i8::try_from(d.day()).ok()?,
                23,
                59,
                59,
                0,
            )
            .ok()?;
            Some(tz.to_timestamp(civil).ok()?.as_millisecond())
        }
        None => Some(utc),
    }
}

/// The IANA zone named `name` (from the bundled database), if there is one.
pub fn time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 {
        return None;
    }
    jiff::tz::TimeZone::get(name).ok()
}

/// `name` as the database spells it ("europe/paris" → "Europe/Paris"), if it is a zone.
pub fn zone_name(name: &str) -> Option<String> {
    time_zone(name).and_then(|tz| tz.iana_name().map(str::to_string))
}

/// Every zone name, sorted (the account page's choice).
pub fn zone_names() -> Vec<String> {
    let mut names: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|n| n.contains('/') && !n.starts_with("Etc/"))
        .collect();
    names.sort();
    names
}

tokio::task_local! {
    static ZONE: Option<jiff::tz::TimeZone>;
}

/// The zone pages are written in for this request ("" when none).
pub fn current_zone() -> String {
    ZONE.try_with(|z| {
        z.as_ref()
            .and_then(|tz| tz.iana_name().map(str::to_string))
            .unwrap_or_default()
    })
    .unwrap_or_default()
}

/// The session key holding a signed-in person's time zone (set at sign-in and when their
/// browser reports another).
pub const ZONE_KEY: &str = "time_zone";

/// Pages answer in the signed-in person's time zone: the session carries it, so this costs no
/// query (the session is loaded for the page anyway).
pub async fn viewer_zone(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let session = req.extensions().get::<tower_sessions::Session>().cloned();
    let zone = match session {
        Some(s) => s
            .get::<String>(ZONE_KEY)
            .await
            .ok()
            .flatten()
            .and_then(|z| time_zone(&z)),
        None => None,
    };
    ZONE.scope(zone, next.run(req)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn human_dates_read_like_a_calendar() {
        let ms = super::parse_rfc3339("2026-12-11T23:59:30Z").unwrap();
        assert_eq!(super::human(ms), "11 Dec 2026, 23:59 UTC");
        assert_eq!(
            super::human_in(ms, "Europe/Paris"),
            "12 Dec 2026, 00:59 CET"
        );
        assert_eq!(
            super::human_in(ms, "America/New_York"),
            "11 Dec 2026, 18:59 EST"
        );
        assert_eq!(
            super::human_in(ms, "Nowhere/Atlantis"),
            "11 Dec 2026, 23:59 UTC"
        );
        assert_eq!(super::human_in(ms, ""), "11 Dec 2026, 23:59 UTC");
        assert_eq!(
            super::zone_name("europe/paris").as_deref(),
            Some("Europe/Paris")
        );
        assert!(super::zone_names().iter().any(|z| z == "Asia/Tokyo"));
        let ms = super::parse_rfc3339("2027-01-02T03:04:00Z").unwrap();
        assert_eq!(super::human(ms), "2 Jan 2027, 03:04 UTC");
    }

    #[test]
    fn days_end_in_the_readers_zone() {
        let utc = super::end_of_local_day("2026-12-12").unwrap();
        assert_eq!(super::rfc3339(utc), "2026-12-12T23:59:59Z");
        let paris = super::ZONE.sync_scope(super::time_zone("Europe/Paris"), || {
            let end = super::end_of_local_day("2026-12-12").unwrap();
            assert_eq!(super::local_date(end), "2026-12-12");
            assert_eq!(super::human(end), "12 Dec 2026, 23:59 CET");
            end
        });
        assert_eq!(super::rfc3339(paris), "2026-12-12T22:59:59Z");
        assert_eq!(super::local_date(paris), "2026-12-12");
        assert!(super::end_of_local_day("2026-13-01").is_none());
    }
}
