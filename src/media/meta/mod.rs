//! What a file says about itself: EXIF, XMP and IPTC-IIM blocks found by the format modules,
//! parsed with bounds checks and merged into one cleaned [`Extracted`].
//!
//! Precedence for text follows the Metadata Working Group's guidance: XMP (what current tools
//! write and keep in sync), then IPTC-IIM, then EXIF. The capture time prefers EXIF, which the
//! camera wrote.
// Visible to `media`'s tests, which reuse their fixtures.
pub(super) mod exif;
pub(super) mod iptc;
pub(super) mod xmp;

use super::Extracted;

pub(crate) use iptc::photoshop_resources;
pub(crate) use xmp::from_document as xmp_from_document;

/// Longest kept text, in characters.
const MAX_TEXT: usize = 500;
/// Most keywords kept.
const MAX_KEYWORDS: usize = 50;
/// Longest kept keyword, in characters.
const MAX_KEYWORD: usize = 100;

/// What one metadata block says, uncleaned.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Found {
    pub title: Option<String>,
    pub description: Option<String>,
    pub keywords: Vec<String>,
    pub credit: Option<String>,
    /// Author/byline: the credit line when the file names no credit.
    pub creator: Option<String>,
    pub copyright: Option<String>,
    pub captured_at: Option<String>,
    pub camera: Option<String>,
    pub gps: Option<(f64, f64)>,
    /// EXIF orientation 1-8.
    pub orientation: Option<u16>,
}

/// Raw metadata blocks collected while reading a file.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    /// TIFF-structured EXIF ("II*\0" or "MM\0*" first).
    pub exif: Option<Vec<u8>>,
    /// An XMP packet (RDF/XML).
    pub xmp: Option<Vec<u8>>,
    /// IPTC-IIM records.
    pub iptc: Option<Vec<u8>>,
}

impl Sources {
    /// Takes the IPTC, XMP and EXIF blocks out of Photoshop image resources (a PSD's resource
    /// section, or a JPEG's APP13), keeping blocks already found.
    pub fn add_photoshop_resources(&mut self, resources: &[u8]) {
        let found = photoshop_resources(resources);
        self.iptc = self.iptc.take().or(found.iptc);
        self.xmp = self.xmp.take().or(found.xmp);
        self.exif = self.exif.take().or(found.exif);
    }

    /// Parses every block; returns the merged metadata and the EXIF orientation (1 if none).
    pub fn extract(&self) -> (Extracted, u16) {
        let exif = self.exif.as_deref().map(exif::parse).unwrap_or_default();
        let xmp = self.xmp.as_deref().map(xmp::parse).unwrap_or_default();
        let iptc = self.iptc.as_deref().map(iptc::parse).unwrap_or_default();
        let orientation = exif.orientation.unwrap_or(1);
        (merge(&[&xmp, &iptc, &exif], &exif), orientation)
    }
}

/// Merges sources in order of precedence for text; `camera` and `gps` exist only in EXIF.
pub(crate) fn merge(by_precedence: &[&Found], exif: &Found) -> Extracted {
    let first = |pick: fn(&Found) -> &Option<String>| {
        by_precedence
            .iter()
            .find_map(|found| pick(found).as_deref().and_then(clean_text))
    };
    let mut keywords: Vec<String> = Vec::new();
    for keyword in by_precedence.iter().flat_map(|f| f.keywords.iter()) {
        let Some(keyword) = clean_keyword(keyword) else {
            continue;
        };
        if keywords.len() < MAX_KEYWORDS
            && !keywords
                .iter()
                .any(|k| k.to_lowercase() == keyword.to_lowercase())
        {
            keywords.push(keyword);
        }
    }
    let captured_at = [exif]
        .into_iter()
        .chain(by_precedence.iter().copied())
        .find_map(|f| f.captured_at.clone());
    Extracted {
        title: first(|f| &f.title),
        description: first(|f| &f.description),
        keywords,
        credit: first(|f| &f.credit).or_else(|| first(|f| &f.creator)),
        copyright: first(|f| &f.copyright),
        captured_at,
        camera: exif.camera.as_deref().and_then(clean_text),
        gps: exif.gps,
    }
}

/// Trims, drops control characters (keeping line breaks in descriptions), drops empty
/// strings, caps the length.
pub(crate) fn clean_text(text: &str) -> Option<String> {
    let cleaned: String = text
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\t' || c == '\r' { ' ' } else { c })
        .filter(|&c| c == '\n' || !c.is_control())
        .take(MAX_TEXT * 2)
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(
        trimmed
            .chars()
            .take(MAX_TEXT)
            .collect::<String>()
            .trim_end()
            .to_string(),
    )
}

fn clean_keyword(keyword: &str) -> Option<String> {
    let one_line = keyword.replace(['\n', '\r', '\t'], " ");
    let cleaned = clean_text(&one_line)?;
    Some(
        cleaned
            .chars()
            .take(MAX_KEYWORD)
            .collect::<String>()
            .trim_end()
            .to_string(),
    )
}

/// Text in an unknown 8-bit encoding: UTF-8 when it is valid UTF-8, else Latin-1 (what older
/// IPTC and EXIF writers used).
pub(crate) fn decode_text(bytes: &[u8]) -> String {
    let bytes = match bytes.iter().position(|&b| b == 0) {
        Some(nul) => &bytes[..nul],
        None => bytes,
    };
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A wall-clock time with an optional UTC offset (minutes), as RFC 3339 UTC. Times without an
/// offset are taken as UTC: the file does not say where it was taken.
pub(crate) fn rfc3339_utc(
    date: (i32, u8, u8),
    time: (u8, u8, u8),
    offset_minutes: Option<i32>,
) -> Option<String> {
    let (year, month, day) = date;
    if !(1000..=9999).contains(&year) {
        return None;
    }
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    let clock = time::Time::from_hms(time.0, time.1, time.2).ok()?;
    let offset = time::UtcOffset::from_whole_seconds(offset_minutes.unwrap_or(0) * 60).ok()?;
    let utc = time::PrimitiveDateTime::new(date, clock)
        .assume_offset(offset)
        .to_offset(time::UtcOffset::UTC);
    utc.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_stripped_and_capped() {
        assert_eq!(clean_text("  Sunset\u{0}\u{7} "), Some("Sunset".into()));
        assert_eq!(clean_text(" \n\t "), None);
        assert_eq!(clean_text("a\r\nb"), Some("a\nb".into()));
        assert_eq!(
            clean_text(&"é".repeat(2000)).map(|s| s.chars().count()),
            Some(500)
        );
        assert_eq!(clean_keyword("two\nlines"), Some("two lines".into()));
    }

    #[test]
    fn xmp_wins_over_iptc_over_exif_and_keywords_merge() {
        let xmp = Found {
            title: Some("XMP title".into()),
            keywords: vec!["Beach".into(), "sun".into()],
            ..Found::default()
        };
        let iptc = Found {
            title: Some("IPTC title".into()),
            description: Some("IPTC caption".into()),
            keywords: vec!["beach".into(), "  ".into(), "sea".into()],
            creator: Some("Ann Byline".into()),
            ..Found::default()
        };
        let exif = Found {
            title: Some("EXIF description".into()),
            copyright: Some("(c) EXIF".into()),
            captured_at: Some("2020-01-02T03:04:05Z".into()),
            camera: Some("Canon EOS R5".into()),
            gps: Some((1.0, 2.0)),
            ..Found::default()
        };
        let merged = merge(&[&xmp, &iptc, &exif], &exif);
        assert_eq!(merged.title.as_deref(), Some("XMP title"));
        assert_eq!(merged.description.as_deref(), Some("IPTC caption"));
        assert_eq!(merged.keywords, vec!["Beach", "sun", "sea"]);
        assert_eq!(merged.credit.as_deref(), Some("Ann Byline"));
        assert_eq!(merged.copyright.as_deref(), Some("(c) EXIF"));
        assert_eq!(merged.captured_at.as_deref(), Some("2020-01-02T03:04:05Z"));
        assert_eq!(merged.gps, Some((1.0, 2.0)));
    }

    #[test]
    fn local_times_become_utc() {
        assert_eq!(
            rfc3339_utc((2021, 6, 30), (23, 30, 0), Some(-150)).as_deref(),
            Some("2021-07-01T02:00:00Z")
        );
        assert_eq!(
            rfc3339_utc((2021, 6, 30), (12, 0, 0), None).as_deref(),
            Some("2021-06-30T12:00:00Z")
        );
        assert_eq!(rfc3339_utc((2021, 2, 30), (0, 0, 0), None), None);
        assert_eq!(rfc3339_utc((0, 0, 0), (0, 0, 0), None), None);
    }

    #[test]
    fn eight_bit_text_falls_back_to_latin1() {
        assert_eq!(decode_text(b"caf\xE9\0junk"), "café");
        assert_eq!(decode_text("café".as_bytes()), "café");
    }
}
