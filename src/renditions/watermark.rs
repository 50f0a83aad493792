//! Watermarked previews for renditions-only share links (SPEC §1): the admin's text, drawn
//! diagonally across the preview in white with a thin dark edge so it reads on any picture.
//! The marked preview is made once per (version, text) and kept in storage next to the
//! preview, so every instance serves the same bytes and only the first request pays.
use bytes::BytesMut;
use futures_util::TryStreamExt;
use resvg::{tiny_skia, usvg};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::http::download;
use crate::library::assets::Version;

const SETTING: &str = "watermark_text";
const MAX_CHARS: usize = 80;
/// A preview is at most 1600 px a side: its JPEG is far below this; anything bigger is refused
/// rather than read into memory.
const MAX_PREVIEW_BYTES: u64 = 16 * 1024 * 1024;

/// The configured text, "" for none.
pub async fn text(db: &Db) -> Result<String, sqlx::Error> {
    Ok(db::get_setting(db, SETTING).await?.unwrap_or_default())
}

pub async fn set_text(db: &Db, text: &str) -> Result<(), AppError> {
    let text = text.trim();
    if text.chars().count() > MAX_CHARS || text.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "the watermark is limited to {MAX_CHARS} characters"
        )));
    }
    if text.is_empty() {
        db::delete_setting(db, SETTING).await?;
    } else {
        db::set_setting(db, SETTING, text).await?;
    }
    Ok(())
}

/// `version`'s preview with `text` across it (made and stored the first time). `None` when
/// the version has no preview (the caller shows the placeholder).
pub async fn blob(
    state: &AppState,
    version: &Version,
    text: &str,
    attachment: bool,
) -> Result<Option<download::Blob>, AppError> {
    let Some(preview) = super::find(&state.db, &version.id, "preview").await? else {
        return Ok(None);
    };
    // One digest names the stored copy and serves as its ETag.
    let etag = hex::encode(Sha256::digest(format!("{}\n{text}", preview.sha256)));
    let key = format!(
        "{}-wm-{}.jpg",
        preview.blob_key.trim_end_matches(".jpg"),
        &etag[..16]
    );
    let size = match state.storage.size(&key).await.map_err(AppError::Internal)? {
        Some(size) => size,
        None => make(state, &preview, text, &key).await?,
    };
    Ok(Some(download::Blob {
        key,
        size,
        sha256: etag,
        media_type: "image/jpeg".into(),
        filename: super::file_name(version, "preview"),
        inline: !attachment,
    }))
}

async fn make(
    state: &AppState,
    preview: &super::Rendition,
    text: &str,
    key: &str,
) -> Result<u64, AppError> {
    if preview.size as u64 > MAX_PREVIEW_BYTES {
        return Err(AppError::Internal(anyhow::anyhow!(
            "preview unexpectedly large"
        )));
    }
    let mut body = state
        .storage
        .get(&preview.blob_key, None)
        .await
        .map_err(AppError::Internal)?;
    let mut jpeg = BytesMut::with_capacity(preview.size as usize);
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|e| AppError::Internal(e.into()))?
    {
        jpeg.extend_from_slice(&chunk);
    }
    let text = text.to_string();
    let marked = tokio::task::spawn_blocking(move || apply(&jpeg, &text))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("watermark task: {e}")))?
        .map_err(AppError::Internal)?;
    // The marked JPEG is already in memory (a preview is small and bounded): store it as is.
    let body = futures_util::stream::once(async move {
        Ok::<_, std::convert::Infallible>(bytes::Bytes::from(marked))
    });
    Ok(state.storage.put_stream(key, body, u64::MAX).await?.size)
}

/// Draws `text` across the JPEG `jpeg` and encodes the result as a JPEG.
pub fn apply(jpeg: &[u8], text: &str) -> anyhow::Result<Vec<u8>> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    let pixels = decoder.decode()?;
    let info = decoder
        .info()
        .ok_or_else(|| anyhow::anyhow!("preview has no header"))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let mut rgb: Vec<u8> = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        other => anyhow::bail!("preview in an unexpected pixel format {other:?}"),
    };
    let overlay = overlay(w, h, text)?;
    // The overlay is premultiplied RGBA: out = overlay + (1 - alpha) * picture.
    for (px, o) in rgb.chunks_exact_mut(3).zip(overlay.data().chunks_exact(4)) {
        let keep = 255 - u16::from(o[3]);
        for c in 0..3 {
            px[c] = (u16::from(o[c]) + (u16::from(px[c]) * keep + 127) / 255).min(255) as u8;
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 82).encode(
        &rgb,
        w as u16,
        h as u16,
        jpeg_encoder::ColorType::Rgb,
    )?;
    Ok(out)
}

/// The text, repeated in rotated rows over the whole picture, as a transparent layer.
fn overlay(w: u32, h: u32, text: &str) -> anyhow::Result<tiny_skia::Pixmap> {
    let size = (w.max(h) as f32 / 22.0).max(12.0);
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    // A grid of copies over a square big enough to cover the picture at any rotation.
    let span = (w + h) as f32;
    let advance = (text.chars().count() as f32 * size * 0.62 + size * 3.0).max(size * 4.0);
    let step = size * 4.5;
    let mut rows = String::new();
    let mut y = -span;
    let mut row = 0;
    while y < span * 1.5 {
        // Every other row shifted by half a copy, so the marks interleave.
        let mut x = -span + if row % 2 == 1 { advance / 2.0 } else { 0.0 };
        while x < span * 1.5 {
            rows.push_str(&format!("<text x=\"{x:.0}\" y=\"{y:.0}\">{escaped}</text>"));
            x += advance;
        }
        y += step;
        row += 1;
    }
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\">\
         <g transform=\"rotate(-30 {cx} {cy})\" font-family=\"DejaVu Sans\" font-size=\"{size}\" \
         font-weight=\"bold\" fill=\"#ffffff\" fill-opacity=\"0.38\" stroke=\"#000000\" \
         stroke-opacity=\"0.22\" stroke-width=\"{sw}\">{rows}</g></svg>",
        cx = w / 2,
        cy = h / 2,
        sw = (size / 28.0).max(0.6),
    );
    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_font_data(crate::media::font().to_vec());
    let options = usvg::Options {
        fontdb: std::sync::Arc::new(fonts),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(&svg, &options)?;
    let mut pixmap =
        tiny_skia::Pixmap::new(w, h).ok_or_else(|| anyhow::anyhow!("empty preview"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::identity(),
        &mut pixmap.as_mut(),
    );
    Ok(pixmap)
}
