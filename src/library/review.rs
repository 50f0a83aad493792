//! Review: an admin decides on what contributors sent (approve, optionally into another folder;
//! reject with a comment; archive; restore), one asset or many at once. Each decision is recorded
//! and the contributor of the version decided on hears about it by email.
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

use crate::accounts::{users, Account};
use crate::app::AppState;
use crate::db::Db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::library::assets::{self, AssetView};
use crate::library::folders;
use crate::web::client::ClientInfo;
use crate::webhooks::{self, WebhookKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Approve,
    Reject,
    Archive,
    Restore,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "approve" => Some(Action::Approve),
            "reject" => Some(Action::Reject),
            "archive" => Some(Action::Archive),
            "restore" => Some(Action::Restore),
            _ => None,
        }
    }
    /// The event a decision is recorded as.
    fn kind(self) -> EventKind {
        match self {
            Action::Approve => EventKind::Approve,
            Action::Reject => EventKind::Reject,
            Action::Archive => EventKind::Archive,
            Action::Restore => EventKind::Restore,
        }
    }
}

/// Runs one decision on one asset. `into` moves an approved asset to another folder first.
pub async fn decide(
    state: &AppState,
    admin: &Account,
    id: &str,
    action: Action,
    comment: &str,
    into: Option<&str>,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let db = &state.db;
    // The version decided on, before the decision changes what is current.
    let before = assets::get_current(db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let (Action::Approve, Some(folder_id)) = (action, into) {
        folders::get(db, folder_id)
            .await?
            .ok_or_else(|| AppError::Unprocessable("the target folder does not exist".into()))?;
    }
    match action {
        Action::Approve => assets::approve(db, id).await?,
        Action::Reject => assets::reject(db, id, comment).await?,
        Action::Archive => assets::archive(db, id).await?,
        Action::Restore => assets::restore(db, id).await?,
    }
    if let (Action::Approve, Some(folder_id)) = (action, into) {
        let changes = assets::Changes {
            folder_id: Some(folder_id.to_string()),
            ..Default::default()
        };
        assets::update(db, id, changes).await?;
    }
    state
        .events
        .record(
            Event::new(action.kind())
                .by(&admin.id)
                .asset(id)
                .detail(comment),
            client,
        )
        .await?;
    if matches!(action, Action::Approve | Action::Reject) {
        notify(state, admin, &before, action == Action::Approve, comment).await?;
    }
    // A sender without an account hears of it by mail, with the way back to their link.
    if action == Action::Reject {
        crate::uploadlinks::revisions::changes_requested(state, &before).await;
    }
    if action == Action::Approve && webhooks::wanted(state, WebhookKind::AssetApproved) {
        let mut data = asset_data(state, &before);
        data["folder_id"] = json!(into.unwrap_or(&before.asset.folder_id));
        data["approved_by"] =
            json!({ "user_id": admin.id, "name": admin.name, "email": admin.email });
        webhooks::emit(state, WebhookKind::AssetApproved, data).await;
    }
    recall_superseded(state, admin, &before, action, client).await?;
    Ok(())
}

/// Approving a newer version supersedes the one partners had; archiving withdraws the asset:
/// either tells everyone who has an older copy (`recalls`).
async fn recall_superseded(
    state: &AppState,
    admin: &Account,
    before: &AssetView,
    action: Action,
    client: &ClientInfo,
) -> Result<(), AppError> {
    use crate::recalls::{Mode, Reason, Trigger};
    let id = before.asset.id.as_str();
    let trigger = match action {
        Action::Approve
            if before
                .asset
                .approved_version_id
                .as_deref()
                .is_some_and(|v| v != before.version.id) =>
        {
            Trigger {
                asset_id: id,
                reason: Reason::Replaced,
                mode: Mode::Replace,
                message: "",
                by: Some(admin),
                keep_empty: false,
                dedupe: format!("replaced:{}", before.version.id),
            }
        }
        Action::Archive => Trigger {
            asset_id: id,
            reason: Reason::Archived,
            mode: Mode::Stop,
            message: "",
            by: Some(admin),
            keep_empty: false,
            dedupe: format!("archived:{id}:{}", state.clock.now_ms()),
        },
        _ => return Ok(()),
    };
    crate::recalls::open(state, trigger, client).await?;
    Ok(())
}

/// An asset and the version concerned, as webhooks describe it.
pub fn asset_data(state: &AppState, view: &AssetView) -> Value {
    json!({
        "asset_id": view.asset.id,
        "title": view.asset.title,
        "folder_id": view.asset.folder_id,
        "version_id": view.version.id,
        "version": view.version.number,
        "filename": view.version.filename,
        "media_type": view.version.media_type,
        "size": view.version.size,
        "sha256": view.version.sha256,
        "url": format!("{}/assets/{}", state.config.public_url, view.asset.id),
    })
}

/// Who sent a submission.
pub enum Sender<'a> {
    Member(&'a Account),
    /// Someone without an account, through an upload link, by the name and email they gave.
    UploadLink {
        link_id: &'a str,
        name: &'a str,
        email: &'a str,
    },
}

/// Sends `submission.received` for `view`, a file or version now waiting for review; `via` is
/// `upload`, `upload_link` or `check_in`. Free when no webhook listens.
pub async fn submission_received(
    state: &AppState,
    view: &AssetView,
    sender: Sender<'_>,
    via: &str,
) {
    if !webhooks::wanted(state, WebhookKind::SubmissionReceived) {
        return;
    }
    let mut data = asset_data(state, view);
    data["via"] = json!(via);
    data["review_url"] = json!(format!("{}/admin/review", state.config.public_url));
    match sender {
        Sender::Member(who) => {
            data["submitted_by"] =
                json!({ "user_id": who.id, "name": who.name, "email": who.email });
            data["upload_link_id"] = Value::Null;
        }
        Sender::UploadLink {
            link_id,
            name,
            email,
        } => {
            data["submitted_by"] = json!({ "user_id": null, "name": name, "email": email });
            data["upload_link_id"] = json!(link_id);
        }
    }
    webhooks::emit(state, WebhookKind::SubmissionReceived, data).await;
}

/// Tells the uploader of the version decided on (not the admin who acted): kept for the
/// session's one mail (`outcomes`).
async fn notify(
    state: &AppState,
    admin: &Account,
    view: &AssetView,
    approved: bool,
    comment: &str,
) -> Result<(), AppError> {
    let Some(uploader) = view.version.uploaded_by.as_deref() else {
        return Ok(());
    };
    if uploader == admin.id.as_str() {
        return Ok(());
    }
    if users::by_id(&state.db, uploader).await?.is_none() {
        return Ok(());
    }
    super::outcomes::record(state, uploader, admin.id.as_str(), view, approved, comment).await
}

/// One entry of the review queue or of a contributor's submissions.
pub struct Submission {
    pub view: AssetView,
    pub folder_path: String,
    pub uploader: String,
}

/// What waits for review: new submissions and checked-in versions, oldest first; with
/// `drafts`, also admins' own uploads that nobody has approved yet (the review page lists them
/// so they can be published in bulk; the API's queue stays submissions only).
pub async fn queue(db: &Db, drafts: bool, limit: i64) -> Result<Vec<Submission>, sqlx::Error> {
    // What waits for a decision, not what anyone may see: this is the review queue, not a
    // visibility rule (that one is `access::published_clause`).
    let filter = format!(
        // `$1 = $1` keeps the (unused) key parameter referenced.
        "(a.status = 'in_review' {} OR (a.status = 'approved' \
         AND a.current_version_id <> a.approved_version_id)) AND $1 = $1",
        if drafts { "OR a.status = 'draft'" } else { "" }
    );
    list(db, &filter, "", false, limit).await
}

/// What `user_id` submitted or checked in, in any status, newest first.
pub async fn submitted_by(
    db: &Db,
    user_id: &str,
    limit: i64,
) -> Result<Vec<Submission>, sqlx::Error> {
    list(
        db,
        "a.submitted_by = $1 OR EXISTS (SELECT 1 FROM asset_versions o WHERE o.asset_id = a.id AND o.uploaded_by = $1)",
        user_id,
        true,
        limit,
    )
    .await
}

async fn list(
    db: &Db,
    filter: &str,
    key: &str,
    newest_first: bool,
    limit: i64,
) -> Result<Vec<Submission>, sqlx::Error> {
    let order = if newest_first { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {cols}, f.path AS folder_path, COALESCE(u.name, CASE WHEN a.uploader_name <> '' \
         THEN a.uploader_name || ' <' || a.uploader_email || '> (upload link)' ELSE '' END) AS uploader_label \
         FROM assets a JOIN asset_versions v ON v.id = a.current_version_id \
         JOIN folders f ON f.id = a.folder_id LEFT JOIN users u ON u.id = v.uploaded_by \
         WHERE ({filter}) ORDER BY v.created_at {order}, a.id LIMIT $2",
        cols = assets::COLS
    );
    sqlx::query(&sql)
        .bind(key)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Submission {
                view: assets::view_from_row(r)?,
                folder_path: r.try_get("folder_path")?,
                uploader: r.try_get("uploader_label")?,
            })
        })
        .collect()
}

/// A human label of where an entry stands, for contributors and reviewers.
pub fn stage(view: &AssetView) -> &'static str {
    if view.pending_review() {
        "new version in review"
    } else if view.asset.status == "approved" && !view.asset.review_comment.is_empty() {
        // Approve and check-in clear the comment; reject sets it.
        "new version not approved"
    } else {
        match view.asset.status.as_str() {
            "in_review" => "in review",
            "approved" => "approved",
            "rejected" => "changes requested",
            "archived" => "archived",
            _ => "draft",
        }
    }
}

/// Tells every admin that contributors sent something for review (`alerts`): at once for the
/// first file after a quiet spell, then what arrives within ten minutes in one mail naming
/// the files and who sent them. A failure is logged, never returned: the upload itself has
/// succeeded.
pub async fn notify_admins_of_submission(state: &AppState, _who: &Account, _view: &AssetView) {
    if let Err(e) = super::alerts::submitted(state).await {
        tracing::warn!(error = %e, "could not notify admins of a submission");
    }
}
