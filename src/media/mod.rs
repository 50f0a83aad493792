//! Media: turns any uploaded file into a thumbnail and a preview, and reads what the file says
//! about itself (SPEC §1 Renditions and Metadata, §6 Bad input).
//!
//! Every file is hostile. The format is chosen by magic bytes (`sniff`), never by name or
//! declared type; decoders are memory-safe Rust crates whose pixel and allocation limits are
//! checked from the header before anything large is allocated; PDF and video go to external
//! renderers (`pdftoppm`, `ffmpeg`) only as separate processes with a timeout (`external`).
//! The server never decodes in its own process: it calls [`render_in_child`], which runs the
//! hidden `assetport render` subcommand under rlimits, in a network namespace of its own and,
//! with Landlock, able to read only its input (`child`, `external`, `landlock`). A file no
//! renderer understands gives `Report { rendered: false, .. }`, a placeholder, never an error.
//!
//! ```text
//! render_file ── sniff ──┬─ jpeg    (reduced-scale DCT decode)  ─┐
//!                        ├─ raster  (png gif webp tiff bmp)     ─┤
//!                        ├─ psd     (streamed composite)        ─┼─ pixels: fit, orient,
//!                        ├─ svg     (resvg, no file/net/fonts)  ─┤   encode thumb + preview
//!                        ├─ pdf     (pdftoppm, child process)   ─┤
//!                        └─ video   (ffmpeg, child process)     ─┘
//!           meta: EXIF + XMP + IPTC → Extracted
//! ```
use std::path::Path;
use std::time::Duration;

mod child;
mod external;
mod jpeg;
mod landlock;
mod meta;
mod pdf;
mod pixels;
pub mod probe;
mod psd;
mod raster;
mod sniff;
mod svg;
mod video;

pub use child::{render_in_child, render_preset_in_child, run_render_command};
/// The size a picture is fitted to (never enlarged): what a preset's menu promises is what
/// the renderer makes.
pub(crate) use pixels::fit;
/// The size a vector is drawn at for a box of `max`: vectors have no pixels of their own, so
/// they fill the box (what the SVG renderer does).
pub(crate) use pixels::scale_to;

/// Longest side of a thumbnail, in pixels.
pub const THUMB_MAX: u32 = 320;
/// Longest side of a preview, in pixels: a maximum, not an exact size (a JPEG decoded at 1/4
/// scale gives e.g. a 1500 px preview rather than a second, lossy resize).
pub const PREVIEW_MAX: u32 = 1600;

/// What one render writes into its output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// `thumb.jpg` and `preview.jpg`: what the renditions job keeps for every version.
    #[default]
    Renditions,
    /// `preset.jpg` (`.png`, `.webp`): the picture fitted into `max` × `max` pixels (never
    /// enlarged), for a download preset (`renditions::presets`) or the brand's logo. PNG and
    /// WebP keep the source's transparency; JPEG flattens it onto white.
    Preset { max: u32, format: Encoding },
}

/// How a preset is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Jpeg,
    Png,
    /// Lossless WebP (the encoder the `image` crate has; transparency kept exactly).
    Webp,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Jpeg => "jpeg",
            Encoding::Png => "png",
            Encoding::Webp => "webp",
        }
    }

    pub fn parse(s: &str) -> Option<Encoding> {
        [Encoding::Jpeg, Encoding::Png, Encoding::Webp]
            .into_iter()
            .find(|e| e.name() == s)
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Encoding::Jpeg => "image/jpeg",
            Encoding::Png => "image/png",
            Encoding::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Jpeg => "jpg",
            Encoding::Png => "png",
            Encoding::Webp => "webp",
        }
    }

    /// The file a preset render of this encoding writes in its output directory.
    pub fn preset_file(self) -> &'static str {
        match self {
            Encoding::Jpeg => "preset.jpg",
            Encoding::Png => "preset.png",
            Encoding::Webp => "preset.webp",
        }
    }

    /// Whether the encoding carries an alpha channel.
    pub fn keeps_alpha(self) -> bool {
        self != Encoding::Jpeg
    }
}

impl Output {
    /// The longest side the decoded pixels are fitted into.
    pub fn box_max(self) -> u32 {
        match self {
            Output::Renditions => PREVIEW_MAX,
            Output::Preset { max, .. } => max,
        }
    }

    /// Whether decoders should keep transparency rather than flatten it.
    pub fn keeps_alpha(self) -> bool {
        matches!(self, Output::Preset { format, .. } if format.keeps_alpha())
    }
}

/// What rendering one file produced and found.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Report {
    /// Detected by magic bytes: "jpeg", "png", "gif", "webp", "tiff", "bmp", "svg", "psd",
    /// "pdf", "video"; `None` when unknown.
    pub format: Option<String>,
    /// True when thumb.jpg and preview.jpg were written into the output directory.
    pub rendered: bool,
    /// Size of the original (after EXIF orientation); PDF: the first page in points.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// PDF/AI page count.
    pub pages: Option<u32>,
    /// Video duration, when a probe exists.
    pub duration_ms: Option<u64>,
    /// Sizes written.
    pub thumb: Option<(u32, u32)>,
    /// True when some pixel of the picture is not fully opaque (PNG, WebP, GIF, TIFF with
    /// alpha, SVG): such pictures also offer the PNG and WebP presets.
    #[serde(default)]
    pub transparent: bool,
    /// For PNG and WebP presets of such pictures: how their visible pixels' relative luminance
    /// is spread (`pixels::ink`, thousandths per step), so a logo that would vanish on a header
    /// is caught.
    #[serde(default)]
    pub ink: Option<Vec<u16>>,
    pub preview: Option<(u32, u32)>,
    pub meta: Extracted,
}

/// Descriptive metadata found in the file (EXIF, XMP, IPTC-IIM, PDF info), cleaned: trimmed,
/// no control characters, no empty strings, lengths capped.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Extracted {
    pub title: Option<String>,
    pub description: Option<String>,
    pub keywords: Vec<String>,
    pub credit: Option<String>,
    pub copyright: Option<String>,
    /// RFC 3339 UTC, when the file says when it was taken.
    pub captured_at: Option<String>,
    /// "Make Model".
    pub camera: Option<String>,
    /// Latitude, longitude. Admins only: callers hide it from members and links.
    pub gps: Option<(f64, f64)>,
}

/// Why a file could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Pixel or allocation limits, decompression bombs.
    #[error("image too large: {0}")]
    TooLarge(String),
    #[error("file is damaged or lies about its contents: {0}")]
    Corrupt(String),
    #[error("rendering took longer than {0:?}")]
    Timeout(Duration),
    /// A crash, a process killed by a limit, I/O.
    #[error("renderer failed: {0}")]
    Failed(String),
}

impl MediaError {
    /// True when retrying the same file cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            MediaError::TooLarge(_) | MediaError::Corrupt(_) | MediaError::Timeout(_)
        )
    }
}

/// The vendored DejaVu Sans (static/fonts/), the one font SVG text renders with; shared with
/// anything else that draws text (watermarks) so no code reads system fonts.
pub fn font() -> &'static [u8] {
    svg::FONT
}

/// Resource limits for one render.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted width × height of a raster image.
    pub max_pixels: u64,
    /// Address space of the render process (RLIMIT_AS); decoders refuse earlier from headers.
    pub max_bytes_alloc: u64,
    /// Wall-clock limit of one render, external renderers included.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pixels: 200_000_000,
            max_bytes_alloc: 1536 * 1024 * 1024,
            timeout: Duration::from_secs(60),
        }
    }
}

/// In-process: sniffs `input` by magic bytes, decodes it under `limits`, writes
/// `out_dir/thumb.jpg` and `out_dir/preview.jpg` (JPEG, sRGB, alpha flattened onto white) and
/// extracts metadata. Unknown formats and absent external renderers give
/// `Ok(Report { rendered: false, .. })`. A decoder panic becomes [`MediaError::Failed`].
pub fn render_file(input: &Path, out_dir: &Path, limits: &Limits) -> Result<Report, MediaError> {
    render_file_as(input, out_dir, limits, Output::Renditions)
}

/// [`render_file`], writing `output` (renditions, or one preset's picture, whose size the
/// report's `preview` gives).
pub fn render_file_as(
    input: &Path,
    out_dir: &Path,
    limits: &Limits,
    output: Output,
) -> Result<Report, MediaError> {
    let Some(format) = sniff::sniff_file(input)? else {
        return Ok(Report::default());
    };
    let job = Job {
        input,
        out_dir,
        limits,
        deadline: std::time::Instant::now() + limits.timeout,
        output,
        ink: std::cell::Cell::new(None),
    };
    // Decoders are fuzzed but not proven: a panic on hostile input must cost this file, never
    // the caller (in-process tests, or the render child that reports it as "failed").
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(format, &job)));
    let mut report = match outcome {
        Ok(result) => result?,
        Err(_) => {
            pixels::remove_renditions(out_dir);
            return Err(MediaError::Failed(format!(
                "the {} decoder panicked",
                format.name()
            )));
        }
    };
    report.format = Some(format.name().to_string());
    report.ink = job.ink.take();
    Ok(report)
}

/// One render's inputs, passed to each format's module.
pub(crate) struct Job<'a> {
    pub input: &'a Path,
    pub out_dir: &'a Path,
    pub limits: &'a Limits,
    /// External renderers get what is left of `limits.timeout`.
    pub deadline: std::time::Instant,
    pub output: Output,
    /// Set by [`Job::write_rgba`] when it kept the alpha (`Report::ink`).
    pub ink: std::cell::Cell<Option<Vec<u16>>>,
}

impl Job<'_> {
    /// The longest side decoders should aim for (they may decode larger and leave the rest to
    /// [`Job::write`]).
    pub fn box_max(&self) -> u32 {
        self.output.box_max()
    }

    /// Writes what this render is for from the decoded pixels.
    pub fn write(
        &self,
        image: pixels::Rgb,
        finish: pixels::Finish,
    ) -> Result<pixels::Written, MediaError> {
        match self.output {
            Output::Renditions => pixels::write_renditions(image, finish, self.out_dir),
            Output::Preset { max, format } => pixels::write_preset(
                pixels::Picture::Rgb(image),
                finish,
                max,
                format,
                self.out_dir,
            ),
        }
    }

    /// [`Job::write`] for pixels with straight alpha: kept where the output keeps alpha,
    /// flattened onto white otherwise.
    pub fn write_rgba(
        &self,
        image: pixels::Rgba,
        finish: pixels::Finish,
    ) -> Result<pixels::Written, MediaError> {
        match self.output {
            Output::Preset { max, format } if format.keeps_alpha() => {
                let written = pixels::write_preset(
                    pixels::Picture::Rgba(image),
                    finish,
                    max,
                    format,
                    self.out_dir,
                )?;
                self.ink.set(written.ink.clone());
                Ok(written)
            }
            _ => self.write(image.on_white()?, finish),
        }
    }

    /// Refuses a raster of `width` × `height` beyond `max_pixels`, before anything is allocated.
    pub fn check_pixels(&self, width: u64, height: u64) -> Result<(), MediaError> {
        let pixels = width.saturating_mul(height);
        if width == 0 || height == 0 {
            return Err(MediaError::Corrupt(format!(
                "image declares {width}x{height} pixels"
            )));
        }
        if pixels > self.limits.max_pixels {
            return Err(MediaError::TooLarge(format!(
                "{width}x{height} pixels is more than the limit of {} pixels",
                self.limits.max_pixels
            )));
        }
        Ok(())
    }

    /// Refuses a decode that would need more than about half of the address-space limit (the
    /// rest is for the conversions and renditions that follow).
    pub fn check_alloc(&self, bytes: u64) -> Result<(), MediaError> {
        if bytes > self.limits.max_bytes_alloc / 2 {
            return Err(MediaError::TooLarge(format!(
                "decoding needs {} MiB, more than the limit allows",
                bytes / (1024 * 1024)
            )));
        }
        Ok(())
    }

    /// Time left for an external renderer; an error once the deadline has passed.
    pub fn remaining(&self) -> Result<Duration, MediaError> {
        self.deadline
            .checked_duration_since(std::time::Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(MediaError::Timeout(self.limits.timeout))
    }
}

fn dispatch(format: sniff::Format, job: &Job) -> Result<Report, MediaError> {
    use sniff::Format;
    match format {
        Format::Jpeg => jpeg::render(job),
        Format::Png | Format::Gif | Format::Webp | Format::Tiff | Format::Bmp => {
            raster::render(format, job)
        }
        Format::Svg => svg::render(job),
        Format::Psd => psd::render(job),
        Format::Pdf => pdf::render(job),
        Format::Video => video::render(job),
    }
}

/// Maps an I/O error while reading an input: a short read means the file is truncated.
pub(crate) fn read_error(e: std::io::Error) -> MediaError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        MediaError::Corrupt("the file ends early".into())
    } else {
        MediaError::Failed(format!("reading the file: {e}"))
    }
}

#[cfg(test)]
mod tests;
