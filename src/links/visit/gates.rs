//! The gates in front of a link's content: its password, a one-time code sent to a recipient,
//! and the licence terms. Passing one is remembered in the link's unlock cookie (`unlock`).
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use sqlx::Row;

use super::landing::gate_page;
use super::{AnyVisit, LinkVisit, PW_PER_IP, PW_PER_LINK};
use crate::accounts::{password, throttle};
use crate::app::AppState;
use crate::db;
use crate::error::{AppError, PageError, PageResult};
use crate::events::{Event, EventKind};
use crate::links::unlock::{self, Unlock};
use crate::web::layout::render;

const CODES_SENT_PER_LINK: throttle::Policy = throttle::Policy {
    limit: 5,
    window_ms: 15 * 60 * 1000,
};
const CODE_TTL_MS: i64 = 10 * 60 * 1000;
const CODE_ATTEMPTS: i64 = 5;

/// Remembers `unlock` in the link's cookie and goes back to the link's page.
fn set_unlock(state: &AppState, v: &LinkVisit, unlock: &Unlock) -> Result<Response, PageError> {
    let cookie = unlock::cookie(
        &v.link,
        &v.token,
        unlock,
        state.secret.expose(),
        state.config.secure_cookies(),
        state.clock.now_ms(),
    )
    .map_err(AppError::Internal)?;
    let mut r = Redirect::to(&v.home()).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// The gates' form addresses, opened directly (a bookmark, a copied address bar, a reload
/// after the page replaced its URL): back to the link's page, which shows the right gate.
pub(super) async fn to_landing(Path(token): Path<String>) -> Redirect {
    Redirect::to(&format!("/s/{token}"))
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    password: String,
}

pub(super) async fn unlock_password(
    State(state): State<AppState>,
    v: LinkVisit,
    Form(form): Form<PasswordForm>,
) -> PageResult<Response> {
    let Some(hash) = v.link.password_hash.clone() else {
        return Ok(Redirect::to(&v.home()).into_response());
    };
    let now = state.clock.now_ms();
    let link_key = format!("linkpw:{}", v.link.id);
    let ip_key = format!("linkpw:ip:{}", v.client.ip);
    let keys = [
        (link_key.as_str(), PW_PER_LINK),
        (ip_key.as_str(), PW_PER_IP),
    ];
    let attempts = throttle::reserve_all(&state.db, &keys, now).await?;
    if form.password.len() > 1000 || !password::verify(form.password, Some(hash)).await? {
        // The attempts stay counted.
        state
            .events
            .record(
                Event::new(EventKind::LinkPasswordFailed).link(&v.link.id),
                &v.client,
            )
            .await?;
        let mut page = gate_page(&v, "password");
        page.error = Some("That password is not right. Try again.".into());
        return Ok((StatusCode::FORBIDDEN, render(&page)?).into_response());
    }
    throttle::give_back_all(&state.db, attempts).await?;
    state
        .events
        .record(
            Event::new(EventKind::LinkUnlocked).link(&v.link.id),
            &v.client,
        )
        .await?;
    let mut unlock = v.unlock.clone();
    unlock.pw = true;
    set_unlock(&state, &v, &unlock)
}

#[derive(Deserialize)]
pub(super) struct EmailForm {
    #[serde(default)]
    email: String,
}

fn code_hash(link_id: &str, email: &str, code: &str) -> String {
    crate::token::hash_token(&format!("{link_id}\n{email}\n{code}"))
}

/// Sends a one-time code to the link's recipient (or to the address given, if it is one of
/// the share's recipients). The answer is the same either way: no address enumeration.
///
/// A bound link (`bind_recipient`) asks the visitor for their address: its recipient's gets the
/// code; any other is a forwarded copy, recorded as `link_forward_attempt` (the link's access
/// log shows it) and answered with "ask for your own access" (`renew`), never a code.
/// An expired link's gate works too (a renewal request needs the code first), without the
/// password: the files it protected are no longer served.
pub(super) async fn send_code(
    State(state): State<AppState>,
    any: AnyVisit,
    Form(form): Form<EmailForm>,
) -> PageResult<Response> {
    let v = &any.visit;
    if (!any.expired && !v.password_ok()) || !v.link.require_code {
        return Ok(Redirect::to(&v.home()).into_response());
    }
    let given = crate::accounts::users::normalize_email(&form.email).unwrap_or_default();
    let now = state.clock.now_ms();
    let foreign = v.link.bind_recipient && v.link.recipient.as_deref() != Some(given.as_str());
    // Every request counts (a mail may go out), reserved before anything is sent. Forwarded
    // copies count apart: whoever holds a forwarded bound link must not use up the codes of
    // the person it was sent to.
    let key = if foreign {
        format!("linkcode:forward:{}", v.link.id)
    } else {
        format!("linkcode:send:{}", v.link.id)
    };
    let _sent = throttle::reserve(&state.db, &key, CODES_SENT_PER_LINK, now).await?;
    if foreign {
        let detail = format!(
            "by {}",
            if given.is_empty() {
                "an unnamed visitor"
            } else {
                &given
            }
        );
        state
            .events
            .record(
                Event::new(EventKind::LinkForwardAttempt)
                    .link(&v.link.id)
                    .detail(&detail),
                &v.client,
            )
            .await?;
        return super::renew::forwarded_page(v, &given);
    }
    let email = match &v.link.recipient {
        Some(r) => r.clone(),
        None => given,
    };
    if v.link.recipients.contains(&email) {
        let code = crate::token::six_digits();
        sqlx::query(
            "INSERT INTO link_codes (id, link_id, email, code_hash, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(db::new_id())
        .bind(&v.link.id)
        .bind(&email)
        .bind(code_hash(&v.link.id, &email, &code))
        .bind(now + CODE_TTL_MS)
        .execute(&state.db.pool)
        .await?;
        state
            .mailer
            .send_kind(
                &email,
                &crate::brand::mail::LINK_CODE,
                &[("code", &code)],
                None,
            )
            .await
            .map_err(AppError::Internal)?;
    }
    let mut unlock = v.unlock.clone();
    unlock.pending = Some(email);
    set_unlock(&state, v, &unlock)
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

pub(super) async fn verify_code(
    State(state): State<AppState>,
    any: AnyVisit,
    Form(form): Form<CodeForm>,
) -> PageResult<Response> {
    let v = &any.visit;
    if (!any.expired && !v.password_ok()) || !v.link.require_code {
        return Ok(Redirect::to(&v.home()).into_response());
    }
    let now = state.clock.now_ms();
    let ip_key = format!("linkcode:ip:{}", v.client.ip);
    let attempt = throttle::reserve(&state.db, &ip_key, PW_PER_IP, now).await?;
    let email = match &v.link.recipient {
        Some(r) => r.clone(),
        None => crate::accounts::users::normalize_email(&form.email).unwrap_or_default(),
    };
    let row = sqlx::query(
        "SELECT id, code_hash FROM link_codes WHERE link_id = $1 AND email = $2 \
         AND used_at IS NULL AND expires_at > $3 AND attempts < $4 \
         ORDER BY expires_at DESC LIMIT 1",
    )
    .bind(&v.link.id)
    .bind(&email)
    .bind(now)
    .bind(CODE_ATTEMPTS)
    .fetch_optional(&state.db.pool)
    .await?;
    let code = form.code.trim();
    let mut matched = false;
    if let Some(r) = &row {
        // The code's own attempt is reserved before comparing, in one conditional UPDATE:
        // parallel guesses at one code get at most CODE_ATTEMPTS comparisons between them.
        let id: String = r.try_get("id")?;
        let reserved = sqlx::query(
            "UPDATE link_codes SET attempts = attempts + 1 \
             WHERE id = $1 AND attempts < $2 AND used_at IS NULL",
        )
        .bind(&id)
        .bind(CODE_ATTEMPTS)
        .execute(&state.db.pool)
        .await?
        .rows_affected()
            == 1;
        let stored: String = r.try_get("code_hash")?;
        if reserved && crate::token::secret_eq(&stored, &code_hash(&v.link.id, &email, code)) {
            // Spent once: of two right answers racing, one unlocks.
            matched =
                sqlx::query("UPDATE link_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                    .bind(now)
                    .bind(&id)
                    .execute(&state.db.pool)
                    .await?
                    .rows_affected()
                    == 1;
        }
    }
    if !matched {
        // The address's attempt stays counted.
        state
            .events
            .record(
                Event::new(EventKind::LinkCodeFailed).link(&v.link.id),
                &v.client,
            )
            .await?;
        let mut page = gate_page(v, "code");
        page.code_sent = true;
        page.renew.offered = any.expired;
        page.email = if v.link.recipient.is_some() {
            String::new()
        } else {
            email
        };
        page.error = Some("That code is not right or has expired. Ask for a new one.".into());
        return Ok((StatusCode::FORBIDDEN, render(&page)?).into_response());
    }
    attempt.give_back(&state.db).await?;
    let detail = format!("code verified for {email}");
    state
        .events
        .record(
            Event::new(EventKind::LinkCodeVerified)
                .link(&v.link.id)
                .detail(&detail),
            &v.client,
        )
        .await?;
    let mut unlock = v.unlock.clone();
    unlock.code = Some(email);
    unlock.pending = None;
    set_unlock(&state, v, &unlock)
}

pub(super) async fn accept_terms(
    State(state): State<AppState>,
    v: LinkVisit,
) -> PageResult<Response> {
    if !v.open() {
        return Ok(Redirect::to(&v.home()).into_response());
    }
    state
        .events
        .record(
            Event::new(EventKind::LinkTermsAccepted).link(&v.link.id),
            &v.client,
        )
        .await?;
    let mut unlock = v.unlock.clone();
    unlock.terms = true;
    set_unlock(&state, &v, &unlock)
}
