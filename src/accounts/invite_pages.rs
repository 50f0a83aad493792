//! Invitations on the pages and in the API (`invitations` holds the rules):
//! - `/invite/{token}`: the invited person chooses a password (and their name) and is signed in;
//! - the users page's "Invite people" form and its pending invitations (re-send, withdraw);
//! - `POST /api/v1/invitations` `{"emails":[…],"name"?,"groups":[…],"role"}` →
//!   `{"items":[{"id","email","expires_at","state"}]}`, `GET /api/v1/invitations`,
//!   `POST /api/v1/invitations/{id}/resend`, `DELETE /api/v1/invitations/{id}` (admins).
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_sessions::Session;

use super::invitations::{self, Invite};
use super::users::Role;
use super::{ApiAdmin, PageAdmin};
use crate::app::AppState;
use crate::error::{ApiResult, AppError, PageResult};
use crate::web::client::ClientInfo;
use crate::web::csrf;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/invite/{token}", get(invite_page).post(invite_submit))
        .route("/admin/invitations", post(invite_form))
        .route("/admin/invitations/{id}/resend", post(resend_form))
        .route("/admin/invitations/{id}/withdraw", post(withdraw_form))
}

pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/invitations", get(api_list).post(api_invite))
        .route("/invitations/{id}/resend", post(api_resend))
        .route("/invitations/{id}", delete(api_withdraw))
}

#[derive(Template)]
#[template(path = "accounts/invite.html")]
struct InvitePage {
    layout: Layout,
    token: String,
    email: String,
    name: String,
    error: Option<String>,
    /// The provider the person's organisation signs in with ("SSO only"): no password is
    /// chosen, the account is made and the person continues there.
    sso: Option<String>,
}

/// The "SSO only" provider that governs an invitation's address, if any.
async fn sso_only(
    state: &AppState,
    i: &invitations::Invitation,
) -> Result<Option<crate::sso::Provider>, AppError> {
    crate::sso::password_refused(&state.db, &i.email, i.role == Role::Admin).await
}

async fn invite_page(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> PageResult<Response> {
    let Some(i) = invitations::by_token(&state, &token).await? else {
        return Err(AppError::GoneWith(
            "This invitation link has been used, withdrawn or has expired. Ask the person who \
             invited you to send it again."
                .into(),
        )
        .into());
    };
    let mut layout = Layout::anonymous("Welcome");
    layout.csrf = csrf::token(&session).await?;
    let sso = sso_only(&state, &i).await?.map(|p| p.name);
    Ok(render(&InvitePage {
        layout,
        token,
        email: i.email,
        name: i.name,
        error: None,
        sso,
    })?
    .into_response())
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn invite_submit(
    State(state): State<AppState>,
    session: Session,
    client: ClientInfo,
    Path(token): Path<String>,
    Form(f): Form<AcceptForm>,
) -> PageResult<Response> {
    // Where the organisation signs in through its provider, the invitation makes the account
    // (with its groups and role, and a password nobody knows) and the person goes on to the
    // provider: a password chosen here would get round "SSO only".
    let governed = match invitations::by_token(&state, &token).await? {
        Some(i) => sso_only(&state, &i).await?,
        None => None,
    };
    if let Some(p) = governed {
        let unset = crate::token::new_token("sso-unset");
        return match invitations::accept(&state, &token, &f.name, &unset, &client).await {
            Ok(_) => crate::sso::flow::continue_to(
                "Your account is ready",
                &format!("Now sign in with {}…", p.name),
                &format!("/sso/{}/start?next=/", p.id),
                &format!("Continue with {}", p.name),
            ),
            Err(e) => Err(e.into()),
        };
    }
    let result = if f.new_password != f.confirm_password {
        Err(AppError::Unprocessable("The two passwords differ.".into()))
    } else {
        invitations::accept(&state, &token, &f.name, &f.new_password, &client).await
    };
    match result {
        Ok(account) => {
            super::pages::sign_in(&state.db, &session, &account.id, "password").await?;
            let _ = session
                .insert("flash", "Welcome! Your password is set.")
                .await;
            Ok(Redirect::to("/").into_response())
        }
        Err(e) if e.is_correctable() => {
            let i = invitations::by_token(&state, &token)
                .await?
                .ok_or(AppError::Gone)?;
            let mut layout = Layout::anonymous("Welcome");
            layout.csrf = csrf::token(&session).await?;
            let page = InvitePage {
                layout,
                token,
                email: i.email,
                name: f.name,
                error: Some(e.to_string()),
                sso: None,
            };
            Ok((e.status(), render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The people in the users page's box: one per line, as `email`, `Name <email>` or
/// `name,email` (a CSV's first two columns).
pub fn people_of(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.eq_ignore_ascii_case("name,email"))
        .map(|l| {
            if let (Some(a), Some(b)) = (l.find('<'), l.rfind('>')) {
                if a < b {
                    return (l[a + 1..b].trim().to_string(), l[..a].trim().to_string());
                }
            }
            match l.split_once([',', ';', '\t']) {
                Some((name, email)) if email.contains('@') => {
                    let email = email.split([',', ';', '\t']).next().unwrap_or(email);
                    (email.trim().to_string(), name.trim().to_string())
                }
                _ => (l.to_string(), String::new()),
            }
        })
        .collect()
}

async fn invite_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Form(form): Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let invite = Invite {
        people: people_of(field("emails")),
        groups: form
            .iter()
            .filter(|(k, _)| k == "groups")
            .map(|(_, v)| v.clone())
            .collect(),
        role: Role::parse(match field("role") {
            "" => "member",
            r => r,
        })?,
    };
    match invitations::invite(&state, &me.account, invite, &client).await {
        Ok(sent) => {
            me.flash(match sent.len() {
                1 => "1 invitation sent.".to_string(),
                n => format!("{n} invitations sent."),
            })
            .await
        }
        Err(e) if e.is_correctable() => me.flash(format!("Nothing sent: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/users").into_response())
}

async fn resend_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> PageResult<Response> {
    match invitations::resend(&state, &me.account, &id, &client).await {
        Ok(i) => {
            me.flash(format!(
                "Sent again to {}; the earlier link no longer works.",
                i.email
            ))
            .await
        }
        Err(e) if e.is_correctable() => me.flash(format!("Not sent: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/users").into_response())
}

async fn withdraw_form(
    State(state): State<AppState>,
    PageAdmin(me): PageAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> PageResult<Response> {
    match invitations::withdraw(&state, &me.account, &id, &client).await {
        Ok(()) => {
            me.flash("Invitation withdrawn; its link no longer works.")
                .await
        }
        Err(e) if e.is_correctable() => me.flash(format!("Not withdrawn: {e}.")).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/admin/users").into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    emails: Vec<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    role: Option<String>,
}

async fn api_invite(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Json(body): Json<InviteBody>,
) -> ApiResult<Response> {
    let one = body.emails.len() == 1;
    let invite = Invite {
        people: body
            .emails
            .into_iter()
            .map(|e| {
                (
                    e,
                    if one {
                        body.name.clone()
                    } else {
                        String::new()
                    },
                )
            })
            .collect(),
        groups: body.groups,
        role: Role::parse(body.role.as_deref().unwrap_or("member"))?,
    };
    let sent = invitations::invite(&state, &admin, invite, &client).await?;
    let now = state.clock.now_ms();
    let items: Vec<Value> = sent.iter().map(|i| i.to_json(now)).collect();
    Ok((StatusCode::CREATED, Json(json!({ "items": items }))).into_response())
}

async fn api_list(State(state): State<AppState>, ApiAdmin(_): ApiAdmin) -> ApiResult<Json<Value>> {
    let now = state.clock.now_ms();
    let items: Vec<Value> = invitations::list(&state, 500)
        .await?
        .iter()
        .map(|i| i.to_json(now))
        .collect();
    Ok(Json(json!({ "items": items, "next": null })))
}

async fn api_resend(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let i = invitations::resend(&state, &admin, &id, &client).await?;
    Ok(Json(i.to_json(state.clock.now_ms())))
}

async fn api_withdraw(
    State(state): State<AppState>,
    ApiAdmin(admin): ApiAdmin,
    client: ClientInfo,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    invitations::withdraw(&state, &admin, &id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn people_are_read_one_a_line_in_three_forms() {
        let got = super::people_of(
            "name,email\nann@x.test\n  Bob Builder <bob@x.test>\nCarla,carla@x.test,Retail\n\n",
        );
        assert_eq!(
            got,
            vec![
                ("ann@x.test".to_string(), String::new()),
                ("bob@x.test".to_string(), "Bob Builder".to_string()),
                ("carla@x.test".to_string(), "Carla".to_string()),
            ]
        );
    }
}
