//! Receiving an upload: multipart → SHA-256 → storage, streamed, then one transaction that
//! creates any subfolders of `relative_path`, the asset and its first version. The binary is
//! written under a fresh version id before the row exists and deleted again if anything fails,
//! so a failed or cut upload leaves nothing visible and no orphan.
use axum::extract::multipart::Field;
use axum::extract::Multipart;
use axum::http::HeaderMap;

use crate::access;
use crate::accounts::Account;
use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::library::assets::{self, AssetView};
use crate::library::{checkout, folders, review};
use crate::sanitize;
use crate::storage::{self, StoredBlob};
use crate::uploadlinks::slots::{self, Slot, SlotTicket};
use crate::uploadlinks::{quota, UploadLink};
use crate::web::client::ClientInfo;

/// Room for multipart framing and the small text fields around the file.
pub const MULTIPART_OVERHEAD: u64 = 1024 * 1024;
/// Largest text field accepted (description).
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// The text fields of an upload form.
#[derive(Debug, Default)]
pub struct Fields {
    pub title: Option<String>,
    pub description: Option<String>,
    pub keywords: Option<String>,
    pub relative_path: Option<String>,
    /// A check-in's comment.
    pub comment: Option<String>,
    /// Who sends files through an upload link (no account behind them).
    pub uploader_name: Option<String>,
    pub uploader_email: Option<String>,
    /// The delivery slot (its id) a file sent through an upload link goes into.
    pub slot: Option<String>,
}

pub struct Received {
    pub key: String,
    pub version_id: String,
    pub filename: String,
    pub blob: StoredBlob,
}

/// The request's declared `Content-Length`, if any.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Refuses a declared body over the limit before a byte of it is read (413).
pub fn check_declared_length(headers: &HeaderMap, max: u64) -> Result<(), AppError> {
    match declared_length(headers) {
        Some(n) if n > max + MULTIPART_OVERHEAD => Err(AppError::TooLarge(format!(
            "uploads are limited to {max} bytes"
        ))),
        _ => Ok(()),
    }
}

/// Handles one upload into `folder_id` by `who`.
/// The audit event of an upload (one per stored file, whichever way it came); the caller adds
/// who sent it.
fn uploaded(view: &AssetView) -> Event<'_> {
    Event::new(EventKind::Upload)
        .asset(&view.asset.id)
        .folder(&view.asset.folder_id)
}

pub async fn receive(
    state: &AppState,
    who: &Account,
    folder_id: &str,
    headers: &HeaderMap,
    mut multipart: Multipart,
    client: &ClientInfo,
) -> Result<AssetView, AppError> {
    let (folder, rights) = access::folder(&state.db, who, folder_id).await?;
    if !rights.contribute {
        return Err(AppError::Forbidden(
            "you may not upload into this folder".into(),
        ));
    }
    check_declared_length(headers, state.config.max_upload_bytes)?;

    let mut fields = Fields::default();
    let mut received: Option<Received> = None;
    let max = state.config.max_upload_bytes;
    let result = read_fields(state, max, &mut multipart, &mut fields, &mut received).await;
    let submitter = Submitter {
        status: if who.is_admin() { "draft" } else { "in_review" },
        submitted_by: (!who.is_admin()).then_some(who.id.as_str()),
        uploaded_by: Some(&who.id),
        via: None,
    };
    let outcome = match result {
        Ok(()) => match &received {
            Some(r) => commit(state, &submitter, &folder, &fields, r, None).await,
            None => Err(AppError::BadRequest("the form has no 'file' part".into())),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(view) => {
            state
                .events
                .record(
                    uploaded(&view).by(&who.id).detail(&view.version.filename),
                    client,
                )
                .await?;
            if !who.is_admin() {
                review::notify_admins_of_submission(state, who, &view).await;
                review::submission_received(state, &view, review::Sender::Member(who), "upload")
                    .await;
            }
            Ok(view)
        }
        Err(e) => {
            if let Some(r) = received {
                if let Err(del) = state.storage.delete(&r.key).await {
                    tracing::warn!(error = %del, "could not remove the binary of a failed upload");
                }
            }
            Err(e)
        }
    }
}

/// Commits a file that arrived by another route (a finished resumable upload) as a new asset in
/// `folder_id`, with the text fields of `meta` (title, description, keywords, relative_path),
/// exactly as a multipart upload would: same checks, statuses, event and notifications. The
/// caller's right to contribute is checked again here, at the moment the asset appears.
pub async fn commit_received(
    state: &AppState,
    who: &Account,
    folder_id: &str,
    meta: &std::collections::HashMap<String, String>,
    r: &Received,
    client: &ClientInfo,
) -> Result<AssetView, AppError> {
    let (folder, rights) = access::folder(&state.db, who, folder_id).await?;
    if !rights.contribute {
        return Err(AppError::Forbidden(
            "you may not upload into this folder".into(),
        ));
    }
    let fields = Fields {
        title: meta.get("title").cloned(),
        description: meta.get("description").cloned(),
        keywords: meta.get("keywords").cloned(),
        relative_path: meta.get("relative_path").cloned(),
        ..Fields::default()
    };
    let submitter = Submitter {
        status: if who.is_admin() { "draft" } else { "in_review" },
        submitted_by: (!who.is_admin()).then_some(who.id.as_str()),
        uploaded_by: Some(&who.id),
        via: None,
    };
    let view = commit(state, &submitter, &folder, &fields, r, None).await?;
    state
        .events
        .record(
            uploaded(&view).by(&who.id).detail(&view.version.filename),
            client,
        )
        .await?;
    if !who.is_admin() {
        review::notify_admins_of_submission(state, who, &view).await;
        review::submission_received(state, &view, review::Sender::Member(who), "upload").await;
    }
    Ok(view)
}

/// Handles one file sent through an upload link: it lands `in_review` in the link's folder (or
/// the subfolders of its `relative_path`), attributed to the sender's name and email, within the
/// link's quota and, when the link has delivery slots, in the slot the form names (`slot`,
/// before the file part), which checks the file's first bytes before any is stored. The link's
/// required fields must be filled in.
///
/// The quota is reserved (`uploadlinks::quota`) before a byte is read and the stream is cut at
/// the reservation, so a full link stores nothing and a file over what is left stops there.
pub async fn receive_via_link(
    state: &AppState,
    link: &UploadLink,
    sender: &str,
    headers: &HeaderMap,
    mut multipart: Multipart,
    client: &ClientInfo,
) -> Result<AssetView, AppError> {
    check_declared_length(headers, state.config.max_upload_bytes)?;
    if let Some(left) = link.bytes_left() {
        check_declared_length(headers, left.max(0) as u64)?;
    }
    let slots: Vec<Slot> = slots::of_link(&state.db, &link.id)
        .await?
        .into_iter()
        .map(|f| f.slot)
        .collect();
    let reservation = quota::reserve(
        &state.db,
        link,
        declared_length(headers),
        state.clock.now_ms(),
    )
    .await?;
    let max = state.config.max_upload_bytes;
    let limit = reservation.limit().map_or(max, |l| l.min(max));
    let mut fields = Fields::default();
    let mut received: Option<LinkReceived> = None;
    let mut sink = ToLinkStorage {
        state,
        max: limit,
        slots: &slots,
    };
    let result = read_form(&mut multipart, &mut fields, &mut received, &mut sink)
        .await
        .map_err(|e| match e {
            // Cut at the reservation, not at the server's own limit: the link is what is full.
            AppError::TooLarge(_) if limit < max => quota::too_large(),
            e => e,
        });
    let Some(received) = received else {
        reservation.release().await?;
        return Err(result
            .err()
            .unwrap_or_else(|| AppError::BadRequest("the form has no 'file' part".into())));
    };
    if let Err(e) = result {
        received.discard(state).await;
        reservation.release().await?;
        return Err(e);
    }
    commit_via_link(state, link, sender, &fields, received, reservation, client).await
}

/// A file stored through an upload link, with its place in a slot (if the link has slots).
pub struct LinkReceived {
    pub received: Received,
    pub ticket: Option<SlotTicket>,
}

impl LinkReceived {
    /// Removes the stored binary and gives the slot place back (the file was refused).
    pub async fn discard(self, state: &AppState) {
        if let Err(del) = state.storage.delete(&self.received.key).await {
            tracing::warn!(error = %del, "could not remove the binary of a failed upload");
        }
        if let Some(t) = self.ticket {
            if let Err(e) = t.release().await {
                tracing::warn!(error = %e, "could not give back a slot place");
            }
        }
    }
}

/// The slot a file goes into: the one the form names, or none on a link without slots. A
/// slot that wants a title per file refuses a file without one, before its bytes.
pub fn pick_slot<'s>(slots: &'s [Slot], fields: &Fields) -> Result<Option<&'s Slot>, AppError> {
    if slots.is_empty() {
        return Ok(None);
    }
    let wanted = fields.slot.as_deref().unwrap_or("").trim();
    let slot = slots
        .iter()
        .find(|s| s.id == wanted)
        .ok_or_else(|| AppError::Unprocessable("choose the slot this file is for".into()))?;
    if slot.title_required && fields.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Err(AppError::Unprocessable(format!(
            "“{}” needs a title for each file",
            slot.name
        )));
    }
    Ok(Some(slot))
}

/// An upload link's sink: takes the file's place in its slot, checks the first bytes against
/// the slot before storing any, and stores the rest cut at `max` (and the slot's byte limit).
struct ToLinkStorage<'a> {
    state: &'a AppState,
    max: u64,
    slots: &'a [Slot],
}

impl FileSink for ToLinkStorage<'_> {
    type Stored = LinkReceived;

    async fn store(
        &mut self,
        filename: String,
        fields: &Fields,
        field: &mut Field<'_>,
    ) -> Result<LinkReceived, AppError> {
        let state = self.state;
        let Some(slot) = pick_slot(self.slots, fields)? else {
            let received = store_checked(state, None, self.max, filename, field).await?;
            return Ok(LinkReceived {
                received,
                ticket: None,
            });
        };
        let ticket = slots::reserve(&state.db, slot).await?;
        match store_checked(state, Some(slot), self.max, filename, field).await {
            Ok(received) => Ok(LinkReceived {
                received,
                ticket: Some(ticket),
            }),
            Err(e) => {
                ticket.release().await?;
                Err(e)
            }
        }
    }
}

/// Stores a file part under a fresh version id, at most `max` bytes; with a slot, first reads
/// the file's first bytes (up to `probe::HEAD`) and refuses it if the slot does not take it
/// (nothing stored), then stores those bytes and the rest, cut at the slot's byte limit.
pub async fn store_checked(
    state: &AppState,
    slot: Option<&Slot>,
    max: u64,
    filename: String,
    field: &mut Field<'_>,
) -> Result<Received, AppError> {
    let Some(slot) = slot else {
        return ToStorage(state, max)
            .store(filename, &Fields::default(), field)
            .await;
    };
    let mut head = bytes::BytesMut::new();
    let mut ended = false;
    while head.len() < crate::media::probe::HEAD {
        match field
            .chunk()
            .await
            .map_err(|e| AppError::BadRequest(format!("malformed multipart body: {e}")))?
        {
            Some(c) => head.extend_from_slice(&c),
            None => {
                ended = true;
                break;
            }
        }
    }
    slot.check_head(&head, ended).into_result()?;
    let limit = slot.max_bytes.map_or(max, |b| (b as u64).min(max));
    if head.len() as u64 > limit {
        return Err(slot.too_large());
    }
    let version_id = db::new_id();
    let key = storage::original_key(&version_id);
    let first = futures_util::stream::once(std::future::ready(Ok(head.freeze())));
    let body = futures_util::StreamExt::chain(first, field);
    let blob =
        state
            .storage
            .put_stream(&key, body, limit)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::TooLarge(_) if limit < max => slot.too_large(),
                e => e,
            })?;
    Ok(Received {
        key,
        version_id,
        filename,
        blob,
    })
}

/// Creates the asset of a file stored through an upload link (multipart or tus): checks the
/// sender's fields, settles the quota reservation and the slot place in the asset's
/// transaction, records the upload; on any refusal removes the binary and gives both back.
pub async fn commit_via_link(
    state: &AppState,
    link: &UploadLink,
    sender_hash: &str,
    fields: &Fields,
    received: LinkReceived,
    mut reservation: quota::Reservation,
    client: &ClientInfo,
) -> Result<AssetView, AppError> {
    let folder = folders::get(&state.db, &link.folder_id)
        .await?
        .ok_or(AppError::NotFound);
    let outcome = match (folder, sender(link, fields)) {
        (Ok(folder), Ok((name, email))) => {
            let submitter = Submitter {
                status: "in_review",
                submitted_by: None,
                uploaded_by: None,
                via: Some(Via {
                    link,
                    name,
                    email,
                    slot_id: received.ticket.as_ref().map(|t| t.slot.id.as_str()),
                    sender: sender_hash,
                }),
            };
            commit(
                state,
                &submitter,
                &folder,
                fields,
                &received.received,
                Some(&mut reservation),
            )
            .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let view = match outcome {
        Ok(view) => view,
        Err(e) => {
            received.discard(state).await;
            reservation.release().await?;
            return Err(e);
        }
    };
    if let Some(mut t) = received.ticket {
        t.committed();
    }
    let detail = format!(
        "{} <{}>: {}",
        view.asset.uploader_name, view.asset.uploader_email, view.version.filename
    );
    state
        .events
        .record(uploaded(&view).link(&link.id).detail(&detail), client)
        .await?;
    let sender = review::Sender::UploadLink {
        link_id: &link.id,
        name: &view.asset.uploader_name,
        email: &view.asset.uploader_email,
    };
    review::submission_received(state, &view, sender, "upload_link").await;
    Ok(view)
}

/// The sender's name and email, and the link's required fields, checked.
pub fn sender(link: &UploadLink, fields: &Fields) -> Result<(String, String), AppError> {
    let name = fields.uploader_name.as_deref().unwrap_or("").trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(AppError::BadRequest(
            "give your name (up to 200 characters)".into(),
        ));
    }
    let email =
        crate::accounts::users::normalize_email(fields.uploader_email.as_deref().unwrap_or(""))?;
    for required in link.required_fields() {
        let given = match required {
            "title" => fields.title.as_deref(),
            "description" => fields.description.as_deref(),
            _ => fields.keywords.as_deref(),
        };
        if given.is_none_or(|v| v.trim().is_empty()) {
            return Err(AppError::BadRequest(format!("the {required} is required")));
        }
    }
    Ok((name.to_string(), email))
}

/// Handles a check-in: a new binary for asset `asset_id` with a comment (SPEC "Check-out").
/// The binary is stored first and removed again if the check-in is refused or unchanged.
pub async fn receive_version(
    state: &AppState,
    who: &Account,
    asset_id: &str,
    headers: &HeaderMap,
    mut multipart: Multipart,
    client: &ClientInfo,
) -> Result<checkout::CheckIn, AppError> {
    let view = checkout::editable(&state.db, who, asset_id, state.clock.now_ms()).await?;
    check_declared_length(headers, state.config.max_upload_bytes)?;
    let mut fields = Fields::default();
    let mut received: Option<Received> = None;
    let max = state.config.max_upload_bytes;
    let result = read_fields(state, max, &mut multipart, &mut fields, &mut received).await;
    let outcome = match (result, &received) {
        (Ok(()), Some(r)) => {
            let comment = fields.comment.as_deref().unwrap_or("");
            checkout::check_in(state, who, &view, r, comment, client).await
        }
        (Ok(()), None) => Err(AppError::BadRequest("the form has no 'file' part".into())),
        (Err(e), _) => Err(e),
    };
    // The stored binary stays only if it became a new version.
    let keep = matches!(outcome, Ok(checkout::CheckIn::Created(_)));
    if let (false, Some(r)) = (keep, received) {
        if let Err(del) = state.storage.delete(&r.key).await {
            tracing::warn!(error = %del, "could not remove the binary of a refused check-in");
        }
    }
    outcome
}

/// Reads the form, storing its file part cut at `max` bytes.
async fn read_fields(
    state: &AppState,
    max: u64,
    multipart: &mut Multipart,
    fields: &mut Fields,
    received: &mut Option<Received>,
) -> Result<(), AppError> {
    read_form(multipart, fields, received, &mut ToStorage(state, max)).await
}

/// Where the file part of an upload form goes, as its bytes arrive.
pub trait FileSink {
    type Stored;
    /// Takes the part (file name already accepted by `sanitize::name`) to its end; `fields`
    /// holds the text fields that came before it.
    fn store(
        &mut self,
        filename: String,
        fields: &Fields,
        field: &mut Field<'_>,
    ) -> impl std::future::Future<Output = Result<Self::Stored, AppError>> + Send;
}

/// The server's sink: the portal's storage, under a fresh version id, at most `.1` bytes.
struct ToStorage<'a>(&'a AppState, u64);

impl FileSink for ToStorage<'_> {
    type Stored = Received;

    async fn store(
        &mut self,
        filename: String,
        _fields: &Fields,
        field: &mut Field<'_>,
    ) -> Result<Received, AppError> {
        let state = self.0;
        let version_id = db::new_id();
        let key = storage::original_key(&version_id);
        let blob = state.storage.put_stream(&key, field, self.1).await?;
        Ok(Received {
            key,
            version_id,
            filename,
            blob,
        })
    }
}

/// Reads an upload form: its text fields into `fields`, and its one `file` part, with the file
/// name already sanitised, into `sink` as the bytes arrive. What the sink returns lands in
/// `received` at once, so a caller can remove a stored file when a later part fails. Unknown
/// parts are drained and ignored. (Separate from storage so `fuzz/` can run it on any bytes.)
pub async fn read_form<S: FileSink>(
    multipart: &mut Multipart,
    fields: &mut Fields,
    received: &mut Option<S::Stored>,
    sink: &mut S,
) -> Result<(), AppError> {
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| AppError::BadRequest(format!("malformed multipart body: {e}")))?;
        let Some(mut field) = field else {
            return Ok(());
        };
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                if received.is_some() {
                    return Err(AppError::BadRequest("one file per upload request".into()));
                }
                let raw = field.file_name().unwrap_or("").to_string();
                let filename = sanitize::name(&raw)
                    .map_err(|e| AppError::BadRequest(format!("file name refused: {e}")))?;
                *received = Some(sink.store(filename, fields, &mut field).await?);
            }
            "title" | "description" | "keywords" | "relative_path" | "comment"
            | "uploader_name" | "uploader_email" | "slot" => {
                let mut text = Vec::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| AppError::BadRequest(format!("malformed multipart body: {e}")))?
                {
                    if text.len() + chunk.len() > MAX_TEXT_FIELD {
                        return Err(AppError::BadRequest(format!("field '{name}' is too long")));
                    }
                    text.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(text)
                    .map_err(|_| AppError::BadRequest(format!("field '{name}' is not UTF-8")))?;
                let slot = match name.as_str() {
                    "title" => &mut fields.title,
                    "description" => &mut fields.description,
                    "keywords" => &mut fields.keywords,
                    "comment" => &mut fields.comment,
                    "uploader_name" => &mut fields.uploader_name,
                    "uploader_email" => &mut fields.uploader_email,
                    "slot" => &mut fields.slot,
                    _ => &mut fields.relative_path,
                };
                *slot = Some(text);
            }
            // Unknown parts (e.g. a browser's extra inputs) are drained and ignored.
            _ => while let Ok(Some(_)) = field.chunk().await {},
        }
    }
}

/// Who an upload comes from, and what it becomes.
struct Submitter<'a> {
    status: &'static str,
    submitted_by: Option<&'a str>,
    uploaded_by: Option<&'a str>,
    /// An upload link, with the sender: its reservation is settled in the same transaction
    /// that creates the asset.
    via: Option<Via<'a>>,
}

/// A file's way in through an upload link: who sent it (name, email, the sender cookie's hash)
/// and into which slot.
struct Via<'a> {
    link: &'a UploadLink,
    name: String,
    email: String,
    slot_id: Option<&'a str>,
    sender: &'a str,
}

async fn commit(
    state: &AppState,
    who: &Submitter<'_>,
    folder: &folders::Folder,
    fields: &Fields,
    r: &Received,
    mut reservation: Option<&mut quota::Reservation>,
) -> Result<AssetView, AppError> {
    let title = assets::check_title(fields.title.as_deref().unwrap_or(""))?;
    let description = assets::check_description(fields.description.as_deref().unwrap_or(""))?;
    let keywords = assets::check_keywords(&assets::split_keywords(
        fields.keywords.as_deref().unwrap_or(""),
    ))?;
    // relative_path `a/b/c.jpg` puts the file in subfolders a/b; its last segment names the file.
    let (dirs, filename) = match fields
        .relative_path
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        Some(p) => {
            let mut segs = sanitize::relative_path(p)
                .map_err(|e| AppError::BadRequest(format!("relative_path refused: {e}")))?;
            let name = segs.pop().unwrap_or_else(|| r.filename.clone());
            (segs, name)
        }
        None => (Vec::new(), r.filename.clone()),
    };
    let media_type = mime_guess::from_path(&filename)
        .first_or_octet_stream()
        .to_string();
    let asset_id = db::new_id();
    let now = state.clock.now_ms();

    let mut tx = state.db.pool.begin().await?;
    if let Some(q) = reservation.as_deref_mut() {
        q.settle(&mut tx, r.blob.size, now).await?;
    }
    let target = folders::ensure_path(&mut tx, folder, &dirs, state.clock.now_ms()).await?;
    let (link_id, name, email, slot_id, sender) = match &who.via {
        Some(v) => (
            Some(v.link.id.as_str()),
            v.name.as_str(),
            v.email.as_str(),
            v.slot_id,
            v.sender,
        ),
        None => (None, "", "", None, ""),
    };
    sqlx::query(
        "INSERT INTO assets (id, folder_id, filename, status, title, description, keywords, \
         current_version_id, submitted_by, created_at, updated_at, upload_link_id, \
         uploader_name, uploader_email, upload_slot_id, upload_sender) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15)",
    )
    .bind(&asset_id)
    .bind(&target.id)
    .bind(&filename)
    .bind(who.status)
    .bind(&title)
    .bind(&description)
    .bind(keywords.join(", "))
    .bind(&r.version_id)
    .bind(who.submitted_by)
    .bind(now)
    .bind(link_id)
    .bind(name)
    .bind(email)
    .bind(slot_id)
    .bind(sender)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO asset_versions (id, asset_id, number, blob_key, sha256, size, media_type, \
         filename, uploaded_by, comment, created_at, crc32) \
         VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, '', $9, $10)",
    )
    .bind(&r.version_id)
    .bind(&asset_id)
    .bind(&r.key)
    .bind(&r.blob.sha256)
    .bind(r.blob.size as i64)
    .bind(&media_type)
    .bind(&filename)
    .bind(who.uploaded_by)
    .bind(now)
    .bind(i64::from(r.blob.crc32))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some(q) = reservation {
        q.committed();
    }
    assets::get_current(&state.db, &asset_id)
        .await?
        .ok_or(AppError::NotFound)
}
