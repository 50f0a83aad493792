//! Renditions: the `renditions` job turns one version's bytes into a thumbnail and a preview and
//! records what the file says about itself (pixel size, pages, EXIF/XMP/IPTC). Decoding happens
//! in a separate, resource-limited process (`assetport render`, see `media`), so a hostile file
//! can cost one job, never the server. Files no renderer understands get a typed placeholder.
use std::path::{Path, PathBuf};

use axum::http::{header, HeaderValue};
use axum::response::Response;
use sqlx::Row;

pub mod logo;
pub mod presets;
pub mod watermark;

use crate::app::AppState;
use crate::error::AppError;
use crate::http::download;
use crate::jobs::{Job, JobError};
use crate::library::assets::Version;
use crate::media::{self, MediaError, Report};
use crate::storage;

/// Rendition kinds, as they appear in URLs.
pub const KINDS: [&str; 2] = ["thumb", "preview"];

/// One stored rendition of a version.
#[derive(Clone, Debug)]
pub struct Rendition {
    pub blob_key: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
}

pub async fn find(
    db: &crate::db::Db,
    version_id: &str,
    kind: &str,
) -> Result<Option<Rendition>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT blob_key, media_type, size, sha256 FROM renditions \
         WHERE version_id = $1 AND kind = $2",
    )
    .bind(version_id)
    .bind(kind)
    .fetch_optional(&db.pool)
    .await?;
    row.map(|r| {
        Ok(Rendition {
            blob_key: r.try_get("blob_key")?,
            media_type: r.try_get("media_type")?,
            size: r.try_get("size")?,
            sha256: r.try_get("sha256")?,
        })
    })
    .transpose()
}

/// Runs one `renditions` job: `job.subject` is a version id.
pub async fn run(state: AppState, job: Job) -> Result<(), JobError> {
    let version_id = job.subject.clone();
    let row = sqlx::query("SELECT blob_key FROM asset_versions WHERE id = $1")
        .bind(&version_id)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(()); // the version is gone: nothing to render
    };
    let blob_key: String = row.try_get("blob_key")?;
    let work = WorkDir::create(&state.config.data_dir)?;
    let outcome = render(&state, &blob_key, &work).await;
    let result = match outcome {
        Ok(report) => store(&state, &version_id, &report, work.path()).await,
        Err(e) => Err(match e {
            RenderError::Media(e) if e.is_permanent() => JobError::Permanent(e.to_string()),
            RenderError::Media(e) => JobError::Retry(e.to_string()),
            RenderError::Other(e) => JobError::Retry(format!("{e:#}")),
        }),
    };
    if let Err(e) = &result {
        let last = matches!(e, JobError::Permanent(_)) || job.attempts >= job.max_attempts;
        if last {
            // Failed for good: pages show the typed placeholder instead of waiting.
            sqlx::query("UPDATE asset_versions SET render_state = 'failed' WHERE id = $1")
                .bind(&version_id)
                .execute(&state.db.pool)
                .await?;
        }
    }
    result
}

enum RenderError {
    Media(MediaError),
    Other(anyhow::Error),
}

async fn render(state: &AppState, blob_key: &str, work: &WorkDir) -> Result<Report, RenderError> {
    let input = match state.storage.local_path(blob_key) {
        Some(path) => path,
        None => {
            let path = work.path().join("input");
            state
                .storage
                .fetch_to_file(blob_key, &path)
                .await
                .map_err(RenderError::Other)?;
            path
        }
    };
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).map_err(|e| RenderError::Other(e.into()))?;
    media::render_in_child(
        &state.config.renderer,
        &input,
        &out,
        &media::Limits::default(),
    )
    .await
    .map_err(RenderError::Media)
}

/// Saves the renditions and what was extracted, in one transaction after the blobs are stored.
async fn store(
    state: &AppState,
    version_id: &str,
    report: &Report,
    work: &Path,
) -> Result<(), JobError> {
    let now = state.clock.now_ms();
    let mut stored = Vec::new();
    if report.rendered {
        let sizes = [report.thumb, report.preview];
        for (kind, size) in KINDS.iter().zip(sizes) {
            let file = work.join("out").join(format!("{kind}.jpg"));
            let key = storage::rendition_key(version_id, kind);
            let blob = state
                .storage
                .put_file(&key, &file)
                .await
                .map_err(|e| JobError::Retry(format!("storing the {kind}: {e}")))?;
            let (w, h) = size.unwrap_or((0, 0));
            stored.push((*kind, key, blob, w, h));
        }
    }
    let extracted = serde_json::to_string(&report.meta).unwrap_or_else(|_| "{}".into());
    let mut tx = state.db.pool.begin().await?;
    for (kind, key, blob, w, h) in &stored {
        sqlx::query(
            "INSERT INTO renditions (version_id, kind, blob_key, media_type, size, sha256, \
             width, height, created_at) VALUES ($1, $2, $3, 'image/jpeg', $4, $5, $6, $7, $8) \
             ON CONFLICT (version_id, kind) DO UPDATE SET blob_key = excluded.blob_key, \
             size = excluded.size, sha256 = excluded.sha256, width = excluded.width, \
             height = excluded.height, created_at = excluded.created_at",
        )
        .bind(version_id)
        .bind(*kind)
        .bind(key)
        .bind(blob.size as i64)
        .bind(&blob.sha256)
        .bind(i64::from(*w))
        .bind(i64::from(*h))
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let render_state = if report.rendered { "ready" } else { "none" };
    let opt = |v: Option<u32>| v.map(i64::from);
    sqlx::query(
        "UPDATE asset_versions SET render_state = $2, format = $3, width = $4, height = $5, \
         pages = $6, duration_ms = $7, extracted = $8, transparent = $9 WHERE id = $1",
    )
    .bind(version_id)
    .bind(render_state)
    .bind(report.format.as_deref())
    .bind(opt(report.width))
    .bind(opt(report.height))
    .bind(opt(report.pages))
    .bind(report.duration_ms.map(|d| d as i64))
    .bind(extracted)
    .bind(i64::from(report.transparent))
    .execute(&mut *tx)
    .await?;
    prefill_metadata(&mut tx, version_id, &report.meta).await?;
    tx.commit().await?;
    Ok(())
}

/// A new asset's empty title, description, keywords and credit are filled from what its first
/// version's file says (what people typed always wins; later versions change nothing).
async fn prefill_metadata(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    version_id: &str,
    meta: &media::Extracted,
) -> Result<(), sqlx::Error> {
    // Files say anything: keep what the edit form would accept (no control characters,
    // keywords without commas, the form's lengths).
    let line = |s: &Option<String>, n: usize| -> String {
        let s = s.as_deref().unwrap_or("");
        s.chars()
            .filter(|c| !c.is_control())
            .take(n)
            .collect::<String>()
            .trim()
            .to_string()
    };
    let title = line(&meta.title, 500);
    let description: String = meta
        .description
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(10_000)
        .collect();
    let mut keywords: Vec<String> = Vec::new();
    for k in &meta.keywords {
        let k = line(&Some(k.replace(',', " ")), 100);
        if !k.is_empty() && !keywords.iter().any(|seen| seen.eq_ignore_ascii_case(&k)) {
            keywords.push(k);
        }
    }
    let keywords = keywords.join(", ");
    let credit = line(&meta.credit.clone().or_else(|| meta.copyright.clone()), 500);
    sqlx::query(
        "UPDATE assets SET \
         title = CASE WHEN title = '' THEN $2 ELSE title END, \
         description = CASE WHEN description = '' THEN $3 ELSE description END, \
         keywords = CASE WHEN keywords = '' THEN $4 ELSE keywords END, \
         credit = CASE WHEN credit = '' THEN $5 ELSE credit END \
         WHERE id = (SELECT asset_id FROM asset_versions WHERE id = $1 AND number = 1)",
    )
    .bind(version_id)
    .bind(title)
    .bind(description.trim())
    .bind(keywords)
    .bind(credit)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A scratch directory under the data dir, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create(data_dir: &Path) -> Result<WorkDir, JobError> {
        let dir = data_dir
            .join("tmp")
            .join(format!("render-{}", crate::db::new_id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| JobError::Retry(format!("creating {}: {e}", dir.display())))?;
        Ok(WorkDir(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Queues the version's renditions again (an admin's "make the preview again").
pub async fn rerender(state: &AppState, version_id: &str) -> Result<(), sqlx::Error> {
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("UPDATE asset_versions SET render_state = 'pending' WHERE id = $1")
        .bind(version_id)
        .execute(&mut *tx)
        .await?;
    let now = state.clock.now_ms();
    crate::jobs::enqueue(&mut *tx, crate::jobs::JobKind::Renditions, version_id, now).await?;
    tx.commit().await?;
    state.jobs.wake();
    Ok(())
}

/// The stored `kind` of `version`, or `None` while there is none (pending, no renderer,
/// failed): the caller then shows `placeholder`, never an error for a visible asset (SPEC §1).
/// `attachment` saves it as a file instead of showing it.
pub async fn blob(
    state: &AppState,
    version: &Version,
    kind: &str,
    attachment: bool,
) -> Result<Option<download::Blob>, AppError> {
    if !KINDS.contains(&kind) {
        return Err(AppError::NotFound);
    }
    let Some(r) = find(&state.db, &version.id, kind).await? else {
        return Ok(None);
    };
    Ok(Some(download::Blob {
        key: r.blob_key,
        size: r.size as u64,
        sha256: r.sha256,
        media_type: r.media_type,
        filename: file_name(version, kind),
        inline: !attachment,
    }))
}

/// The thumbnail of version `version_id` as a picture inside a mail, captioned (`None` while
/// it has none).
pub async fn mail_picture(
    state: &AppState,
    version_id: &str,
    caption: &str,
) -> Option<crate::mail::Picture> {
    use futures_util::TryStreamExt;
    let r = find(&state.db, version_id, "thumb").await.ok()??;
    let stream = state.storage.get(&r.blob_key, None).await.ok()?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.ok()?;
    Some(crate::mail::Picture {
        caption: caption.to_string(),
        content_type: r.media_type,
        bytes: chunks.concat(),
    })
}

/// The name a rendition is saved under: `poster.psd` → `poster-preview.jpg`.
pub fn file_name(version: &Version, kind: &str) -> String {
    file_name_as(version, kind, "jpg")
}

/// [`file_name`] with another extension.
pub fn file_name_as(version: &Version, kind: &str, extension: &str) -> String {
    let stem = version
        .filename
        .rsplit_once('.')
        .map_or(version.filename.as_str(), |(s, _)| s);
    format!("{stem}-{kind}.{extension}")
}

/// A small SVG tile naming the file's type (our own markup, no user text but the extension,
/// which is escaped). Not cached: the real rendition may exist a moment later.
pub fn placeholder(version: &Version) -> Response {
    // The label the cards show, kept to letters and digits: it goes into SVG markup.
    let ext: String = crate::library::card::extension(&version.filename)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let ext = if ext.is_empty() { "FILE".into() } else { ext };
    let kind = crate::library::card::kind_of(&version.media_type);
    let note = match version.render_state.as_str() {
        "pending" => "preparing preview",
        _ => kind,
    };
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"320\" height=\"240\" viewBox=\"0 0 320 240\">\
         <rect width=\"320\" height=\"240\" fill=\"#eef1f5\"/>\
         <rect x=\"120\" y=\"60\" width=\"80\" height=\"100\" rx=\"8\" fill=\"#fff\" stroke=\"#9aa5b4\" stroke-width=\"3\"/>\
         <text x=\"160\" y=\"120\" font-family=\"sans-serif\" font-size=\"20\" font-weight=\"bold\" fill=\"#3d4a5c\" text-anchor=\"middle\">{ext}</text>\
         <text x=\"160\" y=\"195\" font-family=\"sans-serif\" font-size=\"15\" fill=\"#5d6b7e\" text-anchor=\"middle\">{note}</text></svg>"
    );
    let mut r = Response::new(axum::body::Body::from(svg));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    crate::web::headers::mark_private(h);
    h.insert("x-rendition", HeaderValue::from_static("placeholder"));
    r
}
