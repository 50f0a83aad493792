//! Resumable uploads, tus 1.0 core protocol with the `creation` and `termination` extensions
//! (https://tus.io/protocols/resumable-upload), under `/api/v1/tus`.
//!
//! Checked against the crates that exist: `fileloft-axum` buffers request bodies and keeps
//! upload state and locks in one process; we need streaming and any instance taking any PATCH.
//! So the protocol is implemented here, small:
//!
//! - `POST` declares the length and metadata (`filename`, `folder_id`, optional `title`,
//!   `description`, `keywords`, `relative_path`); rights, name and size are checked before a
//!   byte is accepted.
//! - Each `PATCH` streams its body into storage as one part (`tus/<id>/<start>-<random>`). If the
//!   connection breaks, what arrived is kept as a shorter part, so a resume continues from the
//!   last byte stored. Parts are committed with a conditional UPDATE of `received`, so two
//!   PATCHes at the same offset cannot both count (the loser's part is removed, 409).
//! - When the last byte arrives, the parts are streamed in order into the final blob (hashing as
//!   usual) and the asset is created exactly as a multipart upload would create it. One request
//!   joins: it first claims the join (`claim_join`); a PATCH racing it (e.g. an empty one at
//!   offset = length) waits briefly for the asset and answers 204, or 409 "ask with HEAD".
//!   A zero-length upload completes on its first (empty) PATCH.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{options, patch};
use axum::Router;
use base64::Engine;
use futures_util::StreamExt;
use sqlx::Row;

use crate::access;
use crate::accounts::{Account, ApiUser, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::db;
use crate::error::{ApiResult, AppError};
use crate::library::upload::{self, Received};
use crate::sanitize;
use crate::storage;
use crate::web::client::ClientInfo;

const VERSION: &str = "1.0.0";
/// An unfinished upload is kept this long after it was created.
pub(crate) const KEEP_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Header that tells a client which asset a finished upload became.
pub const ASSET_HEADER: &str = "assetport-asset-id";
/// How long a join claim holds before another request may take over (its holder died).
const JOIN_LEASE_MS: i64 = 15 * 60 * 1000;
/// `tus_parts.start` of the row that is an upload's join claim (real parts start at 0 or later).
const JOIN_CLAIM: i64 = -1;

/// Who may use the endpoint: API callers (bearer token, under `/api/v1/tus`) and signed-in
/// browsers (session + CSRF header, under `/tus`, for the upload page's tus client).
pub trait Caller: FromRequestParts<AppState> + Send + 'static {
    /// Where uploads live, for the Location header.
    const BASE: &'static str;
    fn account(&self) -> &Account;
}

impl Caller for ApiUser {
    const BASE: &'static str = "/api/v1/tus";
    fn account(&self) -> &Account {
        &self.0
    }
}

impl Caller for PageUser {
    const BASE: &'static str = "/tus";
    fn account(&self) -> &Account {
        &self.account
    }
}

pub fn routes<C: Caller>() -> Router<AppState> {
    Router::new()
        .route("/tus", options(capabilities).post(create::<C>))
        .route(
            "/tus/{id}",
            patch(append::<C>).head(status::<C>).delete(terminate::<C>),
        )
}

fn tus_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert("tus-resumable", HeaderValue::from_static(VERSION));
    crate::web::headers::mark_private(h);
}

pub(crate) fn with_tus(status: StatusCode, extra: &[(HeaderName, String)]) -> Response {
    let mut r = status.into_response();
    tus_headers(&mut r);
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(k.clone(), v);
        }
    }
    r
}

pub(crate) fn hv(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

async fn capabilities(State(state): State<AppState>) -> Response {
    with_tus(
        StatusCode::NO_CONTENT,
        &[
            (hv("tus-version"), VERSION.into()),
            (hv("tus-extension"), "creation,termination".into()),
            (
                hv("tus-max-size"),
                state.config.max_upload_bytes.to_string(),
            ),
        ],
    )
}

/// Every request but OPTIONS must say which protocol version it speaks.
pub(crate) fn check_version(headers: &HeaderMap) -> Result<(), AppError> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(VERSION) => Ok(()),
        _ => Err(AppError::PreconditionFailed(format!(
            "this server speaks tus {VERSION}: send Tus-Resumable: {VERSION}"
        ))),
    }
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
pub(crate) fn parse_metadata(raw: &str) -> Result<HashMap<String, String>, AppError> {
    let mut out = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| AppError::BadRequest(format!("metadata '{key}' is not base64")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| AppError::BadRequest(format!("metadata '{key}' is not UTF-8")))?;
        if text.len() > 64 * 1024 {
            return Err(AppError::BadRequest(format!(
                "metadata '{key}' is too long"
            )));
        }
        out.insert(key.to_string(), text);
    }
    Ok(out)
}

async fn create<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let who = caller.account();
    check_version(&headers)?;
    let length: u64 = headers
        .get("upload-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            AppError::BadRequest(
                "Upload-Length is required (deferred length is not supported)".into(),
            )
        })?;
    if length > state.config.max_upload_bytes {
        return Err(AppError::TooLarge(format!(
            "uploads are limited to {} bytes",
            state.config.max_upload_bytes
        )));
    }
    let meta = parse_metadata(
        headers
            .get("upload-metadata")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )?;
    let folder_id = meta
        .get("folder_id")
        .ok_or_else(|| AppError::BadRequest("metadata folder_id is required".into()))?;
    let filename = meta
        .get("filename")
        .ok_or_else(|| AppError::BadRequest("metadata filename is required".into()))?;
    sanitize::name(filename)
        .map_err(|e| AppError::BadRequest(format!("file name refused: {e}")))?;
    if let Some(p) = meta.get("relative_path").filter(|p| !p.trim().is_empty()) {
        sanitize::relative_path(p)
            .map_err(|e| AppError::BadRequest(format!("relative_path refused: {e}")))?;
    }
    let (_, rights) = access::folder(&state.db, who, folder_id).await?;
    if !rights.contribute {
        return Err(AppError::Forbidden(
            "you may not upload into this folder".into(),
        ));
    }
    let id = db::new_id();
    let now = state.clock.now_ms();
    sqlx::query(
        "INSERT INTO tus_uploads (id, user_id, folder_id, length, metadata, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&who.id)
    .bind(folder_id)
    .bind(length as i64)
    .bind(serde_json::to_string(&meta).unwrap_or_else(|_| "{}".into()))
    .bind(now)
    .bind(now + KEEP_MS)
    .execute(&state.db.pool)
    .await?;
    // Uploads abandoned for longer than they are kept go now and then, here, rather than in a
    // scheduler: whoever starts an upload clears a few old ones.
    let cleaner = state.clone();
    tokio::spawn(async move { purge_expired(&cleaner, now).await });
    Ok(with_tus(
        StatusCode::CREATED,
        &[
            (
                header::LOCATION,
                format!("{}{}/{id}", state.config.public_url, C::BASE),
            ),
            (hv("upload-expires"), httpdate(now + KEEP_MS)),
        ],
    ))
}

pub(crate) fn httpdate(ms: i64) -> String {
    let t = clock::from_ms(ms);
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&fmt).unwrap_or_default()
}

/// An unfinished (or just finished) resumable upload.
pub(crate) struct Upload {
    pub id: String,
    pub folder_id: String,
    pub length: i64,
    pub received: i64,
    pub meta: HashMap<String, String>,
    pub asset_id: Option<String>,
}

/// Whose upload it is: a member's (by account), or an upload-link sender's (by link and the
/// hash of the sender cookie). Nobody else may read, continue or end it (404).
#[derive(Clone, Copy)]
pub(crate) enum Owner<'a> {
    Account(&'a Account),
    Sender { link_id: &'a str, sender: &'a str },
}

impl Owner<'_> {
    /// The SQL condition on `tus_uploads` that names this owner (`$2`, `$4`), and its values.
    fn filter(&self) -> (&'static str, &str, &str) {
        match self {
            Owner::Account(a) => ("user_id = $2 AND $4 = ''", a.id.as_str(), ""),
            Owner::Sender { link_id, sender } => {
                ("upload_link_id = $2 AND sender = $4", link_id, sender)
            }
        }
    }
}

/// The caller's own upload (anyone else's is 404, like a missing one).
pub(crate) async fn load(state: &AppState, who: Owner<'_>, id: &str) -> Result<Upload, AppError> {
    let (filter, a, b) = who.filter();
    let row = sqlx::query(&format!(
        "SELECT id, folder_id, length, received, metadata, asset_id FROM tus_uploads \
         WHERE id = $1 AND {filter} AND expires_at > $3"
    ))
    .bind(id)
    .bind(a)
    .bind(state.clock.now_ms())
    .bind(b)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let meta: String = row.try_get("metadata")?;
    Ok(Upload {
        id: row.try_get("id")?,
        folder_id: row.try_get("folder_id")?,
        length: row.try_get("length")?,
        received: row.try_get("received")?,
        meta: serde_json::from_str(&meta).unwrap_or_default(),
        asset_id: row.try_get("asset_id")?,
    })
}

pub(crate) fn progress_headers(u: &Upload) -> Vec<(HeaderName, String)> {
    let mut h = vec![
        (hv("upload-offset"), u.received.to_string()),
        (hv("upload-length"), u.length.to_string()),
    ];
    if let Some(a) = &u.asset_id {
        h.push((hv(ASSET_HEADER), a.clone()));
    }
    h
}

async fn status<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_version(&headers)?;
    let u = load(&state, Owner::Account(caller.account()), &id).await?;
    Ok(with_tus(StatusCode::OK, &progress_headers(&u)))
}

async fn append<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    check_version(&headers)?;
    let offset = patch_offset(&headers)?;
    let who = caller.account();
    let mut u = load(&state, Owner::Account(who), &id).await?;
    check_offset(&u, offset)?;
    if u.received < u.length {
        let stored = store_part(&state, &u, body.into_data_stream()).await?;
        u.received += stored;
    }
    if u.received == u.length && u.asset_id.is_none() {
        if claim_join(&state, &u.id).await? {
            let joined = finish(&state, who, &u, &client).await;
            if joined.is_err() {
                unclaim_join(&state, &u.id).await;
            }
            u.asset_id = Some(joined?);
        } else {
            u.asset_id = Some(joined_by_another(&state, Owner::Account(who), &u.id).await?);
        }
    }
    Ok(with_tus(StatusCode::NO_CONTENT, &progress_headers(&u)))
}

/// A PATCH must continue exactly where the upload stands (409 otherwise).
pub(crate) fn check_offset(u: &Upload, offset: i64) -> Result<(), AppError> {
    if offset != u.received {
        return Err(AppError::Conflict(format!(
            "Upload-Offset {offset} does not match the {} bytes received; ask with HEAD",
            u.received
        )));
    }
    Ok(())
}

/// Lets a retry join again after a join that failed.
pub(crate) async fn unclaim_join(state: &AppState, id: &str) {
    let _ = sqlx::query("DELETE FROM tus_parts WHERE upload_id = $1 AND start = $2")
        .bind(id)
        .bind(JOIN_CLAIM)
        .execute(&state.db.pool)
        .await;
}

/// Claims the right to join a complete upload's parts: one conditional statement, so of
/// requests racing at the last byte exactly one joins. The claim is a `tus_parts` row at
/// `start = -1` whose `size` is when it lapses (a claimant that died is replaced after
/// `JOIN_LEASE_MS`); nobody claims an upload that already has its asset. Finishing removes the
/// upload's parts, the claim with them.
pub(crate) async fn claim_join(state: &AppState, id: &str) -> Result<bool, AppError> {
    let now = state.clock.now_ms();
    let row = sqlx::query(
        "INSERT INTO tus_parts (upload_id, start, size, blob_key) \
         SELECT id, $2, $3, '' FROM tus_uploads \
         WHERE id = $1 AND asset_id IS NULL AND received = length \
         ON CONFLICT (upload_id, start) DO UPDATE SET size = excluded.size \
         WHERE tus_parts.size <= $4 \
         RETURNING size",
    )
    .bind(id)
    .bind(JOIN_CLAIM)
    .bind(now + JOIN_LEASE_MS)
    .bind(now)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(row.is_some())
}

/// Another request is joining (or has joined) this upload: waits a little for its asset, then
/// answers with it, or 409 so the client asks again with HEAD. Never an error of the server.
pub(crate) async fn joined_by_another(
    state: &AppState,
    who: Owner<'_>,
    id: &str,
) -> Result<String, AppError> {
    for _ in 0..100 {
        if let Some(asset) = load(state, who, id).await?.asset_id {
            return Ok(asset);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(AppError::Conflict(
        "this upload is being completed by another request; ask with HEAD".into(),
    ))
}

/// Streams the body into a new part and counts it; a cut connection keeps what arrived.
/// Returns how many bytes were added.
pub(crate) async fn store_part<S, E>(state: &AppState, u: &Upload, body: S) -> Result<i64, AppError>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Send,
    E: Send,
{
    let cut = Arc::new(AtomicBool::new(false));
    let seen_cut = cut.clone();
    // A body error ends the stream instead of failing it, so the bytes before it are kept.
    let stream = body.scan((), move |_, item| {
        let cut = seen_cut.clone();
        async move {
            match item {
                Ok(bytes) => Some(Ok::<_, std::convert::Infallible>(bytes)),
                Err(_) => {
                    cut.store(true, Ordering::Relaxed);
                    None
                }
            }
        }
    });
    let key = format!("tus/{}/{}-{}", u.id, u.received, db::new_id());
    let room = (u.length - u.received) as u64;
    let blob = state.storage.put_stream(&key, stream, room).await?;
    let size = blob.size as i64;
    if size == 0 {
        let _ = state.storage.delete(&key).await;
        return Ok(0);
    }
    let mut tx = state.db.pool.begin().await?;
    let counted = sqlx::query(
        "UPDATE tus_uploads SET received = received + $2 WHERE id = $1 AND received = $3",
    )
    .bind(&u.id)
    .bind(size)
    .bind(u.received)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !counted {
        drop(tx);
        let _ = state.storage.delete(&key).await;
        return Err(AppError::Conflict(
            "another request appended to this upload meanwhile; ask with HEAD".into(),
        ));
    }
    sqlx::query("INSERT INTO tus_parts (upload_id, start, size, blob_key) VALUES ($1, $2, $3, $4)")
        .bind(&u.id)
        .bind(u.received)
        .bind(size)
        .bind(&key)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if cut.load(Ordering::Relaxed) {
        tracing::info!(upload = %u.id, bytes = size, "resumable upload cut; kept what arrived");
    }
    Ok(size)
}

/// Joins the parts into the final blob and creates the asset; the parts are removed after.
async fn finish(
    state: &AppState,
    who: &Account,
    u: &Upload,
    client: &ClientInfo,
) -> Result<String, AppError> {
    let (received, keys) = join(state, u).await?;
    let key = received.key.clone();
    let view =
        match upload::commit_received(state, who, &u.folder_id, &u.meta, &received, client).await {
            Ok(v) => v,
            Err(e) => {
                let _ = state.storage.delete(&key).await;
                return Err(e);
            }
        };
    finished(state, u, &view.asset.id, &keys).await?;
    Ok(view.asset.id.into())
}

/// Records the asset a joined upload became and removes its parts.
pub(crate) async fn finished(
    state: &AppState,
    u: &Upload,
    asset_id: &str,
    keys: &[String],
) -> Result<(), AppError> {
    sqlx::query("UPDATE tus_uploads SET asset_id = $2 WHERE id = $1")
        .bind(&u.id)
        .bind(asset_id)
        .execute(&state.db.pool)
        .await?;
    remove_parts(state, &u.id, keys).await;
    Ok(())
}

/// Joins an upload's parts into a new original (hashed as it is written); returns it and the
/// parts' keys, which the caller removes once the asset exists.
pub(crate) async fn join(
    state: &AppState,
    u: &Upload,
) -> Result<(Received, Vec<String>), AppError> {
    let parts: Vec<(String, u64)> = sqlx::query(
        "SELECT blob_key, size FROM tus_parts WHERE upload_id = $1 AND start >= 0 \
             ORDER BY start",
    )
    .bind(&u.id)
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("blob_key")?, r.try_get::<i64, _>("size")? as u64)))
    .collect::<Result<_, sqlx::Error>>()?;
    let keys: Vec<String> = parts.iter().map(|(k, _)| k.clone()).collect();
    let filename = u.meta.get("filename").cloned().unwrap_or_default();
    let filename = sanitize::name(&filename).map_err(AppError::BadRequest)?;
    let version_id = db::new_id();
    let key = storage::original_key(&version_id);
    let blob = state.storage.join(&parts, &key).await?;
    if blob.size as i64 != u.length {
        let _ = state.storage.delete(&key).await;
        return Err(AppError::Internal(anyhow::anyhow!(
            "the parts of upload {} hold {} bytes, not {}",
            u.id,
            blob.size,
            u.length
        )));
    }
    let received = Received {
        key,
        version_id,
        filename,
        blob,
    };
    Ok((received, keys))
}

/// Removes up to 50 expired, unfinished uploads and their parts.
pub(crate) async fn purge_expired(state: &AppState, now: i64) {
    let ids: Vec<String> = match sqlx::query(
        "SELECT id FROM tus_uploads WHERE expires_at <= $1 AND asset_id IS NULL LIMIT 50",
    )
    .bind(now)
    .fetch_all(&state.db.pool)
    .await
    {
        Ok(rows) => rows.iter().filter_map(|r| r.try_get("id").ok()).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing expired resumable uploads");
            return;
        }
    };
    for id in ids {
        let keys: Vec<String> =
            sqlx::query("SELECT blob_key FROM tus_parts WHERE upload_id = $1 AND start >= 0")
                .bind(&id)
                .fetch_all(&state.db.pool)
                .await
                .map(|rows| {
                    rows.iter()
                        .filter_map(|r| r.try_get("blob_key").ok())
                        .collect()
                })
                .unwrap_or_default();
        remove_parts(state, &id, &keys).await;
        let _ = sqlx::query("DELETE FROM tus_uploads WHERE id = $1")
            .bind(&id)
            .execute(&state.db.pool)
            .await;
    }
}

pub(crate) async fn remove_parts(state: &AppState, id: &str, keys: &[String]) {
    for k in keys {
        if let Err(e) = state.storage.delete(k).await {
            tracing::warn!(error = %e, "could not remove a part of a resumable upload");
        }
    }
    let _ = sqlx::query("DELETE FROM tus_parts WHERE upload_id = $1")
        .bind(id)
        .execute(&state.db.pool)
        .await;
}

async fn terminate<C: Caller>(
    State(state): State<AppState>,
    caller: C,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    check_version(&headers)?;
    let u = load(&state, Owner::Account(caller.account()), &id).await?;
    discard(&state, &u).await?;
    Ok(with_tus(StatusCode::NO_CONTENT, &[]))
}

/// Removes an upload: its parts, their objects and its row.
pub(crate) async fn discard(state: &AppState, u: &Upload) -> Result<(), AppError> {
    let keys: Vec<String> =
        sqlx::query("SELECT blob_key FROM tus_parts WHERE upload_id = $1 AND start >= 0")
            .bind(&u.id)
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(|r| r.try_get("blob_key"))
            .collect::<Result<_, _>>()?;
    remove_parts(state, &u.id, &keys).await;
    sqlx::query("DELETE FROM tus_uploads WHERE id = $1")
        .bind(&u.id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// A PATCH's `Upload-Offset`, after checking its body's type (tus 1.0.0 core protocol); shared
/// by members' and upload links' tus.
pub fn patch_offset(headers: &HeaderMap) -> Result<i64, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != "application/offset+octet-stream" {
        return Err(AppError::Unsupported(
            "PATCH bodies are Content-Type: application/offset+octet-stream".into(),
        ));
    }
    headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| AppError::BadRequest("Upload-Offset is required".into()))
}
