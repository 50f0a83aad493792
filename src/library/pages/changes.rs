//! What the asset page's forms change: metadata, review decisions, check-out, check-in and
//! the current version. Each calls one action and returns to the page.
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use crate::accounts::{PageAdmin, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageError, PageResult};
use crate::ids::AssetId;
use crate::library::assets::{self, Changes};
use crate::library::{actions, checkout, review, upload};
use crate::web::client::ClientInfo;

pub(super) fn routes(max_upload: u64) -> Router<AppState> {
    Router::new()
        .route("/assets/{id}/edit", post(edit_asset))
        .route("/assets/{id}/lifecycle", post(lifecycle))
        .route("/assets/{id}/checkout", post(checkout_action))
        .route(
            "/assets/{id}/checkin",
            post(checkin).layer(DefaultBodyLimit::max(
                (max_upload + upload::MULTIPART_OVERHEAD) as usize,
            )),
        )
        .route(
            "/assets/{id}/versions/{version_id}/current",
            post(make_current),
        )
        .route("/assets/{id}/recall", post(recall))
}

#[derive(Deserialize)]
struct EditForm {
    title: String,
    description: String,
    keywords: String,
    available_from: String,
    available_until: String,
    #[serde(default)]
    credit: String,
    #[serde(default)]
    usage_terms: String,
}

/// `datetime-local` inputs carry no zone; the form says they are UTC.
pub fn form_time(s: &str) -> Result<Option<i64>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let full = if s.len() == 16 {
        format!("{s}:00Z")
    } else {
        format!("{s}Z")
    };
    clock::parse_rfc3339(&full)
        .map(Some)
        .ok_or_else(|| AppError::BadRequest(format!("'{s}' is not a date and time")))
}

async fn edit_asset(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<AssetId>,
    Form(f): Form<EditForm>,
) -> PageResult<Response> {
    let changes = Changes {
        title: Some(f.title),
        description: Some(f.description),
        keywords: Some(assets::split_keywords(&f.keywords)),
        available_from: Some(form_time(&f.available_from)?),
        available_until: Some(form_time(&f.available_until)?),
        credit: Some(f.credit),
        usage_terms: Some(f.usage_terms),
        ..Default::default()
    };
    match actions::edit_asset(&state, &me.account, &id, changes, &client).await {
        Ok(()) => {
            me.flash("Changes saved.").await;
        }
        Err(e) if e.is_correctable() => me.flash(format!("Not saved: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

#[derive(Deserialize)]
struct LifecycleForm {
    action: String,
    comment: Option<String>,
    /// Approve into another folder.
    folder_id: Option<String>,
    /// Where to return (only the review queue; otherwise the asset page).
    back: Option<String>,
}

async fn lifecycle(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(f): Form<LifecycleForm>,
) -> PageResult<Response> {
    let comment = f.comment.as_deref().unwrap_or("");
    let action = review::Action::parse(&f.action)
        .ok_or_else(|| PageError(AppError::BadRequest("unknown action".into())))?;
    let done = match action {
        review::Action::Approve => "Approved: partners with access can now see it.",
        review::Action::Reject => "Changes requested; the contributor can read your comment.",
        review::Action::Archive => "Archived: withdrawn from partners.",
        review::Action::Restore => "Restored.",
    };
    let into = f.folder_id.as_deref().filter(|s| !s.is_empty());
    match review::decide(&state, &me.account, &id, action, comment, into, &client).await {
        Ok(()) => me.flash(done).await,
        Err(e) if e.is_correctable() => me.flash(format!("Not done: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    let back = f
        .back
        .as_deref()
        .filter(|b| *b == "/admin/review")
        .unwrap_or("");
    if !back.is_empty() {
        return Ok(Redirect::to(back).into_response());
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

#[derive(Deserialize)]
struct CheckoutForm {
    /// "out" or "release".
    action: String,
}

/// Check out, release, or (admins) break someone else's lock.
async fn checkout_action(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path(id): Path<AssetId>,
    Form(f): Form<CheckoutForm>,
) -> PageResult<Response> {
    let who = &user.account;
    let (result, done) = match f.action.as_str() {
        "out" => (
            actions::check_out(&state, who, &id, &client).await,
            "Checked out: nobody else can check in a new version until you do or release it.",
        ),
        "release" => (
            actions::release(&state, who, &id, &client).await,
            "Released.",
        ),
        _ => return Err(PageError(AppError::BadRequest("unknown action".into()))),
    };
    match result {
        Ok(()) => user.flash(done).await,
        Err(e @ AppError::Conflict(_)) => user.flash(format!("Not done: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

/// A check-in from the asset page's file form.
async fn checkin(
    State(state): State<AppState>,
    user: PageUser,
    client: ClientInfo,
    Path(id): Path<String>,
    headers: HeaderMap,
    multipart: Multipart,
) -> PageResult<Response> {
    let outcome =
        upload::receive_version(&state, &user.account, &id, &headers, multipart, &client).await;
    match outcome {
        Ok(checkout::CheckIn::Created(v)) => {
            user.flash(format!(
                "Version {} checked in; it waits for review while partners keep the published version.",
                v.number
            ))
            .await
        }
        Ok(checkout::CheckIn::Unchanged(v)) => {
            user.flash(format!(
                "That file is identical to version {}: no new version was made. The lock is released.",
                v.number
            ))
            .await
        }
        Err(e) if e.is_correctable() => {
            user.flash(format!("Not checked in: {e}.")).await
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

async fn make_current(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path((id, version_id)): Path<(AssetId, String)>,
) -> PageResult<Response> {
    match actions::make_current(&state, &me.account, &id, &version_id, &client).await {
        Ok(()) => {
            me.flash("That version is current again.").await;
        }
        Err(e @ AppError::Conflict(_)) => me.flash(format!("Not done: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}")).into_response())
}

#[derive(Deserialize)]
struct RecallForm {
    mode: String,
    #[serde(default)]
    message: String,
}

async fn recall(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<AssetId>,
    Form(f): Form<RecallForm>,
) -> PageResult<Response> {
    let mode = crate::recalls::Mode::parse(&f.mode)
        .ok_or_else(|| AppError::BadRequest("choose what the holders should do".into()))?;
    match crate::recalls::recall(&state, &me.account, &id, mode, &f.message, &client).await {
        Ok(o) => {
            me.flash(format!(
                "Recalled: {} {} notified; {} anonymous download{} could not be told.",
                o.notified,
                if o.notified == 1 {
                    "person is"
                } else {
                    "people are"
                },
                o.anonymous,
                if o.anonymous == 1 { "" } else { "s" }
            ))
            .await
        }
        Err(e) if e.is_correctable() => me.flash(format!("Not recalled: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/assets/{id}#holders-title")).into_response())
}
