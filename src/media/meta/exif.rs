//! EXIF through kamadak-exif (bounds-checked, no allocation beyond the block it is given).
use exif::{Field, In, Reader, Tag, Value};

use super::{decode_text, rfc3339_utc, Found};

/// Parses a TIFF-structured EXIF block. Damaged blocks give what could be read.
pub(super) fn parse(data: &[u8]) -> Found {
    let exif = match Reader::new()
        .continue_on_error(true)
        .read_raw(data.to_vec())
        .or_else(|e| e.distill_partial_result(|_| {}))
    {
        Ok(exif) => exif,
        Err(_) => return Found::default(),
    };
    let field = |tag: Tag| exif.get_field(tag, In::PRIMARY);
    let text = |tag: Tag| field(tag).and_then(ascii);
    Found {
        title: text(Tag::ImageDescription),
        creator: text(Tag::Artist),
        copyright: text(Tag::Copyright),
        captured_at: captured_at(
            field(Tag::DateTimeOriginal).or_else(|| field(Tag::DateTimeDigitized)),
            field(Tag::OffsetTimeOriginal),
        ),
        camera: camera(text(Tag::Make), text(Tag::Model)),
        gps: gps(
            field(Tag::GPSLatitude),
            field(Tag::GPSLatitudeRef),
            field(Tag::GPSLongitude),
            field(Tag::GPSLongitudeRef),
        ),
        orientation: field(Tag::Orientation)
            .and_then(|f| f.value.get_uint(0))
            .and_then(|v| u16::try_from(v).ok())
            .filter(|v| (1..=8).contains(v)),
        ..Found::default()
    }
}

/// The first string of an ASCII field; EXIF says ASCII, cameras and tools write UTF-8 or
/// Latin-1.
fn ascii(field: &Field) -> Option<String> {
    match &field.value {
        Value::Ascii(parts) => parts.first().map(|p| decode_text(p)),
        // Windows tools sometimes store text as UNDEFINED bytes.
        Value::Undefined(bytes, _) => Some(decode_text(bytes)),
        _ => None,
    }
}

fn raw_ascii(field: Option<&Field>) -> Option<&[u8]> {
    match &field?.value {
        Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

fn captured_at(when: Option<&Field>, offset: Option<&Field>) -> Option<String> {
    let mut dt = exif::DateTime::from_ascii(raw_ascii(when)?).ok()?;
    if let Some(offset) = raw_ascii(offset) {
        let _ = dt.parse_offset(offset);
    }
    rfc3339_utc(
        (i32::from(dt.year), dt.month, dt.day),
        (dt.hour, dt.minute, dt.second),
        dt.offset.map(i32::from),
    )
}

/// "Make Model", without repeating the make when the model already starts with it
/// ("Canon" + "Canon EOS R5").
fn camera(make: Option<String>, model: Option<String>) -> Option<String> {
    let make = make.map(|m| m.trim().to_string()).filter(|m| !m.is_empty());
    let model = model
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    match (make, model) {
        (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
            Some(model)
        }
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (make, model) => make.or(model),
    }
}

fn gps(
    lat: Option<&Field>,
    lat_ref: Option<&Field>,
    lon: Option<&Field>,
    lon_ref: Option<&Field>,
) -> Option<(f64, f64)> {
    let lat = degrees(lat?)? * hemisphere(lat_ref, b'S');
    let lon = degrees(lon?)? * hemisphere(lon_ref, b'W');
    let valid = lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0;
    valid.then_some((lat, lon))
}

/// Degrees, minutes, seconds as three rationals.
fn degrees(field: &Field) -> Option<f64> {
    let Value::Rational(parts) = &field.value else {
        return None;
    };
    let part = |i: usize| {
        parts
            .get(i)
            .filter(|r| r.denom != 0)
            .map_or(0.0, |r| r.to_f64())
    };
    if parts.is_empty() || parts[0].denom == 0 {
        return None;
    }
    Some(part(0) + part(1) / 60.0 + part(2) / 3600.0)
}

fn hemisphere(reference: Option<&Field>, negative: u8) -> f64 {
    match raw_ascii(reference).and_then(|r| r.first()) {
        Some(&c) if c.eq_ignore_ascii_case(&negative) => -1.0,
        _ => 1.0,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use exif::experimental::Writer;
    use exif::Rational;

    /// A little EXIF block as cameras write it, for tests elsewhere in `media` too.
    pub(crate) fn sample_exif(orientation: u16) -> Vec<u8> {
        let ascii = |tag: Tag, text: &str| Field {
            tag,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![text.as_bytes().to_vec()]),
        };
        let rationals = |tag: Tag, v: [(u32, u32); 3]| Field {
            tag,
            ifd_num: In::PRIMARY,
            value: Value::Rational(
                v.iter()
                    .map(|&(num, denom)| Rational { num, denom })
                    .collect(),
            ),
        };
        let fields = vec![
            ascii(Tag::ImageDescription, "Harbour at dawn"),
            ascii(Tag::Artist, "Jo Photographer"),
            ascii(Tag::Copyright, "(c) 2021 Example Ltd"),
            ascii(Tag::Make, "Canon"),
            ascii(Tag::Model, "Canon EOS R5"),
            ascii(Tag::DateTimeOriginal, "2021:06:30 23:30:00"),
            ascii(Tag::OffsetTimeOriginal, "+02:00"),
            Field {
                tag: Tag::Orientation,
                ifd_num: In::PRIMARY,
                value: Value::Short(vec![orientation]),
            },
            rationals(Tag::GPSLatitude, [(48, 1), (51, 1), (2400, 100)]),
            ascii(Tag::GPSLatitudeRef, "N"),
            rationals(Tag::GPSLongitude, [(2, 1), (21, 1), (0, 1)]),
            ascii(Tag::GPSLongitudeRef, "W"),
        ];
        let mut writer = Writer::new();
        for field in &fields {
            writer.push_field(field);
        }
        let mut out = std::io::Cursor::new(Vec::new());
        writer.write(&mut out, false).expect("EXIF fixture");
        out.into_inner()
    }

    #[test]
    fn reads_what_cameras_write() {
        let found = parse(&sample_exif(6));
        assert_eq!(found.title.as_deref(), Some("Harbour at dawn"));
        assert_eq!(found.creator.as_deref(), Some("Jo Photographer"));
        assert_eq!(found.copyright.as_deref(), Some("(c) 2021 Example Ltd"));
        assert_eq!(found.camera.as_deref(), Some("Canon EOS R5"));
        assert_eq!(found.captured_at.as_deref(), Some("2021-06-30T21:30:00Z"));
        assert_eq!(found.orientation, Some(6));
        let (lat, lon) = found.gps.expect("gps");
        assert!((lat - 48.856_666).abs() < 1e-4, "{lat}");
        assert!((lon + 2.35).abs() < 1e-9, "{lon}");
    }

    #[test]
    fn garbage_gives_nothing() {
        assert_eq!(parse(b"II*\0\xFF\xFF\xFF\xFF"), Found::default());
        assert_eq!(parse(b""), Found::default());
    }

    #[test]
    fn make_is_not_repeated() {
        assert_eq!(
            camera(Some("NIKON CORPORATION".into()), Some("NIKON D850".into())).as_deref(),
            Some("NIKON CORPORATION NIKON D850")
        );
        assert_eq!(
            camera(Some("Apple".into()), Some("iPhone 15".into())).as_deref(),
            Some("Apple iPhone 15")
        );
        assert_eq!(camera(None, Some("X100V".into())).as_deref(), Some("X100V"));
    }
}
