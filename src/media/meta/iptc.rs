//! IPTC-IIM records and the Photoshop image resources ("8BIM" blocks) that carry them in PSD
//! files and JPEG APP13 segments. Both are length-prefixed binary; every length is checked
//! against what is left before it is used.
use super::{decode_text, rfc3339_utc, Found};

/// Photoshop resource ids.
const RESOURCE_IPTC: u16 = 0x0404;
const RESOURCE_EXIF: u16 = 0x0422;
const RESOURCE_XMP: u16 = 0x0424;

/// Metadata blocks found in Photoshop image resources.
#[derive(Debug, Default)]
pub(crate) struct Resources {
    pub iptc: Option<Vec<u8>>,
    pub exif: Option<Vec<u8>>,
    pub xmp: Option<Vec<u8>>,
}

/// Walks image resource blocks: signature "8BIM", id (u16), Pascal name padded to even length,
/// size (u32), data padded to even length. Stops quietly at the first damaged block.
pub(crate) fn photoshop_resources(mut data: &[u8]) -> Resources {
    let mut found = Resources::default();
    while data.len() >= 12 {
        let (signature, id) = (&data[..4], u16::from_be_bytes([data[4], data[5]]));
        let name_len = usize::from(data[6]);
        let name_total = (1 + name_len + 1) & !1; // length byte + name, padded to even
        let Some(size_at) = 6usize.checked_add(name_total) else {
            break;
        };
        let Some(size_bytes) = data.get(size_at..size_at + 4) else {
            break;
        };
        let size = u32::from_be_bytes([size_bytes[0], size_bytes[1], size_bytes[2], size_bytes[3]]);
        let start = size_at + 4;
        let Some(end) = usize::try_from(size)
            .ok()
            .and_then(|s| start.checked_add(s))
        else {
            break;
        };
        let Some(block) = data.get(start..end) else {
            break;
        };
        if signature == b"8BIM" {
            let slot = match id {
                RESOURCE_IPTC => Some(&mut found.iptc),
                RESOURCE_EXIF => Some(&mut found.exif),
                RESOURCE_XMP => Some(&mut found.xmp),
                _ => None,
            };
            if let Some(slot @ None) = slot {
                *slot = Some(block.to_vec());
            }
        }
        let next = end + (end - start) % 2;
        data = data.get(next..).unwrap_or_default();
    }
    found
}

/// Parses IPTC-IIM datasets (tag 0x1C, record, dataset, length, data).
pub(super) fn parse(mut data: &[u8]) -> Found {
    let mut found = Found::default();
    let (mut date, mut time) = (None, None);
    let mut utf8 = false;
    while data.len() >= 5 && data[0] == 0x1C {
        let (record, dataset) = (data[1], data[2]);
        let declared = u16::from_be_bytes([data[3], data[4]]);
        let mut start = 5;
        let len = if declared & 0x8000 == 0 {
            usize::from(declared)
        } else {
            // Extended dataset: the low bits say how many bytes hold the length.
            let n = usize::from(declared & 0x7FFF);
            let Some(bytes) = data.get(5..5 + n).filter(|_| n <= 4) else {
                break;
            };
            start += n;
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        let Some(value) = start.checked_add(len).and_then(|end| data.get(start..end)) else {
            break;
        };
        data = &data[start + len..];
        let text = || {
            if utf8 {
                String::from_utf8_lossy(value).into_owned()
            } else {
                decode_text(value)
            }
        };
        match (record, dataset) {
            // 1:90 coded character set: ESC % G announces UTF-8.
            (1, 90) => utf8 = value == b"\x1B%G",
            (2, 5) => found.title = found.title.or_else(|| Some(text())),
            (2, 25) => found.keywords.push(text()),
            (2, 55) => date = Some(text()),
            (2, 60) => time = Some(text()),
            (2, 80) => found.creator = found.creator.or_else(|| Some(text())),
            (2, 110) => found.credit = found.credit.or_else(|| Some(text())),
            (2, 116) => found.copyright = found.copyright.or_else(|| Some(text())),
            (2, 120) => found.description = found.description.or_else(|| Some(text())),
            _ => {}
        }
    }
    found.captured_at = date.and_then(|d| date_created(&d, time.as_deref()));
    found
}

/// 2:55 is CCYYMMDD; 2:60 is HHMMSS±HHMM.
fn date_created(date: &str, time: Option<&str>) -> Option<String> {
    let digits = |s: &str, range: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let day = (
        digits(date, 0..4)? as i32,
        digits(date, 4..6)? as u8,
        digits(date, 6..8)? as u8,
    );
    let Some(time) = time.filter(|t| t.len() >= 6) else {
        return rfc3339_utc(day, (0, 0, 0), None);
    };
    let clock = (
        digits(time, 0..2)? as u8,
        digits(time, 2..4)? as u8,
        digits(time, 4..6)? as u8,
    );
    let offset = match time.as_bytes().get(6) {
        Some(&sign @ (b'+' | b'-')) => {
            let minutes = digits(time, 7..9)? as i32 * 60 + digits(time, 9..11)? as i32;
            Some(if sign == b'-' { -minutes } else { minutes })
        }
        _ => None,
    };
    rfc3339_utc(day, clock, offset)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn dataset(record: u8, dataset: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1C, record, dataset];
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    /// IPTC-IIM records as photo desks write them, for tests elsewhere in `media` too.
    pub(crate) fn sample_iptc() -> Vec<u8> {
        [
            dataset(1, 90, b"\x1B%G"),
            dataset(2, 5, "Fjord".as_bytes()),
            dataset(2, 25, b"mountain"),
            dataset(2, 25, "fjörd".as_bytes()),
            dataset(2, 55, b"20180715"),
            dataset(2, 60, b"143000+0100"),
            dataset(2, 80, b"Per Byline"),
            dataset(2, 110, b"Nordic Pictures"),
            dataset(2, 116, b"(c) Nordic Pictures"),
            dataset(2, 120, b"A fjord in summer"),
        ]
        .concat()
    }

    /// Wraps blocks into Photoshop image resources.
    pub(crate) fn resource_block(id: u16, data: &[u8]) -> Vec<u8> {
        let mut out = b"8BIM".to_vec();
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&[0, 0]); // empty name, padded
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    #[test]
    fn reads_iim_datasets() {
        let found = parse(&sample_iptc());
        assert_eq!(found.title.as_deref(), Some("Fjord"));
        assert_eq!(found.keywords, vec!["mountain", "fjörd"]);
        assert_eq!(found.creator.as_deref(), Some("Per Byline"));
        assert_eq!(found.credit.as_deref(), Some("Nordic Pictures"));
        assert_eq!(found.copyright.as_deref(), Some("(c) Nordic Pictures"));
        assert_eq!(found.description.as_deref(), Some("A fjord in summer"));
        assert_eq!(found.captured_at.as_deref(), Some("2018-07-15T13:30:00Z"));
    }

    #[test]
    fn lying_lengths_stop_the_walk() {
        let mut data = dataset(2, 5, b"Kept");
        data.extend_from_slice(&[0x1C, 2, 120, 0x7F, 0xFF, b'x']);
        assert_eq!(parse(&data).title.as_deref(), Some("Kept"));
        assert_eq!(parse(&data).description, None);
        assert_eq!(parse(&[0x1C, 2, 5, 0x80, 0x09]).title, None);
        let mut resources = resource_block(0x0404, b"odd");
        resources.extend_from_slice(b"8BIM\x04\x24\0\0\xFF\xFF\xFF\xFF");
        let found = photoshop_resources(&resources);
        assert_eq!(found.iptc.as_deref(), Some(&b"odd"[..]));
        assert_eq!(found.xmp, None);
    }

    #[test]
    fn finds_blocks_behind_other_resources_and_names() {
        let mut named = b"8BIM\x03\xED\x03abc".to_vec(); // id 0x03ED with a 3-byte name
        named.extend_from_slice(&[0, 0, 0, 1, 7, 0]);
        let data = [
            named,
            resource_block(0x0424, b"<x/>"),
            resource_block(0x0404, b"i"),
        ]
        .concat();
        let found = photoshop_resources(&data);
        assert_eq!(found.xmp.as_deref(), Some(&b"<x/>"[..]));
        assert_eq!(found.iptc.as_deref(), Some(&b"i"[..]));
    }
}
