//! The visitor's side of a share link: `/s/{token}` and its gates (password, one-time code,
//! licence terms), per-asset downloads and the whole share as one ZIP.
//!
//! Nothing here uses a session: what a visitor has proven lives in a cookie scoped to the link
//! (`unlock`). Forms post back to the link's own secret URL, so only someone holding the link
//! can build them; the Origin check refuses cross-site posts on top of that.
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use sqlx::Row;

use super::gallery::Buttons;
use super::unlock::{self, Unlock};
use super::{by_token, Link, State as LinkState};
use crate::accounts::{password, throttle, tokens};
use crate::app::AppState;
use crate::clock;
use crate::db;
use crate::delivery;
use crate::error::{AppError, PageError, PageResult};
use crate::events::Event;
use crate::library::pages::{human_size, AssetCard};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/s/{token}", get(landing))
        .route("/s/{token}/unlock", get(to_landing).post(unlock_password))
        .route("/s/{token}/code", get(to_landing).post(send_code))
        .route("/s/{token}/verify", get(to_landing).post(verify_code))
        .route("/s/{token}/accept", get(to_landing).post(accept_terms))
        .route("/s/{token}/assets/{asset_id}/original", get(original))
        .route("/s/{token}/assets/{asset_id}/{kind}", get(rendition))
        .route("/s/{token}/zip", get(zip_all))
        .layer(axum::middleware::from_fn(private_headers))
}

/// Link pages and files are private to whoever holds the link: never cached, never referred.
async fn private_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    r
}

const PW_PER_LINK: throttle::Policy = throttle::Policy {
    limit: 10,
    window_ms: 15 * 60 * 1000,
};
const PW_PER_IP: throttle::Policy = throttle::Policy {
    limit: 30,
    window_ms: 15 * 60 * 1000,
};
/// Unknown tokens from one address: someone guessing links.
const PROBES_PER_IP: throttle::Policy = throttle::Policy {
    limit: 30,
    window_ms: 15 * 60 * 1000,
};
const CODES_SENT_PER_LINK: throttle::Policy = throttle::Policy {
    limit: 5,
    window_ms: 15 * 60 * 1000,
};
const CODE_TTL_MS: i64 = 10 * 60 * 1000;
const CODE_ATTEMPTS: i64 = 5;
/// Most assets shown on a landing page (the ZIP holds all of them).
const GALLERY_LIMIT: i64 = 500;
/// Most assets in one link ZIP.
const ZIP_LIMIT: i64 = 100_000;

/// A live link and what this visitor has proven to it.
struct Visit {
    link: Link,
    unlock: Unlock,
    /// The library generation when the link was read (see `gallery`).
    generation: i64,
}

impl Visit {
    fn password_ok(&self) -> bool {
        self.unlock.passed_password(&self.link)
    }
    fn code_ok(&self) -> bool {
        self.unlock.passed_code(&self.link)
    }
    /// Past every gate that hides the content.
    fn open(&self) -> bool {
        self.unlock.passed_gates(&self.link)
    }
    fn terms_ok(&self) -> bool {
        self.unlock.accepted_terms(&self.link)
    }
}

/// Resolves a token: unknown → 404 (counted against the caller's address), expired or
/// revoked → the friendly 410 page.
async fn visit(
    state: &AppState,
    token: &str,
    headers: &HeaderMap,
    client: &ClientInfo,
) -> Result<Visit, Response> {
    let now = state.clock.now_ms();
    let link = by_token(&state.db, token)
        .await
        .map_err(|e| PageError(e.into()).into_response())?;
    let Some((link, generation)) = link else {
        // Only misses are counted, so a live link costs no throttle query. With 256-bit
        // tokens the limit is about noise and load, not about guessing succeeding.
        let probe_key = format!("linkprobe:{}", client.ip);
        let _miss = throttle::reserve(&state.db, &probe_key, PROBES_PER_IP, now)
            .await
            .map_err(|e| PageError(e).into_response())?;
        return Err(PageError(AppError::NotFound).into_response());
    };
    if link.state(now) != LinkState::Active {
        return Err(gone_page(&link, now));
    }
    let unlock = unlock::read(headers, &link, &state.secret, now);
    Ok(Visit {
        link,
        unlock,
        generation,
    })
}

#[derive(Template)]
#[template(path = "links/gone.html")]
struct GonePage {
    layout: Layout,
    revoked: bool,
}

fn gone_page(link: &Link, now: i64) -> Response {
    let page = GonePage {
        layout: Layout::anonymous("Link no longer available"),
        revoked: link.state(now) == LinkState::Revoked,
    };
    match render(&page) {
        Ok(html) => (StatusCode::GONE, html).into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

pub struct VisitCard {
    pub card: AssetCard,
    pub folder: String,
}

/// The cards of a landing page, rendered once per cached gallery with `TOKEN_MARKER` where the
/// visitor's token goes. The marker holds `<`, which askama escapes in everything else, so it
/// can only appear where the template puts it.
#[derive(Template)]
#[template(path = "links/gallery.html")]
struct GalleryCards {
    cards: Vec<VisitCard>,
    buttons: bool,
    previews: bool,
    /// Thumbnails open the preview: once the terms are accepted (a preview is a deliverable).
    zoom: bool,
    token: &'static str,
}

const TOKEN_MARKER: &str = "<t>";

#[derive(Template)]
#[template(path = "links/visit.html")]
struct VisitPage {
    layout: Layout,
    token: String,
    /// "password", "code" or "content".
    stage: &'static str,
    error: Option<String>,
    /// A code was requested: show the field to enter it.
    code_sent: bool,
    /// The visitor must say which address the code goes to (shared, not per-recipient).
    ask_email: bool,
    email: String,
    heading: String,
    message: String,
    terms: String,
    terms_ok: bool,
    allow_original: bool,
    /// No asset is visible.
    empty: bool,
    /// The cards (see `GalleryCards`).
    gallery: String,
    more: bool,
    total_size: String,
    expires: String,
    downloads_left: Option<i64>,
}

fn gate_page(v: &Visit, token: &str, stage: &'static str) -> VisitPage {
    VisitPage {
        // Before the gates, nothing about the content: not even its title.
        layout: Layout::anonymous("Shared files"),
        token: token.to_string(),
        stage,
        error: None,
        code_sent: false,
        ask_email: v.link.recipient.is_none(),
        email: String::new(),
        heading: "Shared files".into(),
        message: String::new(),
        terms: String::new(),
        terms_ok: false,
        allow_original: false,
        empty: true,
        gallery: String::new(),
        more: false,
        total_size: String::new(),
        expires: String::new(),
        downloads_left: None,
    }
}

async fn landing(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match landing_page(&state, &v, &token, &client).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn landing_page(
    state: &AppState,
    v: &Visit,
    token: &str,
    client: &ClientInfo,
) -> PageResult<Response> {
    if !v.password_ok() {
        return Ok(render(&gate_page(v, token, "password"))?.into_response());
    }
    if !v.code_ok() {
        let mut page = gate_page(v, token, "code");
        page.code_sent = v.unlock.pending.is_some();
        if v.link.recipient.is_none() {
            page.email = v.unlock.pending.clone().unwrap_or_default();
        }
        return Ok(render(&page)?.into_response());
    }
    let now = state.clock.now_ms();
    let gallery = state
        .galleries
        .get(&state.db, &v.link, v.generation, GALLERY_LIMIT + 1, now)
        .await?;
    let listed = &gallery.items;
    let more = listed.len() as i64 > GALLERY_LIMIT;
    let total: i64 = listed.iter().map(|a| a.size).sum();
    let buttons = match (v.terms_ok(), v.link.allow_original) {
        (false, _) => Buttons::None,
        (true, true) => Buttons::Original,
        (true, false) => Buttons::Preview,
    };
    let cards = gallery.html(buttons, TOKEN_MARKER, token, |items| {
        render(&GalleryCards {
            cards: items
                .iter()
                .take(GALLERY_LIMIT as usize)
                .map(|a| VisitCard {
                    card: AssetCard::new(a),
                    folder: a.subpath.join(" / "),
                })
                .collect(),
            buttons: buttons == Buttons::Original,
            previews: buttons == Buttons::Preview,
            zoom: buttons != Buttons::None,
            token: TOKEN_MARKER,
        })
        .map(|html| html.0)
    })?;
    state
        .events
        .record_detached(Event::new("link_view").link(&v.link.id), client);
    let heading = if v.link.title.is_empty() {
        "Shared files".to_string()
    } else {
        v.link.title.clone()
    };
    let page = VisitPage {
        layout: Layout::anonymous(&heading),
        token: token.to_string(),
        stage: "content",
        error: None,
        code_sent: false,
        ask_email: false,
        email: String::new(),
        heading,
        message: v.link.message.clone(),
        terms: v.link.terms.clone(),
        terms_ok: v.terms_ok(),
        allow_original: v.link.allow_original,
        empty: listed.is_empty(),
        gallery: cards,
        more,
        total_size: human_size(total),
        expires: clock::human(v.link.expires_at),
        downloads_left: v.link.downloads_left(),
    };
    Ok(render(&page)?.into_response())
}

fn set_unlock(
    state: &AppState,
    v: &Visit,
    token: &str,
    unlock: &Unlock,
) -> Result<Response, PageError> {
    let cookie = unlock::cookie(
        &v.link,
        token,
        unlock,
        &state.secret,
        state.config.secure_cookies(),
        state.clock.now_ms(),
    )
    .map_err(AppError::Internal)?;
    let mut r = Redirect::to(&format!("/s/{token}")).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// The gates' form addresses, opened directly (a bookmark, a copied address bar, a reload
/// after the page replaced its URL): back to the link's page, which shows the right gate.
async fn to_landing(Path(token): Path<String>) -> Redirect {
    Redirect::to(&format!("/s/{token}"))
}

async fn unlock_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
    Form(form): Form<PasswordForm>,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match check_password(&state, &v, &token, form, &client).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn check_password(
    state: &AppState,
    v: &Visit,
    token: &str,
    form: PasswordForm,
    client: &ClientInfo,
) -> PageResult<Response> {
    let Some(hash) = v.link.password_hash.clone() else {
        return Ok(Redirect::to(&format!("/s/{token}")).into_response());
    };
    let now = state.clock.now_ms();
    let link_key = format!("linkpw:{}", v.link.id);
    let ip_key = format!("linkpw:ip:{}", client.ip);
    let keys = [
        (link_key.as_str(), PW_PER_LINK),
        (ip_key.as_str(), PW_PER_IP),
    ];
    let attempts = throttle::reserve_all(&state.db, &keys, now).await?;
    if form.password.len() > 1000 || !password::verify(form.password, Some(hash)).await? {
        // The attempts stay counted.
        state
            .events
            .record(Event::new("link_password_failed").link(&v.link.id), client)
            .await?;
        let mut page = gate_page(v, token, "password");
        page.error = Some("That password is not right. Try again.".into());
        return Ok((StatusCode::FORBIDDEN, render(&page)?).into_response());
    }
    throttle::give_back_all(&state.db, attempts).await?;
    state
        .events
        .record(Event::new("link_unlocked").link(&v.link.id), client)
        .await?;
    let mut unlock = v.unlock.clone();
    unlock.pw = true;
    set_unlock(state, v, token, &unlock)
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

/// Sends a one-time code to the link's recipient (or to the address given, if it is one of
/// the share's recipients). The answer is the same either way: no address enumeration.
async fn send_code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
    Form(form): Form<EmailForm>,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match issue_code(&state, &v, &token, form).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn code_hash(link_id: &str, email: &str, code: &str) -> String {
    tokens::hash_token(&format!("{link_id}\n{email}\n{code}"))
}

async fn issue_code(
    state: &AppState,
    v: &Visit,
    token: &str,
    form: EmailForm,
) -> PageResult<Response> {
    if !v.password_ok() || !v.link.require_code {
        return Ok(Redirect::to(&format!("/s/{token}")).into_response());
    }
    let email = match &v.link.recipient {
        Some(r) => r.clone(),
        None => crate::accounts::users::normalize_email(&form.email).unwrap_or_default(),
    };
    let now = state.clock.now_ms();
    let key = format!("linkcode:send:{}", v.link.id);
    // Every request counts (a mail may go out), reserved before anything is sent.
    let _sent = throttle::reserve(&state.db, &key, CODES_SENT_PER_LINK, now).await?;
    if v.link.recipients.contains(&email) {
        let code = format!("{:06}", random_code());
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
    set_unlock(state, v, token, &unlock)
}

/// A uniformly random number below 1,000,000.
fn random_code() -> u32 {
    loop {
        let mut b = [0u8; 4];
        getrandom::fill(&mut b).expect("OS random number generator unavailable");
        let n = u32::from_le_bytes(b) & 0x00FF_FFFF; // 0..16,777,216
        if n < 16_000_000 {
            return n % 1_000_000;
        }
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

async fn verify_code(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
    Form(form): Form<CodeForm>,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match check_code(&state, &v, &token, form, &client).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn check_code(
    state: &AppState,
    v: &Visit,
    token: &str,
    form: CodeForm,
    client: &ClientInfo,
) -> PageResult<Response> {
    if !v.password_ok() || !v.link.require_code {
        return Ok(Redirect::to(&format!("/s/{token}")).into_response());
    }
    let now = state.clock.now_ms();
    let ip_key = format!("linkcode:ip:{}", client.ip);
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
        if reserved && tokens::secret_eq(&stored, &code_hash(&v.link.id, &email, code)) {
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
            .record(Event::new("link_code_failed").link(&v.link.id), client)
            .await?;
        let mut page = gate_page(v, token, "code");
        page.code_sent = true;
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
            Event::new("link_code_verified")
                .link(&v.link.id)
                .detail(&detail),
            client,
        )
        .await?;
    let mut unlock = v.unlock.clone();
    unlock.code = Some(email);
    unlock.pending = None;
    set_unlock(state, v, token, &unlock)
}

async fn accept_terms(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    client: ClientInfo,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result: PageResult<Response> = async {
        if !v.open() {
            return Ok(Redirect::to(&format!("/s/{token}")).into_response());
        }
        state
            .events
            .record(Event::new("link_terms_accepted").link(&v.link.id), &client)
            .await?;
        let mut unlock = v.unlock.clone();
        unlock.terms = true;
        set_unlock(&state, &v, &token, &unlock)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// The request's method, headers and client, as the download decision reads them.
fn ask<'a>(
    method: &'a Method,
    headers: &'a HeaderMap,
    client: &'a ClientInfo,
) -> delivery::Ask<'a> {
    delivery::Ask {
        method,
        headers,
        client,
    }
}

async fn original(
    State(state): State<AppState>,
    Path((token, asset_id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    client: ClientInfo,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ask = ask(&method, &headers, &client);
    delivery::link_file(
        &state, &v.link, &v.unlock, &token, &asset_id, "original", false, &ask,
    )
    .await
    .map_err(PageError)
    .unwrap_or_else(IntoResponse::into_response)
}

/// A thumbnail or preview through a link; saved as a file (`download=1`) it is a download like
/// an original. What each needs is decided in `delivery`.
async fn rendition(
    State(state): State<AppState>,
    Path((token, asset_id, kind)): Path<(String, String, String)>,
    Query(q): Query<crate::library::api::RenditionQuery>,
    method: Method,
    headers: HeaderMap,
    client: ClientInfo,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if kind == "original" {
        return PageError(AppError::NotFound).into_response();
    }
    let ask = ask(&method, &headers, &client);
    let attachment = q.wants_file();
    delivery::link_file(
        &state, &v.link, &v.unlock, &token, &asset_id, &kind, attachment, &ask,
    )
    .await
    .map_err(PageError)
    .unwrap_or_else(IntoResponse::into_response)
}

async fn zip_all(
    State(state): State<AppState>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
    client: ClientInfo,
) -> Response {
    let v = match visit(&state, &token, &headers, &client).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let ask = ask(&method, &headers, &client);
    delivery::link_zip(&state, &v.link, &v.unlock, &token, &ask, ZIP_LIMIT)
        .await
        .map_err(PageError)
        .unwrap_or_else(IntoResponse::into_response)
}
