//! What a file's first bytes say about it, for checks made while it arrives (an upload link's
//! delivery slots): the media type by magic bytes (`sniff`) and, for raster formats, the pixel
//! size as the header states it. Only headers are parsed, from a bounded buffer, by the same
//! memory-safe crates the renderer uses; no pixel is decoded, so this may run in the server's
//! own process (rendering never does, see `child`).
use std::io::Cursor;

use super::sniff::{sniff, Format};

/// How many leading bytes a probe wants: enough for a JPEG's start of frame after large EXIF,
/// XMP and ICC segments, and for a TIFF whose first directory follows a short preamble.
pub const HEAD: usize = 1024 * 1024;

/// A file's type and pixel size as read from its first bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// The sniffed media type (`image/jpeg` …; `video/*` for any container `sniff` calls
    /// video); `None` when no known format starts this way.
    pub media_type: Option<&'static str>,
    /// Width and height from the header; `None` when the format has none (PDF, SVG, video) or
    /// the header did not fit in the bytes given.
    pub size: Option<(u32, u32)>,
}

/// Probes the first bytes of a file (at most `HEAD` are looked at).
pub fn probe(head: &[u8]) -> Probe {
    let head = &head[..head.len().min(HEAD)];
    let Some(format) = sniff(head) else {
        return Probe::default();
    };
    let media_type = Some(media_type(format));
    // A header parser that panics on hostile input must not take the request down with it.
    let size = std::panic::catch_unwind(|| dimensions(format, head))
        .ok()
        .flatten();
    Probe { media_type, size }
}

fn media_type(format: Format) -> &'static str {
    match format {
        Format::Jpeg => "image/jpeg",
        Format::Png => "image/png",
        Format::Gif => "image/gif",
        Format::Webp => "image/webp",
        Format::Tiff => "image/tiff",
        Format::Bmp => "image/bmp",
        Format::Svg => "image/svg+xml",
        Format::Psd => "image/vnd.adobe.photoshop",
        Format::Pdf => "application/pdf",
        Format::Video => "video/*",
    }
}

fn dimensions(format: Format, head: &[u8]) -> Option<(u32, u32)> {
    let raster = |f: image::ImageFormat| {
        image::ImageReader::with_format(Cursor::new(head), f)
            .into_dimensions()
            .ok()
    };
    let found = match format {
        Format::Jpeg => {
            let mut d = jpeg_decoder::Decoder::new(Cursor::new(head));
            d.read_info().ok()?;
            d.info().map(|i| (u32::from(i.width), u32::from(i.height)))
        }
        Format::Png => raster(image::ImageFormat::Png),
        Format::Gif => raster(image::ImageFormat::Gif),
        Format::Webp => raster(image::ImageFormat::WebP),
        Format::Tiff => raster(image::ImageFormat::Tiff),
        Format::Bmp => raster(image::ImageFormat::Bmp),
        // PSD: height then width, big-endian, at bytes 14 and 18 of the file header.
        Format::Psd => {
            let be = |at: usize| {
                head.get(at..at + 4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            };
            Some((be(18)?, be(14)?))
        }
        Format::Svg | Format::Pdf | Format::Video => None,
    };
    found.filter(|&(w, h)| w > 0 && h > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::GrayImage::new(w, h);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn reads_type_and_size_from_the_header_only() {
        let file = png(2000, 10);
        let p = probe(&file[..64]);
        assert_eq!(p.media_type, Some("image/png"));
        assert_eq!(p.size, Some((2000, 10)));
    }

    #[test]
    fn a_name_or_a_claim_does_not_make_a_type() {
        assert_eq!(probe(b"just text, called hero.jpg").media_type, None);
        let p = probe(b"%PDF-1.7\n");
        assert_eq!((p.media_type, p.size), (Some("application/pdf"), None));
        // A JPEG cut before its frame header: the type, but no size.
        assert_eq!(probe(b"\xFF\xD8\xFF\xE0\x00\x10JFIF").size, None);
    }
}
