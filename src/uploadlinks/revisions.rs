//! The sender's round trip without an account (issue 19 part 5): a reviewer requests changes
//! on a file that came through an upload link; the sender is mailed the comment with the
//! address of the same link (`changes_requested`, sent by the job queue); on that link's page
//! the file shows "Changes requested: …" and "Upload a revision"; the revision becomes the next
//! version of the same asset, in review, with the sender's comment (`upload_revision`).
//! Only the sender who delivered the file (their cookie, `sender`) sees it and may revise it,
//! and only while the link lives.
use axum::extract::multipart::Field;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use sqlx::Row;

use super::slots::{self, Slot};
use super::visit::UploadLinkVisit;
use super::UploadLink;
use crate::app::AppState;
use crate::error::{AppError, PageError};
use crate::events::{Event, EventKind};
use crate::jobs::{self, JobKind};
use crate::library::assets::{self, AssetView};
use crate::library::upload::{self, Fields, FileSink, Received};
use crate::links::visit::wants_json;

/// Longest comment a sender may give a revision.
const MAX_COMMENT: usize = 2000;

/// After a reviewer requested changes on `view`: if it came through an upload link and its
/// sender left an address, queue the mail (`notices::run`, `changes <link> <asset>`).
pub async fn changes_requested(state: &AppState, view: &AssetView) {
    let Some(link_id) = view.asset.upload_link_id.as_deref() else {
        return;
    };
    if view.asset.uploader_email.is_empty() {
        return;
    }
    let subject = format!("changes {link_id} {}", view.asset.id);
    match jobs::enqueue(
        &state.db.pool,
        JobKind::UploadLinkMail,
        &subject,
        state.clock.now_ms(),
    )
    .await
    {
        Ok(()) => state.jobs.wake(),
        Err(e) => tracing::warn!(error = %e, "could not queue a changes-requested mail"),
    }
}

/// The revision form's handler: `POST /u/{token}/files/{asset_id}/revision`, multipart
/// `file` and optional `comment`. JSON to a script, a redirect back to the page to a form.
pub async fn upload_revision(
    State(state): State<AppState>,
    v: UploadLinkVisit,
    Path((_, asset_id)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    let json = wants_json(&headers);
    match revise(&state, &v, &asset_id, &headers, multipart).await {
        Ok(view) if json => (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "id": view.asset.id, "version": view.version.number,
                "status": view.asset.status, "filename": view.version.filename,
            })),
        )
            .into_response(),
        Ok(_) => Redirect::to(&format!("/u/{}?received=1", v.token)).into_response(),
        Err(e) if json => e.into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

/// The sender's own file on this link that waits for changes, and its slot (anyone else's
/// file is 404, like a missing one).
async fn waiting(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
    asset_id: &str,
) -> Result<(AssetView, Option<Slot>), AppError> {
    let row = sqlx::query(
        "SELECT upload_slot_id FROM assets WHERE id = $1 AND upload_link_id = $2 \
         AND upload_sender = $3 AND upload_sender <> ''",
    )
    .bind(asset_id)
    .bind(&link.id)
    .bind(sender)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let slot_id: Option<String> = row.try_get("upload_slot_id")?;
    let view = assets::get_current(&state.db, asset_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if view.asset.status != "rejected" {
        return Err(AppError::Conflict(
            "this file is not waiting for changes".into(),
        ));
    }
    let slot = slots::of_link(&state.db, &link.id)
        .await?
        .into_iter()
        .map(|f| f.slot)
        .find(|s| Some(&s.id) == slot_id.as_ref());
    Ok((view, slot))
}

/// Stores the revision (checked against the file's slot, like its first version), then makes
/// it the asset's next version in review in one conditional statement.
async fn revise(
    state: &AppState,
    v: &UploadLinkVisit,
    asset_id: &str,
    headers: &HeaderMap,
    mut multipart: Multipart,
) -> Result<AssetView, AppError> {
    if !v.unlocked {
        return Err(AppError::Forbidden(
            "enter the link's password first".into(),
        ));
    }
    let who = super::sender::of_request(
        headers,
        &v.link,
        &v.token,
        state.config.secure_cookies(),
        state.clock.now_ms(),
    );
    if who.set_cookie.is_some() {
        return Err(AppError::NotFound);
    }
    let (view, slot) = waiting(state, &v.link, &who.hash, asset_id).await?;
    upload::check_declared_length(headers, state.config.max_upload_bytes)?;
    let mut fields = Fields::default();
    let mut received: Option<Received> = None;
    let mut sink = RevisionSink {
        state,
        slot: slot.as_ref(),
        max: state.config.max_upload_bytes,
    };
    let read = upload::read_form(&mut multipart, &mut fields, &mut received, &mut sink).await;
    let outcome = match (read, &received) {
        (Ok(()), Some(r)) => add_version(state, v, &who.hash, &view, r, &fields).await,
        (Ok(()), None) => Err(AppError::BadRequest("the form has no 'file' part".into())),
        (Err(e), _) => Err(e),
    };
    if let (Err(_), Some(r)) = (&outcome, &received) {
        if let Err(e) = state.storage.delete(&r.key).await {
            tracing::warn!(error = %e, "could not remove the binary of a refused revision");
        }
    }
    outcome
}

/// The revision's sink: the slot's check on the first bytes, as for a first delivery.
struct RevisionSink<'a> {
    state: &'a AppState,
    slot: Option<&'a Slot>,
    max: u64,
}

impl FileSink for RevisionSink<'_> {
    type Stored = Received;

    async fn store(
        &mut self,
        filename: String,
        _fields: &Fields,
        field: &mut Field<'_>,
    ) -> Result<Received, AppError> {
        upload::store_checked(self.state, self.slot, self.max, filename, field).await
    }
}

async fn add_version(
    state: &AppState,
    v: &UploadLinkVisit,
    sender: &str,
    view: &AssetView,
    r: &Received,
    fields: &Fields,
) -> Result<AssetView, AppError> {
    let comment = fields.comment.as_deref().unwrap_or("").trim();
    if comment.chars().count() > MAX_COMMENT || comment.chars().any(char::is_control) {
        return Err(AppError::BadRequest(format!(
            "a comment has at most {MAX_COMMENT} characters on one line"
        )));
    }
    let media_type = mime_guess::from_path(&r.filename)
        .first_or_octet_stream()
        .to_string();
    let now = state.clock.now_ms();
    let id = view.asset.id.as_str();
    let mut tx = state.db.pool.begin().await?;
    // Still the sender's, still waiting for changes, the link still live: one statement.
    let done = sqlx::query(
        "UPDATE assets SET current_version_id = $2, status = 'in_review', review_comment = '', \
         updated_at = $3 WHERE id = $1 AND status = 'rejected' AND upload_link_id = $4 \
         AND upload_sender = $5 AND EXISTS (SELECT 1 FROM upload_links l WHERE l.id = $4 \
         AND l.revoked_at IS NULL AND l.expires_at > $3)",
    )
    .bind(id)
    .bind(&r.version_id)
    .bind(now)
    .bind(&v.link.id)
    .bind(sender)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(AppError::Conflict(
            "this file is not waiting for changes".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO asset_versions (id, asset_id, number, blob_key, sha256, size, media_type, \
         filename, uploaded_by, comment, created_at, crc32) \
         VALUES ($1, $2, (SELECT COALESCE(MAX(number), 0) + 1 FROM asset_versions \
         WHERE asset_id = $2), $3, $4, $5, $6, $7, NULL, $8, $9, $10)",
    )
    .bind(&r.version_id)
    .bind(id)
    .bind(&r.key)
    .bind(&r.blob.sha256)
    .bind(r.blob.size as i64)
    .bind(&media_type)
    .bind(&r.filename)
    .bind(comment)
    .bind(now)
    .bind(i64::from(r.blob.crc32))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let view = assets::get_current(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let detail = format!("v{}: {comment}", view.version.number);
    state
        .events
        .record(
            Event::new(EventKind::UploadLinkRevision)
                .link(&v.link.id)
                .asset(id)
                .detail(&detail),
            &v.client,
        )
        .await?;
    let via = crate::library::review::Sender::UploadLink {
        link_id: &v.link.id,
        name: &view.asset.uploader_name,
        email: &view.asset.uploader_email,
    };
    crate::library::review::submission_received(state, &view, via, "upload_link").await;
    super::visit::delivered(state, &v.link, sender, &view).await;
    Ok(view)
}
