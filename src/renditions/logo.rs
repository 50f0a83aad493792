//! The brand's logo, drawn by the confined renderer: an uploaded file is never decoded by the
//! server. An SVG logo becomes the PNG the renderer draws (scripts, links and external
//! references cannot survive a raster), so no markup of the admin's is ever served; a PNG,
//! JPEG or WebP logo is kept as uploaded and only measured. What is measured (transparency, and
//! how light the drawn parts are) lets branding refuse a logo that would vanish on its header.
use super::WorkDir;
use crate::app::AppState;
use crate::error::AppError;
use crate::media;

/// Longest side the logo is drawn at: 32 px high in the header, sharp on 3× screens, and wide
/// wordmarks (up to 16:1) still have a readable height.
const LOGO_MAX: u32 = 512;

/// What the renderer made of an uploaded logo.
pub struct Drawn {
    /// The logo as drawn, PNG.
    pub png: Vec<u8>,
    /// Some pixel is not fully opaque: the header shows through.
    pub transparent: bool,
    /// How the drawn pixels' relative luminance is spread (`media` `Report::ink`); `None` when
    /// it draws nothing, or is opaque (then it carries its own background).
    pub ink: Option<Vec<u16>>,
}

/// Draws `bytes` (any format the renderer knows) as a PNG. Anything it cannot draw is a 415.
pub async fn draw(state: &AppState, bytes: &[u8]) -> Result<Drawn, AppError> {
    let failed =
        |e: &dyn std::fmt::Display| AppError::Internal(anyhow::anyhow!("drawing the logo: {e}"));
    let work = WorkDir::create(&state.config.data_dir).map_err(|e| failed(&e))?;
    let input = work.path().join("logo");
    let out = work.path().join("out");
    std::fs::write(&input, bytes).map_err(|e| failed(&e))?;
    std::fs::create_dir_all(&out).map_err(|e| failed(&e))?;
    let limits = media::Limits {
        // A logo is small: a file that claims more is not one.
        max_pixels: 50_000_000,
        ..media::Limits::default()
    };
    let format = media::Encoding::Png;
    let unusable = |why: String| {
        AppError::Unsupported(format!(
            "the logo must be a PNG, JPEG, WebP or SVG image that draws something ({why})"
        ))
    };
    let report = media::render_preset_in_child(
        &state.config.renderer,
        &input,
        &out,
        &limits,
        LOGO_MAX,
        format,
    )
    .await
    .map_err(|e| match e {
        media::MediaError::Failed(_) => failed(&e),
        other => unusable(other.to_string()),
    })?;
    if !report.rendered {
        return Err(unusable("not a picture the renderer knows".into()));
    }
    let png = std::fs::read(out.join(format.preset_file())).map_err(|e| failed(&e))?;
    if report.transparent && report.ink.is_none() {
        return Err(unusable("every pixel is transparent".into()));
    }
    Ok(Drawn {
        png,
        transparent: report.transparent,
        ink: report.ink.filter(|_| report.transparent),
    })
}
