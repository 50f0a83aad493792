//! The pages' side of requests: the admins' inbox (`/admin/requests`) with Approve and Deny on
//! each, the same forms on a share link's page (`/admin/links/{id}` lists that link's
//! requests), a member's "Request download" (asset page), and revoking a personal grant.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::actions;
use super::{decide::grant_from_form, Request, Show};
use crate::accounts::{PageAdmin, PageUser};
use crate::app::AppState;
use crate::clock;
use crate::error::{AppError, PageResult};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/requests", get(inbox))
        .route("/admin/requests/{id}/approve", post(approve))
        .route("/admin/requests/{id}/deny", post(deny))
        .route("/admin/grants/{id}/revoke", post(revoke_grant))
        .route("/requests/download", post(ask_download))
}

/// A request as the inbox and the link page show it.
pub struct RequestRow {
    pub id: String,
    pub kind: &'static str,
    pub pending: bool,
    pub state: String,
    pub who: String,
    pub what: String,
    pub reason: String,
    pub when: String,
    pub decided: String,
    /// Where it came from: the link's admin page, or the first asset's page.
    pub about_href: String,
    /// A renewal of a used-up link: the form asks how many more downloads.
    pub ask_downloads: bool,
    /// A download request's assets: id and name, each linked.
    pub assets: Vec<(String, String)>,
}

impl RequestRow {
    pub async fn of(state: &AppState, r: &Request) -> Result<RequestRow, AppError> {
        let link = match &r.link_id {
            Some(l) => crate::links::get(&state.db, l).await.ok(),
            None => None,
        };
        let ask_downloads = r.kind == super::Kind::Renewal
            && link.as_ref().is_some_and(|l| l.downloads_left() == Some(0));
        let about_href = r
            .link_id
            .as_ref()
            .map(|l| format!("/admin/links/{l}"))
            .unwrap_or_default();
        let assets = r.asset_labels(&state.db, 20).await?;
        Ok(RequestRow {
            id: r.id.clone(),
            kind: r.kind.as_str(),
            pending: r.pending(),
            state: r.state.clone(),
            who: format!("{} <{}>", r.name, r.email),
            what: r.summary_for(link.as_ref()),
            reason: r.reason.clone(),
            when: clock::human(r.created_at),
            decided: match r.decided_at {
                Some(t) if r.answer.is_empty() => clock::human(t),
                Some(t) => format!("{} ({})", clock::human(t), r.answer),
                None => String::new(),
            },
            about_href,
            ask_downloads,
            assets,
        })
    }

    pub async fn list(state: &AppState, requests: &[Request]) -> Result<Vec<RequestRow>, AppError> {
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            out.push(RequestRow::of(state, r).await?);
        }
        Ok(out)
    }
}

#[derive(Template)]
#[template(path = "requests/inbox.html")]
struct InboxPage {
    layout: Layout,
    rows: Vec<RequestRow>,
    all: bool,
    back: String,
}

#[derive(Deserialize)]
struct InboxQuery {
    #[serde(default)]
    show: String,
}

async fn inbox(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    Query(q): Query<InboxQuery>,
) -> PageResult<Response> {
    let all = q.show == "all";
    let show = if all { Show::All } else { Show::Pending };
    let requests = super::list(&state.db, show, None, None, None, 200).await?;
    let page = InboxPage {
        layout: Layout::for_user("Requests", &me, "requests"),
        rows: RequestRow::list(&state, &requests).await?,
        all,
        back: if all {
            "/admin/requests?show=all"
        } else {
            "/admin/requests"
        }
        .into(),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    days: String,
    #[serde(default)]
    downloads: String,
    #[serde(default)]
    message: String,
    /// The page to go back to (the inbox or a link's page); only local paths are followed.
    #[serde(default)]
    back: String,
}

fn back_to(back: &str) -> String {
    if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') {
        back.to_string()
    } else {
        "/admin/requests".into()
    }
}

async fn approve(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> PageResult<Response> {
    let grant = grant_from_form(&form.days, &form.downloads)?;
    match actions::approve(&state, &me.account, &id, grant, &client).await {
        Ok(r) => {
            me.flash(format!("Approved: {} for {}.", r.summary(), r.email))
                .await
        }
        Err(e) if e.is_correctable() => me.flash(format!("Not approved: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&back_to(&form.back)).into_response())
}

async fn deny(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> PageResult<Response> {
    match actions::deny(&state, &me.account, &id, &form.message, &client).await {
        Ok(r) => me.flash(format!("Denied; {} was told.", r.email)).await,
        Err(e) if e.is_correctable() => me.flash(format!("Not denied: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&back_to(&form.back)).into_response())
}

async fn revoke_grant(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> PageResult<Response> {
    super::grants::revoke(&state, &me.account, &id, &client).await?;
    me.flash("Personal download permission revoked.").await;
    Ok(Redirect::to(&back_to(&form.back)).into_response())
}

/// A member's "Request download", from an asset page (one `asset_id`) or a selection (several).
async fn ask_download(
    State(state): State<AppState>,
    me: PageUser,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "asset_id" || k == "asset_ids")
        .map(|(_, v)| v.clone())
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    // Back where the request was made: the folder of a selection, or the one asset's page.
    let back = match (field("folder_id"), ids.as_slice()) {
        (folder, _) if !folder.is_empty() => back_to(&format!("/folders/{folder}")),
        (_, [one]) => back_to(&format!("/assets/{one}")),
        _ => back_to(field("back")),
    };
    match actions::ask_download(&state, &me.account, &ids, field("reason"), &client).await {
        Ok(_) => {
            me.flash("Your request was sent. You will hear by email when an admin decides.")
                .await
        }
        Err(e) if e.is_correctable() => me.flash(format!("Not sent: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&back).into_response())
}
