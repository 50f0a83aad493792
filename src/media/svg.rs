//! SVG through resvg, rasterised straight at preview size whatever size the file declares.
//!
//! An SVG is a document that can point elsewhere; here it cannot: `<image href>` resolves only
//! `data:` URLs (decoded by resvg after the same pixel limit is checked from their headers),
//! never files or network addresses; there is no resources directory; fonts are one vendored
//! DejaVu Sans loaded from memory (no system font scan); gzip-compressed SVGZ is not accepted
//! (sniffing never calls it SVG, and usvg is built without it). XML entities are expanded by
//! roxmltree, which has no external entities and caps references (billion laughs).
use std::sync::Arc;

use resvg::tiny_skia;
use resvg::usvg;

use super::meta;
use super::pixels::{self, Finish, Rgba};
use super::{read_error, Job, MediaError, Report};

/// Larger SVG files are refused: no legitimate logo or illustration needs more.
const MAX_SVG_BYTES: u64 = 50 * 1024 * 1024;

/// DejaVu Sans (Bitstream Vera derivative, free licence in static/fonts/), so text renders
/// the same on every server without reading system fonts.
pub(crate) static FONT: &[u8] = include_bytes!("../../static/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "DejaVu Sans";

pub(crate) fn render(job: &Job) -> Result<Report, MediaError> {
    let size = std::fs::metadata(job.input).map_err(read_error)?.len();
    if size > MAX_SVG_BYTES {
        return Err(MediaError::TooLarge(format!("SVG of {size} bytes")));
    }
    let data = std::fs::read(job.input).map_err(read_error)?;
    let text =
        std::str::from_utf8(&data).map_err(|_| MediaError::Corrupt("SVG is not UTF-8".into()))?;
    let max_pixels = job.limits.max_pixels;
    let options = options(max_pixels);
    let tree = usvg::Tree::from_str(text, &options)
        .map_err(|e| MediaError::Corrupt(format!("SVG: {e}")))?;

    let declared = tree.size();
    let (w, h) = (declared.width(), declared.height());
    let (pw, ph) = pixels::scale_to(w.ceil() as u32, h.ceil() as u32, job.box_max());
    let mut pixmap = tiny_skia::Pixmap::new(pw, ph)
        .ok_or_else(|| MediaError::Corrupt(format!("SVG of {w}x{h}")))?;
    // Drawn on transparent: whether the drawing leaves any of it is what offers the PNG and
    // WebP presets (and keeps a logo's background clear); JPEG outputs flatten it onto white.
    let transform = tiny_skia::Transform::from_scale(pw as f32 / w, ph as f32 / h);
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    let image = Rgba::from_premultiplied(pw, ph, pixmap.take())?;
    let transparent = image.is_transparent();
    let written = job.write_rgba(image, Finish::default())?;
    Ok(Report {
        rendered: true,
        transparent,
        width: Some(w.round() as u32),
        height: Some(h.round() as u32),
        preview: Some(written.preview),
        thumb: Some(written.thumb),
        meta: metadata(text),
        ..Report::default()
    })
}

/// Parsing options that keep the renderer inside the file.
fn options(max_pixels: u64) -> usvg::Options<'static> {
    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_font_data(FONT.to_vec());
    // Every generic family and the fallback resolve to the one font there is.
    fonts.set_serif_family(FONT_FAMILY);
    fonts.set_sans_serif_family(FONT_FAMILY);
    fonts.set_monospace_family(FONT_FAMILY);
    fonts.set_cursive_family(FONT_FAMILY);
    fonts.set_fantasy_family(FONT_FAMILY);
    let default_data = usvg::ImageHrefResolver::default_data_resolver();
    usvg::Options {
        resources_dir: None,
        font_family: FONT_FAMILY.to_string(),
        fontdb: Arc::new(fonts),
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: Box::new(move |mime, data, options| {
                // Embedded rasters are decoded by resvg without limits of its own.
                if raster_too_large(&data, max_pixels) {
                    return None;
                }
                default_data(mime, data, options)
            }),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    }
}

/// True when an embedded raster declares more pixels than allowed, or declares nothing
/// readable (then it is not decoded at all).
fn raster_too_large(data: &[u8], max_pixels: u64) -> bool {
    if data.starts_with(b"<") || data.starts_with(b"\xEF\xBB\xBF") {
        return false; // a nested SVG: parsed with these same options
    }
    let Some((w, h)) = embedded_dimensions(data) else {
        return true;
    };
    u64::from(w) * u64::from(h) > max_pixels
}

/// Width and height from a PNG, GIF, WebP or JPEG header.
fn embedded_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    if data.starts_with(b"\xFF\xD8") {
        let mut decoder = jpeg_decoder::Decoder::new(data);
        decoder.read_info().ok()?;
        let info = decoder.info()?;
        return Some((u32::from(info.width), u32::from(info.height)));
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .ok()?;
    reader.into_dimensions().ok()
}

/// `<title>` and `<desc>` of the root element, and RDF metadata (Dublin Core) if present.
fn metadata(text: &str) -> super::Extracted {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        nodes_limit: 1_000_000,
        // No resolver: external entities (file:, http:) resolve to nothing.
        ..Default::default()
    };
    let Ok(doc) = roxmltree::Document::parse_with_options(text, options) else {
        return super::Extracted::default();
    };
    let rdf = meta::xmp_from_document(&doc);
    let child_text = |name: &str| {
        doc.root_element()
            .children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .and_then(|c| c.text())
            .map(str::to_string)
    };
    let own = meta::Found {
        title: child_text("title"),
        description: child_text("desc"),
        ..meta::Found::default()
    };
    meta::merge(&[&rdf, &own], &meta::Found::default())
}
