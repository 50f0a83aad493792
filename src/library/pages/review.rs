//! The review queue (admins) and a contributor's own submissions.
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use crate::accounts::{PageAdmin, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageError, PageResult};
use crate::library::card::AssetCard;
use crate::library::review;
use crate::web::client::ClientInfo;
use crate::web::format::human_size;
use crate::web::layout::{render, Layout};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/review", get(review_page))
        .route("/admin/review/bulk", post(review_bulk))
        .route("/submissions", get(submissions_page))
}

struct ReviewItem {
    card: AssetCard,
    id: String,
    label: String,
    filename: String,
    size: String,
    folder: String,
    version: String,
    comment: String,
    uploader: String,
    sent: String,
    stage: &'static str,
    status_class: &'static str,
    review_comment: String,
}

impl ReviewItem {
    fn new(s: &review::Submission) -> ReviewItem {
        let a = &s.view.asset;
        let v = &s.view.version;
        let stage = review::stage(&s.view);
        ReviewItem {
            card: AssetCard::from_view(&s.view),
            id: a.id.to_string(),
            label: if a.title.is_empty() {
                a.filename.clone()
            } else {
                a.title.clone()
            },
            filename: v.filename.clone(),
            size: human_size(v.size),
            folder: s.folder_path.clone(),
            version: format!("v{}", v.number),
            comment: v.comment.clone(),
            uploader: s.uploader.clone(),
            sent: clock::human(v.created_at),
            stage,
            status_class: match stage {
                "new version in review" | "in review" => "in_review",
                "changes requested" | "new version not approved" => "rejected",
                "approved" => "approved",
                "archived" => "archived",
                _ => "draft",
            },
            review_comment: a.review_comment.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "library/review.html")]
struct ReviewPage {
    layout: Layout,
    admin_view: bool,
    items: Vec<ReviewItem>,
}

async fn review_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    let items = review::queue(&state.db, true, 1000)
        .await?
        .iter()
        .map(ReviewItem::new)
        .collect();
    let page = ReviewPage {
        layout: Layout::for_user("Review queue", &me, "review"),
        admin_view: true,
        items,
    };
    Ok(render(&page)?.into_response())
}

async fn submissions_page(State(state): State<AppState>, user: PageUser) -> PageResult<Response> {
    let items = review::submitted_by(&state.db, &user.account.id, 1000)
        .await?
        .iter()
        .map(ReviewItem::new)
        .collect();
    let page = ReviewPage {
        layout: Layout::for_user("My submissions", &user, "submissions"),
        admin_view: false,
        items,
    };
    Ok(render(&page)?.into_response())
}

/// The queue's bulk form: one decision on every selected asset, each on its own.
async fn review_bulk(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let action = review::Action::parse(field("action"))
        .filter(|a| matches!(a, review::Action::Approve | review::Action::Reject))
        .ok_or_else(|| PageError(AppError::BadRequest("unknown action".into())))?;
    let ids: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "asset_ids")
        .map(|(_, v)| v.as_str())
        .collect();
    if ids.is_empty() {
        me.flash("Select at least one asset.").await;
        return Ok(Redirect::to("/admin/review").into_response());
    }
    let comment = field("comment");
    let (mut done, mut failed) = (0, Vec::new());
    for id in &ids {
        match review::decide(&state, &me.account, id, action, comment, None, &client).await {
            Ok(()) => done += 1,
            Err(e @ (AppError::Conflict(_) | AppError::BadRequest(_) | AppError::NotFound)) => {
                failed.push(e.to_string())
            }
            Err(e) => return Err(e.into()),
        }
    }
    let verb = if action == review::Action::Approve {
        "Approved"
    } else {
        "Sent back with your comment"
    };
    let mut msg = format!("{verb}: {done} of {}.", ids.len());
    if let Some(first) = failed.first() {
        msg.push_str(&format!(" Not done for {}: {first}.", failed.len()));
    }
    me.flash(msg).await;
    Ok(Redirect::to("/admin/review").into_response())
}
