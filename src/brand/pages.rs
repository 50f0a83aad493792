//! `/admin/branding` (the form), `/brand.css`, and the uploaded images.
use askama::Template;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{contrast_with_white, rgb, Brand, Header, Image};
use crate::accounts::PageAdmin;
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

const LOGO_MAX: usize = 1024 * 1024;
const BACKGROUND_MAX: usize = 8 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/branding",
            get(branding_page)
                .post(save_branding)
                .layer(DefaultBodyLimit::max(LOGO_MAX + BACKGROUND_MAX + 64 * 1024)),
        )
        .route("/brand.css", get(stylesheet))
        .route("/brand/logo", get(logo))
        .route("/brand/background", get(background))
}

#[derive(Template)]
#[template(path = "admin/branding.html")]
struct BrandingPage {
    layout: Layout,
    form: Brand,
    headers: [Header; 3],
    error: Option<String>,
}

async fn branding_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    let form = super::load(&state.db).await?;
    let page = BrandingPage {
        layout: Layout::for_user("Branding", &me, "branding"),
        form,
        headers: Header::ALL,
        error: None,
    };
    Ok(render(&page)?.into_response())
}

/// What the form sent, before checks.
#[derive(Default)]
struct Sent {
    name: String,
    accent: String,
    mail_footer: String,
    /// Absent (an older form, a script): the header stays as it was.
    header: Option<String>,
    tagline: Option<String>,
    logo: Option<Vec<u8>>,
    background: Option<Vec<u8>>,
    remove_logo: bool,
    remove_background: bool,
}

/// Reads the multipart form, refusing oversized images as they arrive.
async fn read_form(mut multipart: Multipart) -> Result<Sent, AppError> {
    let mut sent = Sent::default();
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge("the images are larger than allowed".into())
        } else {
            AppError::BadRequest(format!("the form could not be read: {e}"))
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "logo" | "background" => {
                let max = if name == "logo" {
                    LOGO_MAX
                } else {
                    BACKGROUND_MAX
                };
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if bytes.len() + chunk.len() > max {
                        return Err(AppError::TooLarge(format!(
                            "the {name} image is limited to {} MiB",
                            max / (1024 * 1024)
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                // An empty file input sends an empty part: no new image.
                if !bytes.is_empty() {
                    if name == "logo" {
                        sent.logo = Some(bytes);
                    } else {
                        sent.background = Some(bytes);
                    }
                }
            }
            _ => {
                let text = field.text().await.map_err(bad)?;
                match name.as_str() {
                    "name" => sent.name = text,
                    "accent" => sent.accent = text,
                    "mail_footer" => sent.mail_footer = text,
                    "header" => sent.header = Some(text),
                    "tagline" => sent.tagline = Some(text),
                    "remove_logo" => sent.remove_logo = true,
                    "remove_background" => sent.remove_background = true,
                    _ => {}
                }
            }
        }
    }
    Ok(sent)
}

/// The content type of a PNG, JPEG or WebP image, by its first bytes; anything else
/// (HTML, …) is refused: these images are served from the portal's own origin. SVG logos are
/// never served as SVG: the renderer draws them as PNG (`renditions::logo`).
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// Checks every field; the brand changes only if all of them pass.
fn checked(sent: &Sent, old: &Brand) -> Result<Brand, AppError> {
    let name = sent.name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "the portal name needs 1 to 60 characters, without control characters".into(),
        ));
    }
    let accent = sent.accent.trim().to_lowercase();
    if rgb(&accent).is_none() {
        return Err(AppError::BadRequest(
            "the accent colour must look like #1a2b3c".into(),
        ));
    }
    let contrast = contrast_with_white(&accent).unwrap_or(0.0);
    if contrast < 4.5 {
        return Err(AppError::Unprocessable(format!(
            "white text on {accent} has a contrast of {contrast:.1}:1; pick a darker colour (at least 4.5:1) so buttons stay readable"
        )));
    }
    let footer = sent.mail_footer.replace("\r\n", "\n");
    if footer.chars().count() > 1000 {
        return Err(AppError::BadRequest(
            "the email footer is limited to 1000 characters".into(),
        ));
    }
    if let Some(b) = &sent.background {
        if image_type(b).is_none() {
            return Err(AppError::Unsupported(
                "the background must be a PNG, JPEG or WebP image".into(),
            ));
        }
    }
    if let Some(b) = &sent.logo {
        if image_type(b).is_none() && !looks_like_svg(b) {
            return Err(AppError::Unsupported(
                "the logo must be a PNG, JPEG, WebP or SVG image".into(),
            ));
        }
    }
    let header = match sent.header.as_deref() {
        None => old.header,
        Some(h) => Header::parse(h.trim()).ok_or_else(|| {
            AppError::BadRequest("the header style is one of dark, light, accent".into())
        })?,
    };
    let tagline = match &sent.tagline {
        None => old.tagline.clone(),
        Some(t) => {
            let t = t.trim();
            if t.chars().count() > 120 || t.chars().any(char::is_control) {
                return Err(AppError::BadRequest(
                    "the tagline is one line of at most 120 characters".into(),
                ));
            }
            t.to_string()
        }
    };
    Ok(Brand {
        name: name.to_string(),
        accent,
        logo: if sent.remove_logo {
            None
        } else {
            old.logo.clone()
        },
        background: if sent.remove_background {
            None
        } else {
            old.background.clone()
        },
        mail_footer: footer.trim_end().to_string(),
        header,
        tagline,
        mail_templates: old.mail_templates.clone(),
    })
}

/// The settings as the refused form sent them, for showing it again: what cannot be read
/// stays as saved.
fn as_sent(sent: &Sent, old: &Brand) -> Brand {
    Brand {
        name: sent.name.clone(),
        accent: Some(sent.accent.trim().to_lowercase())
            .filter(|a| rgb(a).is_some())
            .unwrap_or_else(|| old.accent.clone()),
        mail_footer: sent.mail_footer.clone(),
        header: sent
            .header
            .as_deref()
            .and_then(|h| Header::parse(h.trim()))
            .unwrap_or(old.header),
        tagline: sent.tagline.clone().unwrap_or_else(|| old.tagline.clone()),
        ..old.clone()
    }
}

/// An SVG document by its start (a BOM, blanks, an XML declaration or comments, then `<svg`
/// within the first KiB): the renderer's sniffing decides for good.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
    let head = head.trim_start_matches('\u{feff}').trim_start();
    head.starts_with('<') && head.contains("<svg")
}

/// Refuses a transparent logo that would hardly show on the chosen header (a black wordmark on
/// the dark bar, a white one on the light bar): at least a quarter of its drawn pixels must
/// stand out at 3:1 (WCAG's contrast for graphics) against the bar.
fn visible(brand: &Brand) -> Result<(), AppError> {
    let levels = match &brand.logo {
        Some(l) if !l.ink_levels.is_empty() => &l.ink_levels,
        _ => return Ok(()),
    };
    let bar = super::luminance(brand.header.background(&brand.accent)).unwrap_or(0.0);
    let step = 1.0 / levels.len() as f64;
    let centre = |i: usize| (i as f64 + 0.5) * step;
    let standing_out: u32 = levels
        .iter()
        .enumerate()
        .filter(|(i, _)| super::contrast(centre(*i), bar) >= 3.0)
        .map(|(_, &share)| u32::from(share))
        .sum();
    if standing_out >= 250 {
        return Ok(());
    }
    let mean: f64 = levels
        .iter()
        .enumerate()
        .map(|(i, &share)| centre(i) * f64::from(share) / 1000.0)
        .sum();
    let (tone, better, version) = if mean < 0.18 {
        ("dark", "the light header", "a light version of the logo")
    } else {
        (
            "light",
            "the dark or accent header",
            "a dark version of the logo",
        )
    };
    Err(AppError::Unprocessable(format!(
        "the logo is {tone} and would hardly show on the {} header; choose {better} or upload {version}",
        brand.header.name()
    )))
}

/// The logo as it will be stored: drawn (and measured) by the confined renderer; an SVG is
/// replaced by its drawing, a raster kept as uploaded.
async fn prepare_logo(state: &AppState, bytes: Vec<u8>) -> Result<(Vec<u8>, Vec<u16>), AppError> {
    let drawn = crate::renditions::logo::draw(state, &bytes).await?;
    let stored = if image_type(&bytes).is_some() {
        bytes
    } else {
        drawn.png
    };
    Ok((stored, drawn.ink.unwrap_or_default()))
}

/// Stores an image under a key named by its digest, so a new image never overwrites the one
/// pages still point at.
async fn store(state: &AppState, what: &str, bytes: Vec<u8>) -> Result<Image, AppError> {
    use sha2::{Digest, Sha256};
    let content_type = image_type(&bytes).unwrap_or("application/octet-stream");
    let version = hex::encode(&Sha256::digest(&bytes)[..12]);
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(bytes))]);
    state
        .storage
        .put_stream(&format!("brand/{what}-{version}"), body, u64::MAX)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("storing the {what}: {e}")))?;
    Ok(Image {
        version,
        content_type: content_type.into(),
        ink_levels: Vec::new(),
    })
}

async fn save_branding(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    multipart: Multipart,
) -> PageResult<Response> {
    let old = super::load(&state.db).await?;
    let refused = |e: AppError, form: Brand| -> PageResult<Response> {
        let page = BrandingPage {
            layout: Layout::for_user("Branding", &me, "branding"),
            form,
            headers: Header::ALL,
            error: Some(format!("Nothing was changed: {e}.")),
        };
        Ok((e.status(), render(&page)?).into_response())
    };
    let mut sent = match read_form(multipart).await {
        Ok(sent) => sent,
        Err(e) if e.is_correctable() => return refused(e, old),
        Err(e) => return Err(e.into()),
    };
    let logo = sent.logo.take();
    let result = async {
        let mut brand = checked(&sent, &old)?;
        let logo = match logo {
            Some(bytes) => {
                let (bytes, ink) = prepare_logo(&state, bytes).await?;
                // What `visible` judges; the version is set once stored.
                brand.logo = Some(Image {
                    ink_levels: ink.clone(),
                    ..Image::default()
                });
                Some((bytes, ink))
            }
            None => None,
        };
        visible(&brand)?;
        Ok::<_, AppError>((brand, logo))
    }
    .await;
    let (mut brand, logo) = match result {
        Ok(ok) => ok,
        // The form comes back as it was sent (files cannot be), so a fix is one change away.
        Err(e) if e.is_correctable() => return refused(e, as_sent(&sent, &old)),
        Err(e) => return Err(e.into()),
    };
    if let Some((bytes, ink)) = logo {
        brand.logo = Some(Image {
            ink_levels: ink,
            ..store(&state, "logo", bytes).await?
        });
    }
    if let Some(bytes) = sent.background {
        brand.background = Some(store(&state, "background", bytes).await?);
    }
    super::change(&state, &me.account, brand, "", &client).await?;
    me.flash("Branding saved: every page, share link and email now uses it.")
        .await;
    Ok(Redirect::to("/admin/branding").into_response())
}

#[derive(Deserialize)]
struct Version {
    v: Option<String>,
}

/// Cached for a year when the URL names the current version (it changes with any setting);
/// briefly otherwise.
fn cache_control(asked: Option<&str>, current: &str) -> &'static str {
    if asked == Some(current) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    }
}

async fn stylesheet(State(state): State<AppState>, Query(q): Query<Version>) -> Response {
    let brand = state.brand.get(&state.db).await;
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (
                header::CACHE_CONTROL,
                cache_control(q.v.as_deref(), &brand.version()),
            ),
        ],
        brand.css(),
    )
        .into_response()
}

async fn image(
    state: &AppState,
    what: &str,
    image: Option<&Image>,
    asked: Option<&str>,
) -> Response {
    let Some(image) = image else {
        return AppError::NotFound.into_response();
    };
    let key = format!("brand/{what}-{}", image.version);
    let body = match state.storage.get(&key, None).await {
        Ok(body) => body,
        Err(_) => return AppError::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, image.content_type.clone()),
            (
                header::CACHE_CONTROL,
                cache_control(asked, &image.version).to_string(),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

async fn logo(State(state): State<AppState>, Query(q): Query<Version>) -> Response {
    let brand = state.brand.get(&state.db).await;
    image(&state, "logo", brand.logo.as_ref(), q.v.as_deref()).await
}

async fn background(State(state): State<AppState>, Query(q): Query<Version>) -> Response {
    let brand = state.brand.get(&state.db).await;
    image(
        &state,
        "background",
        brand.background.as_ref(),
        q.v.as_deref(),
    )
    .await
}
