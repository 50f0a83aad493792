//! PSD and PSB: the composite ("merged") image that Photoshop stores after the layers, read as a
//! stream and box-reduced while reading, so a 30000x30000 document costs a few preview-sized
//! planes, never the full image. Layers are skipped unread.
//!
//! File layout (Adobe Photoshop File Formats Specification): header (26 bytes); colour mode
//! data (u32 length); image resources (u32 length; IPTC, XMP, EXIF live here); layer and mask
//! information (u32, PSB u64 length); image data: compression (u16), then each channel's plane
//! in turn, raw or PackBits with a table of per-row byte counts (u16, PSB u32) first.
//! Supported: 8- and 16-bit greyscale and RGB, raw or PackBits. Others give a placeholder.
use std::fs::File;
use std::io::{BufReader, Read, Seek};

use super::meta::Sources;
use super::pixels::{Finish, Rgb};
use super::{read_error, Job, MediaError, Report};

/// Image resources larger than this are skipped (they hold thumbnails, paths, slices; the
/// metadata blocks are small).
const MAX_RESOURCES: u64 = 32 * 1024 * 1024;

const MODE_GRAYSCALE: u16 = 1;
const MODE_RGB: u16 = 3;

struct Header {
    /// PSB ("large document format") has 8-byte section lengths and 4-byte row counts.
    large: bool,
    channels: usize,
    width: u32,
    height: u32,
    depth: u16,
    mode: u16,
}

pub(crate) fn render(job: &Job) -> Result<Report, MediaError> {
    let file = File::open(job.input).map_err(read_error)?;
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let header = read_header(&mut reader)?;
    job.check_pixels(u64::from(header.width), u64::from(header.height))?;

    skip_section(&mut reader, false)?; // colour mode data
    let resources_len = read_u32(&mut reader)?;
    let mut sources = Sources::default();
    if u64::from(resources_len) <= MAX_RESOURCES {
        let mut resources = vec![0u8; resources_len as usize];
        reader.read_exact(&mut resources).map_err(read_error)?;
        sources.add_photoshop_resources(&resources);
    } else {
        reader
            .seek_relative(i64::from(resources_len))
            .map_err(read_error)?;
    }
    let (meta, _) = sources.extract();
    skip_section(&mut reader, header.large)?; // layers and masks
    let compression = read_u16(&mut reader)?;

    let mut report = Report {
        width: Some(header.width),
        height: Some(header.height),
        meta,
        ..Report::default()
    };
    let used = match header.mode {
        MODE_GRAYSCALE => 1,
        MODE_RGB => 3,
        _ => return Ok(report), // bitmap, indexed, CMYK, Lab, duotone: placeholder
    };
    if !matches!(header.depth, 8 | 16) || !matches!(compression, 0 | 1) || header.channels < used {
        return Ok(report);
    }
    let planes = read_planes(&mut reader, &header, used, compression == 1, job.box_max())?;
    let (rw, rh) = (planes[0].width, planes[0].height);
    let image = if used == 1 {
        Rgb::from_gray(rw, rh, &planes[0].out)?
    } else {
        let data = (0..planes[0].out.len())
            .flat_map(|i| [planes[0].out[i], planes[1].out[i], planes[2].out[i]])
            .collect();
        Rgb::new(rw, rh, data)?
    };
    let written = job.write(image, Finish::default())?;
    report.rendered = true;
    report.preview = Some(written.preview);
    report.thumb = Some(written.thumb);
    Ok(report)
}

fn read_header(reader: &mut impl Read) -> Result<Header, MediaError> {
    let mut h = [0u8; 26];
    reader.read_exact(&mut h).map_err(read_error)?;
    let u16_at = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let version = u16_at(4);
    if &h[..4] != b"8BPS" || !matches!(version, 1 | 2) {
        return Err(MediaError::Corrupt("not a PSD/PSB header".into()));
    }
    let header = Header {
        large: version == 2,
        channels: usize::from(u16_at(12)),
        height: u32_at(14),
        width: u32_at(18),
        depth: u16_at(22),
        mode: u16_at(24),
    };
    let max_side = if header.large { 300_000 } else { 30_000 };
    let sane = (1..=56).contains(&header.channels)
        && (1..=max_side).contains(&header.width)
        && (1..=max_side).contains(&header.height)
        && matches!(header.depth, 1 | 8 | 16 | 32);
    if !sane {
        return Err(MediaError::Corrupt(format!(
            "PSD header declares {} channels of {}x{} at {} bits",
            header.channels, header.width, header.height, header.depth
        )));
    }
    Ok(header)
}

/// Skips a length-prefixed section (u32, or u64 in PSB where `large`).
fn skip_section<R: Read + Seek>(reader: &mut BufReader<R>, large: bool) -> Result<(), MediaError> {
    let len = if large {
        let mut b = [0u8; 8];
        reader.read_exact(&mut b).map_err(read_error)?;
        u64::from_be_bytes(b)
    } else {
        u64::from(read_u32(reader)?)
    };
    let len = i64::try_from(len).map_err(|_| MediaError::Corrupt("section length".into()))?;
    // Seeking past the end succeeds; the next read then reports the truncation.
    reader.seek_relative(len).map_err(read_error)
}

fn read_u16(reader: &mut impl Read) -> Result<u16, MediaError> {
    let mut b = [0u8; 2];
    reader.read_exact(&mut b).map_err(read_error)?;
    Ok(u16::from_be_bytes(b))
}

fn read_u32(reader: &mut impl Read) -> Result<u32, MediaError> {
    let mut b = [0u8; 4];
    reader.read_exact(&mut b).map_err(read_error)?;
    Ok(u32::from_be_bytes(b))
}

/// Reads the first `used` channel planes, each reduced by an integer box factor on the way.
fn read_planes<R: Read + Seek>(
    reader: &mut BufReader<R>,
    header: &Header,
    used: usize,
    packbits: bool,
    box_max: u32,
) -> Result<Vec<Reducer>, MediaError> {
    let (w, h) = (header.width as usize, header.height as usize);
    let factor = (header.width.max(header.height) / box_max).max(1);
    let row_bytes = w * usize::from(header.depth / 8);
    let counts = if packbits {
        read_row_counts(reader, header, used)?
    } else {
        Vec::new()
    };
    let mut row = vec![0u8; row_bytes];
    let mut packed = Vec::new();
    let mut samples = vec![0u8; w];
    let mut planes = Vec::with_capacity(used);
    for channel in 0..used {
        let mut plane = Reducer::new(header.width, header.height, factor);
        for y in 0..h {
            if packbits {
                let count = counts[channel * h + y] as usize;
                // PackBits never needs more than one header byte per 128 bytes.
                if count > row_bytes + row_bytes.div_ceil(128) {
                    return Err(MediaError::Corrupt(format!(
                        "PSD row of {count} packed bytes"
                    )));
                }
                packed.resize(count, 0);
                reader.read_exact(&mut packed).map_err(read_error)?;
                unpack_bits(&packed, &mut row)?;
            } else {
                reader.read_exact(&mut row).map_err(read_error)?;
            }
            // 16-bit samples are big-endian: the high byte is the 8-bit value.
            let step = usize::from(header.depth / 8);
            for (s, v) in samples.iter_mut().zip(row.iter().step_by(step)) {
                *s = *v;
            }
            plane.push_row(&samples);
        }
        planes.push(plane);
    }
    Ok(planes)
}

/// The PackBits byte counts of every row of the first `used` channels; the other channels'
/// counts are skipped.
fn read_row_counts<R: Read + Seek>(
    reader: &mut BufReader<R>,
    header: &Header,
    used: usize,
) -> Result<Vec<u32>, MediaError> {
    let h = header.height as usize;
    let size = if header.large { 4 } else { 2 };
    let mut table = vec![0u8; used * h * size];
    reader.read_exact(&mut table).map_err(read_error)?;
    let counts = table
        .chunks_exact(size)
        .map(|c| match c {
            [a, b] => u32::from(u16::from_be_bytes([*a, *b])),
            [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
            _ => 0,
        })
        .collect();
    let rest = ((header.channels - used) * h * size) as i64;
    reader.seek_relative(rest).map_err(read_error)?;
    Ok(counts)
}

/// Decodes one PackBits row; the row must come out exactly full.
fn unpack_bits(packed: &[u8], row: &mut [u8]) -> Result<(), MediaError> {
    let corrupt = || MediaError::Corrupt("PSD PackBits row does not match the width".into());
    let (mut i, mut o) = (0usize, 0usize);
    while i < packed.len() {
        let n = packed[i] as i8;
        i += 1;
        if n >= 0 {
            let len = n as usize + 1;
            let src = packed.get(i..i + len).ok_or_else(corrupt)?;
            row.get_mut(o..o + len)
                .ok_or_else(corrupt)?
                .copy_from_slice(src);
            i += len;
            o += len;
        } else if n != -128 {
            let len = 1 - n as isize;
            let len = len as usize;
            let value = *packed.get(i).ok_or_else(corrupt)?;
            row.get_mut(o..o + len).ok_or_else(corrupt)?.fill(value);
            i += 1;
            o += len;
        }
    }
    if o == row.len() {
        Ok(())
    } else {
        Err(corrupt())
    }
}

/// Averages `factor` x `factor` boxes of a plane as its rows stream by.
struct Reducer {
    width: u32,
    height: u32,
    factor: usize,
    sums: Vec<u32>,
    rows_in_band: usize,
    rows_left: usize,
    full_width: usize,
    out: Vec<u8>,
}

impl Reducer {
    fn new(full_width: u32, full_height: u32, factor: u32) -> Reducer {
        let width = full_width.div_ceil(factor);
        let height = full_height.div_ceil(factor);
        Reducer {
            width,
            height,
            factor: factor as usize,
            sums: vec![0; width as usize],
            rows_in_band: 0,
            rows_left: full_height as usize,
            full_width: full_width as usize,
            out: Vec::with_capacity(width as usize * height as usize),
        }
    }

    fn push_row(&mut self, samples: &[u8]) {
        for (sum, chunk) in self.sums.iter_mut().zip(samples.chunks(self.factor)) {
            *sum += chunk.iter().map(|&v| u32::from(v)).sum::<u32>();
        }
        self.rows_in_band += 1;
        self.rows_left -= 1;
        if self.rows_in_band == self.factor || self.rows_left == 0 {
            for (x, sum) in self.sums.iter_mut().enumerate() {
                let cols = self.factor.min(self.full_width - x * self.factor);
                let count = (cols * self.rows_in_band) as u32;
                self.out.push(((*sum + count / 2) / count) as u8);
                *sum = 0;
            }
            self.rows_in_band = 0;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// PackBits-encodes a row the simple way: literal runs of up to 128 bytes.
    fn pack_literal(row: &[u8]) -> Vec<u8> {
        row.chunks(128)
            .flat_map(|c| std::iter::once((c.len() - 1) as u8).chain(c.iter().copied()))
            .collect()
    }

    /// A PSD as Photoshop writes it: RGB, 8-bit, PackBits composite, with image resources.
    pub(crate) fn build_psd(
        width: u32,
        height: u32,
        pixel: impl Fn(u32, u32) -> [u8; 3],
        resources: &[u8],
    ) -> Vec<u8> {
        let mut out = b"8BPS\0\x01\0\0\0\0\0\0\0\x03".to_vec();
        out.extend_from_slice(&height.to_be_bytes());
        out.extend_from_slice(&width.to_be_bytes());
        out.extend_from_slice(&8u16.to_be_bytes());
        out.extend_from_slice(&MODE_RGB.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes()); // colour mode data
        out.extend_from_slice(&(resources.len() as u32).to_be_bytes());
        out.extend_from_slice(resources);
        out.extend_from_slice(&4u32.to_be_bytes()); // layers: 4 bytes nobody reads
        out.extend_from_slice(b"junk");
        out.extend_from_slice(&1u16.to_be_bytes()); // PackBits
        let rows: Vec<Vec<u8>> = (0..3)
            .flat_map(|c| {
                let pixel = &pixel;
                (0..height).map(move |y| {
                    pack_literal(&(0..width).map(|x| pixel(x, y)[c]).collect::<Vec<u8>>())
                })
            })
            .collect();
        for row in &rows {
            out.extend_from_slice(&(row.len() as u16).to_be_bytes());
        }
        for row in &rows {
            out.extend_from_slice(row);
        }
        out
    }

    #[test]
    fn packbits_runs_and_literals() {
        let mut row = [0u8; 7];
        unpack_bits(&[0xFE, 9, 0x01, 1, 2, 0x80, 0xFF, 5], &mut row).unwrap();
        assert_eq!(row, [9, 9, 9, 1, 2, 5, 5]);
        assert!(
            unpack_bits(&[0x05, 1], &mut row).is_err(),
            "literal past the input"
        );
        assert!(
            unpack_bits(&[0xF0, 1], &mut row).is_err(),
            "run past the row"
        );
        assert!(unpack_bits(&[0x00, 1], &mut row).is_err(), "short row");
    }

    #[test]
    fn reducer_averages_boxes_including_ragged_edges() {
        let mut r = Reducer::new(3, 3, 2);
        r.push_row(&[0, 2, 9]);
        r.push_row(&[4, 6, 11]);
        r.push_row(&[1, 1, 7]);
        assert_eq!((r.width, r.height), (2, 2));
        assert_eq!(r.out, vec![3, 10, 1, 7]);
    }
}
