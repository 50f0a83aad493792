//! `/admin/branding/emails`: each email's subject and text, editable, with its placeholders and
//! a way back to the built-in text.
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::mail::{self, Kind};
use crate::accounts::PageAdmin;
use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/branding/emails", get(emails_page))
        // A reload of a refused form's page (its URL is the form's action) finds the page.
        .route(
            "/admin/branding/emails/{key}",
            get(back_to_page).post(save_email),
        )
}

/// One email on the page, as the form shows it.
struct Item {
    kind: &'static Kind,
    subject: String,
    body: String,
    customised: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/emails.html")]
struct EmailsPage {
    layout: Layout,
    items: Vec<Item>,
}

/// Every kind as stored; `failed` replaces one with what the admin sent and why it was refused.
async fn page(
    state: &AppState,
    me: &crate::accounts::PageUser,
    failed: Option<(&str, String, String, String)>,
) -> PageResult<EmailsPage> {
    let brand = super::load(&state.db).await?;
    let items = mail::KINDS
        .iter()
        .map(|kind| {
            let custom = brand.mail_templates.get(kind.key);
            match &failed {
                Some((key, subject, body, error)) if *key == kind.key => Item {
                    kind,
                    subject: subject.clone(),
                    body: body.clone(),
                    customised: custom.is_some(),
                    error: Some(error.clone()),
                },
                _ => Item {
                    kind,
                    subject: custom.map_or(kind.subject, |c| c.subject.as_str()).into(),
                    body: custom.map_or(kind.body, |c| c.body.as_str()).into(),
                    customised: custom.is_some(),
                    error: None,
                },
            }
        })
        .collect();
    Ok(EmailsPage {
        layout: Layout::for_user("Email templates", me, "branding"),
        items,
    })
}

async fn emails_page(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
) -> PageResult<Response> {
    Ok(render(&page(&state, &me, None).await?)?.into_response())
}

async fn back_to_page(PageAdmin(_): PageAdmin, Path(key): Path<String>) -> PageResult<Response> {
    let kind = mail::kind(&key).ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&format!("/admin/branding/emails#{}", kind.key)).into_response())
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    /// "reset": back to the built-in text.
    #[serde(default)]
    action: String,
}

async fn save_email(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(key): Path<String>,
    Form(f): Form<EmailForm>,
) -> PageResult<Response> {
    let kind = mail::kind(&key).ok_or(AppError::NotFound)?;
    let mut brand = super::load(&state.db).await?;
    let message = if f.action == "reset" {
        brand.mail_templates.remove(kind.key);
        format!("“{}” uses the built-in text again.", kind.label)
    } else {
        match mail::validate(kind, &f.subject, &f.body) {
            Ok(custom) => {
                brand.mail_templates.insert(kind.key.to_string(), custom);
                format!(
                    "“{}” saved: the next email of this kind uses it.",
                    kind.label
                )
            }
            Err(e) => {
                let failed = (kind.key, f.subject, f.body, format!("Not saved: {e}."));
                let p = page(&state, &me, Some(failed)).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response());
            }
        }
    };
    let detail = format!("email {}", kind.key);
    super::change(&state, &me.account, brand, &detail, &client).await?;
    me.flash(message).await;
    // To the top, where the flash says what happened.
    Ok(Redirect::to("/admin/branding/emails").into_response())
}
