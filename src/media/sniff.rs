//! Format detection by magic bytes only: a file's name and declared type are the uploader's
//! claims, its first bytes are what a decoder will actually see.
use std::io::Read;
use std::path::Path;

use super::{read_error, MediaError};

/// Formats with a renderer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
    Svg,
    Psd,
    Pdf,
    Video,
}

impl Format {
    /// The name used in [`super::Report::format`].
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Webp => "webp",
            Format::Tiff => "tiff",
            Format::Bmp => "bmp",
            Format::Svg => "svg",
            Format::Psd => "psd",
            Format::Pdf => "pdf",
            Format::Video => "video",
        }
    }
}

/// How much of the file sniffing looks at: enough for an XML declaration, a comment and a
/// DOCTYPE before an `<svg` root, and for a PDF header after the 1 KiB of junk readers allow.
const HEAD: usize = 8192;

/// Sniffs a file by its first bytes.
pub(crate) fn sniff_file(path: &Path) -> Result<Option<Format>, MediaError> {
    let file = std::fs::File::open(path)
        .map_err(|e| MediaError::Failed(format!("cannot open the input: {e}")))?;
    let mut head = Vec::with_capacity(HEAD);
    file.take(HEAD as u64)
        .read_to_end(&mut head)
        .map_err(read_error)?;
    Ok(sniff(&head))
}

/// Sniffs the first bytes of a file.
pub(crate) fn sniff(head: &[u8]) -> Option<Format> {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"\xFF\xD8\xFF") {
        Some(Format::Jpeg)
    } else if at(0, b"\x89PNG\r\n\x1A\n") {
        Some(Format::Png)
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Some(Format::Gif)
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some(Format::Webp)
    } else if at(0, b"II*\0") || at(0, b"MM\0*") || at(0, b"II+\0") || at(0, b"MM\0+") {
        Some(Format::Tiff)
    } else if at(0, b"8BPS") {
        Some(Format::Psd)
    } else if is_bmp(head) {
        Some(Format::Bmp)
    } else if is_video(head) {
        Some(Format::Video)
    } else if is_svg(head) {
        Some(Format::Svg)
    } else if is_pdf(head) {
        Some(Format::Pdf)
    } else {
        None
    }
}

/// "BM" is only two bytes, so the DIB header size must be one of the known ones too.
fn is_bmp(head: &[u8]) -> bool {
    let dib = head
        .get(14..18)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    head.starts_with(b"BM") && matches!(dib, Some(12 | 40 | 52 | 56 | 64 | 108 | 124))
}

/// PDF readers accept the header anywhere in the first 1 KiB; Illustrator files since CS are PDFs.
fn is_pdf(head: &[u8]) -> bool {
    let window = &head[..head.len().min(1024 + 5)];
    window.windows(5).any(|w| w == b"%PDF-")
}

/// ISO BMFF (MP4, MOV, M4V, 3GP), Matroska/WebM, AVI. HEIF/AVIF and Canon CR3 share the ISO
/// container but are still images; they are left unknown rather than handed to ffmpeg.
fn is_video(head: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(4, b"ftyp") {
        const STILL_BRANDS: [&[u8; 4]; 11] = [
            b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif",
            b"avis", b"crx ",
        ];
        return head
            .get(8..12)
            .is_some_and(|brand| !STILL_BRANDS.iter().any(|b| b.as_slice() == brand));
    }
    // QuickTime files from before `ftyp` start with another top-level atom.
    let old_quicktime = [b"moov", b"mdat", b"wide", b"pnot"]
        .iter()
        .any(|atom| at(4, atom.as_slice()));
    old_quicktime || at(0, b"\x1A\x45\xDF\xA3") || (at(0, b"RIFF") && at(8, b"AVI "))
}

/// An SVG is XML whose root element is `svg`: skip a byte-order mark, whitespace, the XML
/// declaration, comments, processing instructions and a DOCTYPE, then expect `<svg`.
fn is_svg(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        rest = trim_start(rest);
        if rest.starts_with(b"<?") {
            rest = match after(rest, b"?>") {
                Some(r) => r,
                None => return false,
            };
        } else if rest.starts_with(b"<!--") {
            rest = match after(rest, b"-->") {
                Some(r) => r,
                None => return false,
            };
        } else if rest.starts_with(b"<!DOCTYPE") {
            // An internal subset ("[ ... ]") may contain '>' characters of its own.
            let end = match rest.iter().position(|&b| b == b'[' || b == b'>') {
                Some(i) if rest[i] == b'[' => after(rest, b"]>"),
                Some(i) => rest.get(i + 1..),
                None => None,
            };
            rest = match end {
                Some(r) => r,
                None => return false,
            };
        } else {
            return rest.starts_with(b"<svg")
                && rest
                    .get(4)
                    .is_some_and(|&b| b.is_ascii_whitespace() || b == b'>' || b == b'/');
        }
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

/// The bytes after the first occurrence of `needle`.
fn after<'a>(bytes: &'a [u8], needle: &[u8]) -> Option<&'a [u8]> {
    bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| &bytes[i + needle.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide_not_names() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1A\n...."), Some(Format::Png));
        assert_eq!(sniff(b"GIF89a.."), Some(Format::Gif));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI LIST"), Some(Format::Video));
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Some(Format::Tiff));
        assert_eq!(sniff(b"8BPS\0\x01"), Some(Format::Psd));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(Format::Pdf));
        assert_eq!(sniff(b"\0\0\0\x18ftypisom"), Some(Format::Video));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic"), None);
        assert_eq!(sniff(b"\x1A\x45\xDF\xA3\x9f"), Some(Format::Video));
        assert_eq!(sniff(b"BM"), None);
        assert_eq!(sniff(b"hello world"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn svg_is_found_behind_declaration_comment_and_doctype() {
        let svg = b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- made by hand -->\n\
            <!DOCTYPE svg [ <!ENTITY a \"b>\"> ]>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
        assert_eq!(sniff(svg), Some(Format::Svg));
        assert_eq!(sniff(b"<svg>"), Some(Format::Svg));
        assert_eq!(sniff(b"<svgfoo>"), None);
        assert_eq!(sniff(b"<html><svg></svg></html>"), None);
        assert_eq!(sniff(b"<!-- never closed <svg>"), None);
    }
}
