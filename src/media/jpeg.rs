//! JPEG: decoded at reduced scale inside the IDCT (1/2, 1/4 or 1/8, the "shrink-on-load" that
//! makes libvips fast), so a 6000x4000 photo becomes 1500x1000 pixels without ever existing at
//! full size. The preview is made from those pixels, the thumbnail from the preview.
//!
//! jpeg-decoder was chosen over zune-jpeg after measuring a 6000x4000 q90 photo here: 125 ms
//! at 1/4 scale vs 220 ms for zune-jpeg 0.5, which only decodes at full size (its Huffman
//! decoding is ~15% faster, but the full-size IDCT, upsampling and colour conversion of 24 MP,
//! and the 72 MB buffer, outweigh it).
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};

use jpeg_decoder::{Decoder, PixelFormat};

use super::meta::Sources;
use super::pixels::{self, Finish, Rgb};
use super::{read_error, Job, MediaError, Report};

/// The decoded image's longest side stays at least this long (or the original's, if smaller),
/// so the preview is sharp; the largest DCT scale divisor that keeps it is used. 1400 lets a
/// 6000 px photo decode at 1/4 (a 1500 px preview) while a 2400 px one is decoded whole and
/// gets a full 1600 px preview rather than a 1200 px one.
const MIN_DECODED: u32 = 1400;

/// Metadata read from APPn segments is capped: a file may repeat them.
const MAX_METADATA: usize = 16 * 1024 * 1024;

/// Files up to this size are decoded from memory (the entropy decoder reads byte by byte; from
/// a slice that is ~4% faster than through a BufReader); larger ones are streamed.
const IN_MEMORY_MAX: u64 = 64 * 1024 * 1024;

pub(crate) fn render(job: &Job) -> Result<Report, MediaError> {
    let mut file = File::open(job.input).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size <= IN_MEMORY_MAX {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(read_error)?;
        render_from(Cursor::new(bytes), job)
    } else {
        render_from(BufReader::with_capacity(64 * 1024, file), job)
    }
}

fn render_from<R: BufRead + Seek>(mut reader: R, job: &Job) -> Result<Report, MediaError> {
    let sources = read_segments(&mut reader);
    reader.seek(SeekFrom::Start(0)).map_err(read_error)?;
    let (meta, orientation) = sources.extract();

    let mut decoder = Decoder::new(reader);
    match decoder.read_info() {
        Ok(()) => {}
        // Arithmetic coding, hierarchical files: rare and legal, shown as a placeholder.
        Err(jpeg_decoder::Error::Unsupported(_)) => {
            return Ok(Report {
                meta,
                ..Report::default()
            })
        }
        Err(e) => return Err(decode_error(e)),
    }
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::Corrupt("no frame header".into()))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    job.check_pixels(u64::from(width), u64::from(height))?;
    job.check_alloc(decode_bytes(&info))?;
    let upright = if orientation >= 5 {
        (height, width)
    } else {
        (width, height)
    };
    let mut report = Report {
        width: Some(upright.0),
        height: Some(upright.1),
        meta,
        ..Report::default()
    };

    let divisor = scale_divisor(width.max(height), min_decoded(job.output));
    let requested = (width.div_ceil(divisor), height.div_ceil(divisor));
    let (sw, sh) = decoder
        .scale(requested.0 as u16, requested.1 as u16)
        .map_err(decode_error)?;
    let decoded = match decoder.decode() {
        Ok(decoded) => decoded,
        Err(jpeg_decoder::Error::Unsupported(_)) => return Ok(report), // placeholder
        Err(e) => return Err(decode_error(e)),
    };
    let icc = decoder.icc_profile();
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let image = match info.pixel_format {
        PixelFormat::RGB24 => Rgb::new(sw, sh, decoded)?,
        PixelFormat::L8 => Rgb::from_gray(sw, sh, &decoded)?,
        PixelFormat::L16 => {
            let high: Vec<u8> = decoded
                .chunks_exact(2)
                .map(|v| (u16::from_ne_bytes([v[0], v[1]]) >> 8) as u8)
                .collect();
            Rgb::from_gray(sw, sh, &high)?
        }
        // jpeg-decoder undoes Adobe's inversion: these are ink amounts.
        PixelFormat::CMYK32 => pixels::cmyk_to_rgb(sw, sh, &decoded, icc.as_deref())?,
    };
    let rgb_icc = icc
        .as_deref()
        .filter(|_| info.pixel_format == PixelFormat::RGB24);
    let finish = Finish {
        orientation,
        icc: rgb_icc,
    };
    let written = job.write(image, finish)?;
    report.rendered = true;
    report.preview = Some(written.preview);
    report.thumb = Some(written.thumb);
    Ok(report)
}

/// The smallest longest side to decode at: renditions accept a 1400 px decode (see
/// `MIN_DECODED`); a preset needs its full size, so the resize only ever shrinks (the
/// "shrink-on-load, then reduce" that vipsthumbnail does).
fn min_decoded(output: super::Output) -> u32 {
    match output {
        super::Output::Renditions => MIN_DECODED,
        super::Output::Preset { max, .. } => max,
    }
}

/// The largest of 8, 4, 2 that keeps the longest side at `min` or more; 1 otherwise.
pub(crate) fn scale_divisor(longest: u32, min: u32) -> u32 {
    [8, 4, 2]
        .into_iter()
        .find(|d| longest.div_ceil(*d) >= min)
        .unwrap_or(1)
}

/// What decoding allocates at most: progressive files keep every coefficient of the full-size
/// image (2 bytes each, all components at full resolution in the worst case) until the end;
/// baseline files only the scaled output and a row of blocks.
fn decode_bytes(info: &jpeg_decoder::ImageInfo) -> u64 {
    let pixels = u64::from(info.width) * u64::from(info.height);
    let components = info.pixel_format.pixel_bytes() as u64;
    match info.coding_process {
        jpeg_decoder::CodingProcess::DctProgressive => pixels * components * 2,
        _ => pixels * components / 4,
    }
}

fn decode_error(e: jpeg_decoder::Error) -> MediaError {
    match e {
        jpeg_decoder::Error::Io(e) => read_error(e),
        jpeg_decoder::Error::Format(msg) => MediaError::Corrupt(msg),
        jpeg_decoder::Error::Unsupported(feature) => {
            MediaError::Corrupt(format!("unsupported JPEG feature: {feature:?}"))
        }
        other => MediaError::Corrupt(other.to_string()),
    }
}

/// Collects EXIF (APP1 "Exif"), XMP (APP1 Adobe namespace) and IPTC (APP13 Photoshop
/// resources) from the segments before the first scan. A damaged header ends the walk quietly:
/// the decoder reports the damage.
fn read_segments<R: BufRead + Seek>(reader: &mut R) -> Sources {
    const EXIF: &[u8] = b"Exif\0\0";
    const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
    const PHOTOSHOP: &[u8] = b"Photoshop 3.0\0";
    let mut sources = Sources::default();
    let mut photoshop = Vec::new();
    let mut collected = 0usize;
    let mut byte = [0u8; 1];
    let mut soi = [0u8; 2];
    if reader.read_exact(&mut soi).is_err() || soi != [0xFF, 0xD8] {
        return sources;
    }
    loop {
        // Markers are 0xFF, optional fill bytes 0xFF, then the marker code.
        if reader.read_exact(&mut byte).is_err() || byte[0] != 0xFF {
            break;
        }
        let marker = loop {
            if reader.read_exact(&mut byte).is_err() {
                return finish_sources(sources, photoshop);
            }
            if byte[0] != 0xFF {
                break byte[0];
            }
        };
        match marker {
            0xDA | 0xD9 => break,           // start of scan, end of image
            0x01 | 0xD0..=0xD7 => continue, // no length
            _ => {}
        }
        let mut len = [0u8; 2];
        if reader.read_exact(&mut len).is_err() {
            break;
        }
        let Some(len) = usize::from(u16::from_be_bytes(len)).checked_sub(2) else {
            break;
        };
        let wanted = matches!(marker, 0xE1 | 0xED) && collected + len <= MAX_METADATA;
        if !wanted {
            if reader.seek(SeekFrom::Current(len as i64)).is_err() {
                break;
            }
            continue;
        }
        let mut payload = vec![0u8; len];
        if reader.read_exact(&mut payload).is_err() {
            break;
        }
        collected += len;
        if marker == 0xE1 && payload.starts_with(EXIF) && sources.exif.is_none() {
            sources.exif = Some(payload[EXIF.len()..].to_vec());
        } else if marker == 0xE1 && payload.starts_with(XMP) && sources.xmp.is_none() {
            sources.xmp = Some(payload[XMP.len()..].to_vec());
        } else if marker == 0xED && payload.starts_with(PHOTOSHOP) {
            // Resources too big for one segment continue in the next APP13.
            photoshop.extend_from_slice(&payload[PHOTOSHOP.len()..]);
        }
    }
    finish_sources(sources, photoshop)
}

fn finish_sources(mut sources: Sources, photoshop: Vec<u8>) -> Sources {
    if !photoshop.is_empty() {
        sources.add_photoshop_resources(&photoshop);
    }
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_decode_at_least_their_size() {
        assert_eq!(scale_divisor(6000, 1600), 2);
        assert_eq!(scale_divisor(6000, 3000), 2);
        assert_eq!(scale_divisor(6000, 800), 4);
        assert_eq!(scale_divisor(2000, 3000), 1);
    }

    #[test]
    fn scale_keeps_at_least_1400_pixels() {
        assert_eq!(scale_divisor(6000, MIN_DECODED), 4);
        assert_eq!(scale_divisor(11200, MIN_DECODED), 8);
        assert_eq!(scale_divisor(11193, MIN_DECODED), 8);
        assert_eq!(scale_divisor(11192, MIN_DECODED), 4);
        assert_eq!(scale_divisor(5600, MIN_DECODED), 4);
        assert_eq!(scale_divisor(5597, MIN_DECODED), 4);
        assert_eq!(scale_divisor(5596, MIN_DECODED), 2);
        assert_eq!(scale_divisor(2800, MIN_DECODED), 2);
        assert_eq!(scale_divisor(2799, MIN_DECODED), 2);
        assert_eq!(scale_divisor(2798, MIN_DECODED), 1);
        assert_eq!(scale_divisor(2400, MIN_DECODED), 1);
        assert_eq!(scale_divisor(800, MIN_DECODED), 1);
    }
}
