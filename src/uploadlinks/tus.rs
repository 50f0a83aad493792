//! Resumable uploads through an upload link: the tus 1.0 core protocol (`library::tus`) under
//! `/u/{token}/tus`, for senders without an account. The upload belongs to the link and the
//! sender's cookie (`sender`), so nobody else can continue, read or end it.
//!
//! A delivery slot checks the file twice with the one check (`slots::Slot::check_head`): when
//! its header arrives (the first PATCH's first bytes, up to `probe::HEAD`), and on the joined
//! file at completion. A refused file answers 422 with the reason and is removed at once —
//! parts, joined original and upload row — so nothing of it stays stored. Quota and slot place
//! are taken at completion, in the same way a multipart upload takes them.
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::Router;
use futures_util::StreamExt;

use super::slots::{self, Slot, Verdict};
use super::visit::UploadLinkVisit;
use super::{quota, sender, UploadLink};
use crate::app::AppState;
use crate::error::AppError;
use crate::library::tus::{self, Owner, Upload};
use crate::library::upload::{self, Fields, LinkReceived};
use crate::media::probe;
use crate::sanitize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/u/{token}/tus", post(create)).route(
        "/u/{token}/tus/{id}",
        patch(append).head(status).delete(terminate),
    )
}

/// The upload form's fields, from the upload's metadata.
fn fields_of(meta: &std::collections::HashMap<String, String>) -> Fields {
    let get = |k: &str| meta.get(k).cloned();
    Fields {
        title: get("title"),
        description: get("description"),
        keywords: get("keywords"),
        relative_path: get("relative_path"),
        uploader_name: get("uploader_name"),
        uploader_email: get("uploader_email"),
        slot: get("slot"),
        comment: None,
    }
}

/// The slot an upload names, among the link's.
async fn slot_of(
    state: &AppState,
    link: &UploadLink,
    fields: &Fields,
) -> Result<Option<Slot>, AppError> {
    let all: Vec<Slot> = slots::of_link(&state.db, &link.id)
        .await?
        .into_iter()
        .map(|f| f.slot)
        .collect();
    Ok(upload::pick_slot(&all, fields)?.cloned())
}

fn answer(result: Result<Response, AppError>, set_cookie: Option<header::HeaderValue>) -> Response {
    let mut r = match result {
        Ok(r) => r,
        Err(e) => {
            let mut r = e.into_response();
            r.headers_mut()
                .insert("tus-resumable", header::HeaderValue::from_static("1.0.0"));
            r
        }
    };
    if let Some(c) = set_cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

fn sender_of(state: &AppState, v: &UploadLinkVisit, headers: &HeaderMap) -> sender::Sender {
    sender::of_request(
        headers,
        &v.link,
        &v.token,
        state.config.secure_cookies(),
        state.clock.now_ms(),
    )
}

fn unlocked(v: &UploadLinkVisit) -> Result<(), AppError> {
    if v.unlocked {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "enter the link's password first".into(),
        ))
    }
}

async fn create(State(state): State<AppState>, v: UploadLinkVisit, headers: HeaderMap) -> Response {
    let who = sender_of(&state, &v, &headers);
    let result = start(&state, &v, &who.hash, &headers).await;
    answer(result, who.set_cookie)
}

/// `POST`: the length and metadata (`filename`, `uploader_name`, `uploader_email`, `slot`,
/// `title`, …) are checked before a byte is accepted: the sender's fields, the slot's title
/// and byte limit, what is left of the link's byte limit.
async fn start(
    state: &AppState,
    v: &UploadLinkVisit,
    sender: &str,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    unlocked(v)?;
    tus::check_version(headers)?;
    let length: u64 = headers
        .get("upload-length")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim().parse().ok())
        .ok_or_else(|| AppError::BadRequest("Upload-Length is required".into()))?;
    if length > state.config.max_upload_bytes {
        return Err(AppError::TooLarge(format!(
            "uploads are limited to {} bytes",
            state.config.max_upload_bytes
        )));
    }
    if v.link.bytes_left().is_some_and(|left| length as i64 > left) {
        return Err(quota::too_large());
    }
    let meta = tus::parse_metadata(
        headers
            .get("upload-metadata")
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
    )?;
    let filename = meta
        .get("filename")
        .ok_or_else(|| AppError::BadRequest("metadata filename is required".into()))?;
    sanitize::name(filename)
        .map_err(|e| AppError::BadRequest(format!("file name refused: {e}")))?;
    if let Some(p) = meta.get("relative_path").filter(|p| !p.trim().is_empty()) {
        sanitize::relative_path(p)
            .map_err(|e| AppError::BadRequest(format!("relative_path refused: {e}")))?;
    }
    let fields = fields_of(&meta);
    upload::sender(&v.link, &fields)?;
    if let Some(slot) = slot_of(state, &v.link, &fields).await? {
        slot.check_size(length)?;
    }
    let id = crate::db::new_id();
    let now = state.clock.now_ms();
    let expires = (now + tus::KEEP_MS).min(v.link.expires_at);
    sqlx::query(
        "INSERT INTO tus_uploads (id, user_id, folder_id, length, metadata, created_at, \
         expires_at, upload_link_id, sender) VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&v.link.folder_id)
    .bind(length as i64)
    .bind(serde_json::to_string(&meta).unwrap_or_else(|_| "{}".into()))
    .bind(now)
    .bind(expires)
    .bind(&v.link.id)
    .bind(sender)
    .execute(&state.db.pool)
    .await?;
    let cleaner = state.clone();
    tokio::spawn(async move { tus::purge_expired(&cleaner, now).await });
    Ok(tus::with_tus(
        StatusCode::CREATED,
        &[
            (
                header::LOCATION,
                format!("{}/u/{}/tus/{id}", state.config.public_url, v.token),
            ),
            (tus::hv("upload-expires"), tus::httpdate(expires)),
        ],
    ))
}

/// The sender's own upload (anyone else's, or one without the cookie, is 404).
async fn own(
    state: &AppState,
    v: &UploadLinkVisit,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Upload, String), AppError> {
    unlocked(v)?;
    tus::check_version(headers)?;
    let who = sender_of(state, v, headers);
    if who.set_cookie.is_some() {
        return Err(AppError::NotFound);
    }
    let owner = Owner::Sender {
        link_id: &v.link.id,
        sender: &who.hash,
    };
    Ok((tus::load(state, owner, id).await?, who.hash))
}

async fn status(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (u, _) = own(&state, &v, &headers, &id).await?;
        Ok(tus::with_tus(StatusCode::OK, &tus::progress_headers(&u)))
    };
    answer(result.await, None)
}

async fn terminate(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let (u, _) = own(&state, &v, &headers, &id).await?;
        tus::discard(&state, &u).await?;
        Ok(tus::with_tus(StatusCode::NO_CONTENT, &[]))
    };
    answer(result.await, None)
}

async fn append(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = append_inner(&state, &v, &id, &headers, body).await;
    answer(result, None)
}

async fn append_inner(
    state: &AppState,
    v: &UploadLinkVisit,
    id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let (mut u, sender) = own(state, v, headers, id).await?;
    let offset = tus::patch_offset(headers)?;
    tus::check_offset(&u, offset)?;
    let fields = fields_of(&u.meta);
    let slot = slot_of(state, &v.link, &fields).await?;
    if u.received < u.length {
        let mut stream = body.into_data_stream();
        let stored = match (&slot, u.received) {
            // The header arrives with the first bytes: check it before storing them.
            (Some(slot), 0) => {
                let mut head = bytes::BytesMut::new();
                let mut ended = false;
                while head.len() < probe::HEAD {
                    match stream.next().await {
                        Some(Ok(c)) => head.extend_from_slice(&c),
                        // A cut connection: keep what arrived, as any PATCH does.
                        Some(Err(_)) | None => {
                            ended = true;
                            break;
                        }
                    }
                }
                let whole = ended && head.len() as i64 == u.length;
                if let Verdict::Refused(why) = slot.check_head(&head, whole) {
                    tus::discard(state, &u).await?;
                    return Err(AppError::Unprocessable(why));
                }
                let first = futures_util::stream::once(std::future::ready(Ok(head.freeze())));
                tus::store_part(state, &u, first.chain(stream)).await?
            }
            _ => tus::store_part(state, &u, stream).await?,
        };
        u.received += stored;
    }
    if u.received == u.length && u.asset_id.is_none() {
        if tus::claim_join(state, &u.id).await? {
            let done = finish(state, v, &sender, &u, &fields, slot.as_ref()).await;
            if done.is_err() {
                tus::unclaim_join(state, &u.id).await;
            }
            u.asset_id = Some(done?);
        } else {
            let owner = Owner::Sender {
                link_id: &v.link.id,
                sender: &sender,
            };
            u.asset_id = Some(tus::joined_by_another(state, owner, &u.id).await?);
        }
    }
    Ok(tus::with_tus(
        StatusCode::NO_CONTENT,
        &tus::progress_headers(&u),
    ))
}

/// Joins the parts, checks the whole file against its slot, then creates the asset as a
/// multipart upload would (quota, slot place, sender's fields). A refused file is removed
/// with its upload, so nothing of it stays stored.
async fn finish(
    state: &AppState,
    v: &UploadLinkVisit,
    sender: &str,
    u: &Upload,
    fields: &Fields,
    slot: Option<&Slot>,
) -> Result<String, AppError> {
    let (received, keys) = tus::join(state, u).await?;
    let refused = |e: AppError| async {
        let _ = state.storage.delete(&received.key).await;
        let _ = tus::discard(state, u).await;
        e
    };
    if let Some(slot) = slot {
        let head = match read_head(state, &received.key, received.blob.size).await {
            Ok(h) => h,
            Err(e) => return Err(refused(e).await),
        };
        if let Verdict::Refused(why) = slot.check_head(&head, true) {
            return Err(refused(AppError::Unprocessable(why)).await);
        }
    }
    let now = state.clock.now_ms();
    let reservation = match quota::reserve(&state.db, &v.link, Some(u.length as u64), now).await {
        Ok(r) => r,
        Err(e) => return Err(refused(e).await),
    };
    let ticket = match slot {
        Some(s) => match slots::reserve(&state.db, s).await {
            Ok(t) => Some(t),
            Err(e) => {
                reservation.release().await?;
                return Err(refused(e).await);
            }
        },
        None => None,
    };
    let key = received.key.clone();
    let lr = LinkReceived { received, ticket };
    let view =
        match upload::commit_via_link(state, &v.link, sender, fields, lr, reservation, &v.client)
            .await
        {
            Ok(view) => view,
            Err(e) => {
                // The binary is gone already (`commit_via_link`); the parts go too.
                let _ = state.storage.delete(&key).await;
                let _ = tus::discard(state, u).await;
                return Err(e);
            }
        };
    tus::finished(state, u, &view.asset.id, &keys).await?;
    super::visit::delivered(state, &v.link, sender, &view).await;
    Ok(view.asset.id.to_string())
}

/// The first `probe::HEAD` bytes of a stored object of `size` bytes.
async fn read_head(state: &AppState, key: &str, size: u64) -> Result<Vec<u8>, AppError> {
    let n = size.min(probe::HEAD as u64);
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut body = state.storage.get(key, Some(0..n)).await?;
    let mut head = Vec::with_capacity(n as usize);
    while let Some(chunk) = body.next().await {
        head.extend_from_slice(&chunk.map_err(|e| AppError::Internal(e.into()))?);
    }
    Ok(head)
}
