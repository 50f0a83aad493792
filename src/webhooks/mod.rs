//! Signed webhooks (issue 18): admins register endpoints for event types; each event is sent to
//! every enabled endpoint subscribed to its type as a JSON POST, signed the Standard Webhooks way
//! (`sign`), by the job queue (`JobKind::Webhook`, one job per delivery) with retries and
//! backoff, and logged per endpoint. An endpoint failing for 3 days on end is disabled, and the
//! admin digest says so. Only public addresses are called (`guard`).
//!
//! Emitting is free when nobody listens: `Hub` keeps, per instance, the set of event types some
//! enabled endpoint subscribes to (one atomic byte), refreshed when an admin changes endpoints on
//! this instance and every few seconds (for changes made on others). `emit` reads it first and
//! does no database work for a type nobody subscribed to.
pub mod actions;
pub mod api;
pub mod guard;
pub mod pages;
mod sign;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::app::AppState;
use crate::clock;
use crate::db::{self, Db};
use crate::error::AppError;
use crate::ids::{DeliveryId, WebhookId};
use crate::jobs::{self, Job, JobError, JobKind};
use crate::secret_string::SecretString;

/// An endpoint that has failed every attempt for this long is disabled.
pub const DISABLE_AFTER_MS: i64 = 3 * 24 * 3600 * 1000;
/// How often each instance re-reads the subscribed types and looks for links about to expire.
const TICK: Duration = Duration::from_secs(5);
/// `link.expiring` is sent when a link ends within this time.
const EXPIRING_WITHIN_MS: i64 = 24 * 3600 * 1000;
/// Most endpoints a portal may have (each event is one delivery per endpoint).
pub const MAX_ENDPOINTS: i64 = 50;
/// An attempt's whole exchange, and its connection, are cut off after these.
const TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What an endpoint can subscribe to; its `type` in the payload is `as_str`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookKind {
    /// A visitor saw a share link's gallery (after its gates).
    LinkOpened,
    /// Every byte of a file reached someone (a completed download).
    DownloadCompleted,
    /// A file arrived for review: a contributor's upload or check-in, or an upload link's file.
    SubmissionReceived,
    /// An admin approved an asset (or a new version of it).
    AssetApproved,
    /// Someone acknowledged a recall notice.
    RecallAcknowledged,
    /// A share link ends within 24 hours (sent once per link and expiry).
    LinkExpiring,
}

impl WebhookKind {
    /// Every kind, in the order endpoints list them.
    pub const ALL: [WebhookKind; 6] = [
        WebhookKind::LinkOpened,
        WebhookKind::DownloadCompleted,
        WebhookKind::SubmissionReceived,
        WebhookKind::AssetApproved,
        WebhookKind::RecallAcknowledged,
        WebhookKind::LinkExpiring,
    ];

    /// The event type as receivers see it.
    pub const fn as_str(self) -> &'static str {
        match self {
            WebhookKind::LinkOpened => "link.opened",
            WebhookKind::DownloadCompleted => "download.completed",
            WebhookKind::SubmissionReceived => "submission.received",
            WebhookKind::AssetApproved => "asset.approved",
            WebhookKind::RecallAcknowledged => "recall.acknowledged",
            WebhookKind::LinkExpiring => "link.expiring",
        }
    }

    /// What it means, for the admin's form.
    pub const fn label(self) -> &'static str {
        match self {
            WebhookKind::LinkOpened => "A share link is opened (its gallery shown)",
            WebhookKind::DownloadCompleted => "A download completes (every byte sent)",
            WebhookKind::SubmissionReceived => "A file arrives for review",
            WebhookKind::AssetApproved => "An asset (or a new version) is approved",
            WebhookKind::RecallAcknowledged => "Someone acknowledges a recall notice",
            WebhookKind::LinkExpiring => "A share link ends within 24 hours",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookKind> {
        WebhookKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Its bit in `Hub`'s set.
    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// Kinds as stored (`webhooks.kinds`): comma-separated, in `ALL`'s order, each once.
fn kinds_text(kinds: &[WebhookKind]) -> String {
    WebhookKind::ALL
        .iter()
        .filter(|k| kinds.contains(k))
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_kinds(text: &str) -> Vec<WebhookKind> {
    text.split(',').filter_map(WebhookKind::parse).collect()
}

/// This instance's webhook machinery: which kinds anyone listens to, and the HTTP client.
pub struct Hub {
    /// One bit per `WebhookKind`: some enabled endpoint subscribes to it.
    wanted: AtomicU8,
    /// Refreshes one at a time, so an older read never overwrites a newer one.
    refreshing: tokio::sync::Mutex<()>,
    client: reqwest::Client,
    allow_private: bool,
}

impl Hub {
    /// The client: no redirects (a 3xx is a failed attempt, never a way around `guard`), no
    /// proxy from the environment (it would resolve names past `guard`), short timeouts, and
    /// every name resolved through `guard::Resolver`.
    pub fn new(allow_private: bool) -> anyhow::Result<Hub> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("assetport-webhooks/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .dns_resolver(Arc::new(guard::Resolver { allow_private }))
            .build()?;
        Ok(Hub {
            wanted: AtomicU8::new(0),
            refreshing: tokio::sync::Mutex::new(()),
            client,
            allow_private,
        })
    }

    /// Whether some enabled endpoint subscribes to `kind` (as of the last refresh).
    pub fn wants(&self, kind: WebhookKind) -> bool {
        self.wanted.load(Ordering::Relaxed) & kind.bit() != 0
    }

    /// Re-reads which kinds enabled endpoints subscribe to.
    pub async fn refresh(&self, db: &Db) -> Result<(), sqlx::Error> {
        let _one = self.refreshing.lock().await;
        let rows = sqlx::query("SELECT kinds FROM webhooks WHERE enabled = 1")
            .fetch_all(&db.pool)
            .await?;
        let mut bits = 0u8;
        for r in rows {
            for k in parse_kinds(&r.try_get::<String, _>("kinds")?) {
                bits |= k.bit();
            }
        }
        self.wanted.store(bits, Ordering::Relaxed);
        Ok(())
    }

    /// One attempt: POSTs `body` to `url` signed for `id` at `timestamp` (Unix seconds).
    /// Returns the response status, or why there was none.
    async fn send(
        &self,
        url: &str,
        secret: &SecretString,
        id: &str,
        timestamp: i64,
        body: &str,
    ) -> Result<u16, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("bad URL: {e}"))?;
        guard::check_literal(&url, self.allow_private).map_err(|r| r.0)?;
        let signature = sign::signature(secret, id, timestamp, body).map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_string())
            .send()
            .await
            // The URL stays out of the text: it may hold a secret (many receivers put their
            // token in the path), and the text reaches the log through the job queue.
            .map_err(|e| describe(&e.without_url()))?;
        // Only the status counts; the body is not read (dropping it closes the connection).
        Ok(response.status().as_u16())
    }
}

/// A failed request in a line for the delivery log: a refusal as `guard` worded it, else the
/// chain of causes.
fn describe(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut parts: Vec<String> = Vec::new();
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<guard::Refused>() {
            return refused.0.clone();
        }
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    if e.is_timeout() {
        parts.insert(0, format!("no answer within {} s", TIMEOUT.as_secs()));
    }
    parts.join(": ")
}

/// Whether anyone listens to `kind`: for hot paths, to skip even building the event's data.
pub fn wanted(state: &AppState, kind: WebhookKind) -> bool {
    state.webhooks.wants(kind)
}

/// Queues one delivery of this event to each enabled endpoint subscribed to `kind`, and returns
/// once they are queued (the job queue sends them). Costs one atomic read when no endpoint
/// subscribes to `kind`. Never fails its caller: a webhook is not a reason to refuse what
/// happened; a failure to queue is logged.
pub async fn emit(state: &AppState, kind: WebhookKind, data: Value) {
    if !state.webhooks.wants(kind) {
        return;
    }
    if let Err(e) = queue(state, kind, data).await {
        tracing::warn!(kind = kind.as_str(), error = %e, "queueing webhook messages failed");
    }
}

/// `emit` without waiting: for paths where the visitor should not wait on it (a link's page
/// view). Free when nobody listens, like `emit`.
pub fn emit_detached(state: &AppState, kind: WebhookKind, data: Value) {
    if !state.webhooks.wants(kind) {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move { emit(&state, kind, data).await });
}

/// The body every endpoint gets for one event: the exact text that is signed and sent.
fn payload(kind: WebhookKind, now: i64, data: Value) -> String {
    json!({ "type": kind.as_str(), "timestamp": clock::rfc3339(now), "data": data }).to_string()
}

async fn queue(state: &AppState, kind: WebhookKind, data: Value) -> Result<usize, sqlx::Error> {
    let endpoints = subscribers(&state.db, kind).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let now = state.clock.now_ms();
    let body = payload(kind, now, data);
    let mut tx = state.db.pool.begin().await?;
    let n = queue_in(&mut tx, &endpoints, kind, &body, now).await?;
    tx.commit().await?;
    if n > 0 {
        state.jobs.wake();
    }
    Ok(n)
}

/// The enabled endpoints subscribed to `kind`. Read before any transaction that queues: on
/// SQLite a transaction that reads first and writes later fails at once (not after the busy
/// timeout) when another connection wrote in between.
async fn subscribers(db: &Db, kind: WebhookKind) -> Result<Vec<String>, sqlx::Error> {
    // Kind names hold no LIKE wildcards ('%', '_'); the commas make the match whole.
    sqlx::query("SELECT id FROM webhooks WHERE enabled = 1 AND (',' || kinds || ',') LIKE $1")
        .bind(format!("%,{},%", kind.as_str()))
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|r| r.try_get("id"))
        .collect()
}

/// Inside `tx`: a delivery and its job for each of `endpoints` still there and enabled.
async fn queue_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    endpoints: &[String],
    kind: WebhookKind,
    body: &str,
    now: i64,
) -> Result<usize, sqlx::Error> {
    let mut queued = 0;
    for webhook_id in endpoints {
        let id = db::new_id();
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, kind, payload, state, created_at, \
             updated_at) SELECT $1, id, $3, $4, 'pending', $5, $5 FROM webhooks \
             WHERE id = $2 AND enabled = 1",
        )
        .bind(&id)
        .bind(webhook_id)
        .bind(kind.as_str())
        .bind(body)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            jobs::enqueue(&mut **tx, JobKind::Webhook, &id, now).await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// A registered endpoint (its secret is read only to sign: `secret`).
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub id: WebhookId,
    pub url: String,
    pub description: String,
    pub kinds: Vec<WebhookKind>,
    pub enabled: bool,
    pub failing_since: Option<i64>,
    pub disabled_at: Option<i64>,
    pub disabled_reason: String,
    pub created_by: Option<String>,
    pub created_at: i64,
}

const ENDPOINT_COLS: &str = "id, url, description, kinds, enabled, failing_since, disabled_at, \
                             disabled_reason, created_by, created_at";

impl Endpoint {
    fn from_row(r: &AnyRow) -> Result<Endpoint, sqlx::Error> {
        Ok(Endpoint {
            id: r.try_get::<String, _>("id")?.into(),
            url: r.try_get("url")?,
            description: r.try_get("description")?,
            kinds: parse_kinds(&r.try_get::<String, _>("kinds")?),
            enabled: db::flag(r, "enabled")?,
            failing_since: r.try_get("failing_since")?,
            disabled_at: r.try_get("disabled_at")?,
            disabled_reason: r.try_get("disabled_reason")?,
            created_by: r.try_get("created_by")?,
            created_at: r.try_get("created_at")?,
        })
    }

    pub fn state(&self) -> &'static str {
        if self.enabled {
            "enabled"
        } else {
            "disabled"
        }
    }

    pub fn kind_names(&self) -> Vec<&'static str> {
        self.kinds.iter().map(|k| k.as_str()).collect()
    }

    /// The API's shape (never the secret; creation adds it once).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "description": self.description,
            "kinds": self.kind_names(),
            "state": self.state(),
            "failing_since": self.failing_since.map(clock::rfc3339),
            "disabled_at": self.disabled_at.map(clock::rfc3339),
            "disabled_reason": self.disabled_reason,
            "created_at": clock::rfc3339(self.created_at),
        })
    }
}

/// Every endpoint, oldest first.
pub async fn list(db: &Db) -> Result<Vec<Endpoint>, sqlx::Error> {
    sqlx::query(&format!(
        "SELECT {ENDPOINT_COLS} FROM webhooks ORDER BY created_at, id"
    ))
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(Endpoint::from_row)
    .collect()
}

/// One endpoint, or `NotFound`.
pub async fn get(db: &Db, id: &str) -> Result<Endpoint, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {ENDPOINT_COLS} FROM webhooks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Endpoint::from_row(&row)?)
}

/// One message to one endpoint, as its log shows it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub kind: String,
    /// pending, succeeded or failed.
    pub state: String,
    pub attempts: i64,
    pub response_code: Option<i64>,
    pub error: String,
    pub created_at: i64,
    pub attempted_at: Option<i64>,
    /// When a pending delivery is tried next (its job's due time).
    pub next_attempt_at: Option<i64>,
}

const DELIVERY_SELECT: &str = "SELECT d.id, d.webhook_id, d.kind, d.state, d.attempts, \
     d.response_code, d.last_error, d.created_at, d.attempted_at, j.run_at \
     FROM webhook_deliveries d LEFT JOIN jobs j ON j.kind = 'webhook' AND j.subject = d.id \
     AND j.state = 'pending'";

impl Delivery {
    fn from_row(r: &AnyRow) -> Result<Delivery, sqlx::Error> {
        let state: String = r.try_get("state")?;
        let run_at: Option<i64> = r.try_get("run_at")?;
        Ok(Delivery {
            id: r.try_get::<String, _>("id")?.into(),
            webhook_id: r.try_get::<String, _>("webhook_id")?.into(),
            kind: r.try_get("kind")?,
            next_attempt_at: if state == "pending" { run_at } else { None },
            state,
            attempts: r.try_get("attempts")?,
            response_code: r.try_get("response_code")?,
            error: r.try_get("last_error")?,
            created_at: r.try_get("created_at")?,
            attempted_at: r.try_get("attempted_at")?,
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "webhook_id": self.webhook_id,
            "type": self.kind,
            "status": self.state,
            "attempts": self.attempts,
            "response_code": self.response_code,
            "error": self.error,
            "created_at": clock::rfc3339(self.created_at),
            "attempted_at": self.attempted_at.map(clock::rfc3339),
            "next_attempt_at": self.next_attempt_at.map(clock::rfc3339),
        })
    }
}

/// An endpoint's deliveries, newest first, `limit` of them before the cursor `before` (an id).
pub async fn deliveries(
    db: &Db,
    webhook_id: &str,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    sqlx::query(&format!(
        "{DELIVERY_SELECT} WHERE d.webhook_id = $1 AND ($2 = '' OR d.id < $2) \
         ORDER BY d.id DESC LIMIT $3"
    ))
    .bind(webhook_id)
    .bind(before.unwrap_or(""))
    .bind(limit)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(Delivery::from_row)
    .collect()
}

/// One delivery of one endpoint, or `NotFound`.
pub async fn delivery(db: &Db, webhook_id: &str, id: &str) -> Result<Delivery, AppError> {
    let row = sqlx::query(&format!(
        "{DELIVERY_SELECT} WHERE d.webhook_id = $1 AND d.id = $2"
    ))
    .bind(webhook_id)
    .bind(id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(Delivery::from_row(&row)?)
}

/// What happened at one attempt, in the delivery's row.
async fn record_attempt(
    db: &Db,
    id: &str,
    state: &str,
    code: Option<u16>,
    error: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(500).collect();
    sqlx::query(
        "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, response_code = $3, \
         last_error = $4, attempted_at = $5, updated_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(code.map(i64::from))
    .bind(error)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The `webhook` job: one attempt at one delivery. A 2xx answer succeeds and ends the
/// endpoint's failing streak; anything else (another status, no answer, a refused address) is
/// retried by the queue with its backoff, until the attempts are used up or the endpoint has
/// failed for `DISABLE_AFTER_MS` and is disabled.
pub async fn deliver(state: AppState, job: Job) -> Result<(), JobError> {
    let row = sqlx::query(
        "SELECT d.id, d.payload, w.id AS webhook_id, w.url, w.secret, w.enabled \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1",
    )
    .bind(&job.subject)
    .fetch_optional(&state.db.pool)
    .await?;
    // The endpoint was deleted, and its log with it.
    let Some(row) = row else {
        return Ok(());
    };
    let id: String = row.try_get("id")?;
    let webhook_id: String = row.try_get("webhook_id")?;
    let now = state.clock.now_ms();
    if !db::flag(&row, "enabled")? {
        sqlx::query(
            "UPDATE webhook_deliveries SET state = 'failed', last_error = $2, updated_at = $3 \
             WHERE id = $1 AND state = 'pending'",
        )
        .bind(&id)
        .bind("not sent: the endpoint is disabled")
        .bind(now)
        .execute(&state.db.pool)
        .await?;
        return Ok(());
    }
    let secret = SecretString::from(row.try_get::<String, _>("secret")?);
    let url: String = row.try_get("url")?;
    let body: String = row.try_get("payload")?;
    let outcome = state
        .webhooks
        .send(&url, &secret, &id, now.div_euclid(1000), &body)
        .await;
    // The answer came at some point in the attempt; the attempt is dated by its start.
    let (code, error) = match outcome {
        Ok(code) if (200..300).contains(&code) => {
            record_attempt(&state.db, &id, "succeeded", Some(code), "", now).await?;
            sqlx::query(
                "UPDATE webhooks SET failing_since = NULL, updated_at = $2 \
                 WHERE id = $1 AND failing_since IS NOT NULL",
            )
            .bind(&webhook_id)
            .bind(now)
            .execute(&state.db.pool)
            .await?;
            return Ok(());
        }
        Ok(code) => (Some(code), format!("the endpoint answered {code}")),
        Err(e) => (None, e),
    };
    sqlx::query(
        "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2), updated_at = $2 \
         WHERE id = $1",
    )
    .bind(&webhook_id)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    let disabled = actions::disable_failing_webhook(&state, &webhook_id, now).await?;
    let last = disabled || job.attempts >= job.max_attempts;
    let shown = if disabled {
        format!("{error}; the endpoint is now disabled")
    } else {
        error.clone()
    };
    let state_after = if last { "failed" } else { "pending" };
    record_attempt(&state.db, &id, state_after, code, &shown, now).await?;
    if disabled {
        return Ok(());
    }
    Err(JobError::Retry(error))
}

/// Fields of a share link, as webhooks describe it (never its token).
pub struct LinkInfo<'a> {
    pub id: &'a str,
    pub share_id: &'a str,
    pub title: &'a str,
    pub recipient: Option<&'a str>,
    pub expires_at: i64,
}

/// A share link in an event's `data`, with the address of its admin page.
pub fn link_data(public_url: &str, link: &LinkInfo<'_>) -> Value {
    json!({
        "link_id": link.id,
        "share_id": link.share_id,
        "title": link.title,
        "recipient": link.recipient,
        "expires_at": clock::rfc3339(link.expires_at),
        "admin_url": format!("{public_url}/admin/links/{}", link.id),
    })
}

/// Sends `link.expiring` for every live link that ends within 24 hours and was not announced
/// for that expiry yet. Every instance looks; the notice row's primary key lets exactly one of
/// them queue it, in the same transaction as its deliveries.
pub async fn announce_expiring(state: &AppState) -> Result<usize, sqlx::Error> {
    if !state.webhooks.wants(WebhookKind::LinkExpiring) {
        return Ok(0);
    }
    let now = state.clock.now_ms();
    let rows = sqlx::query(
        "SELECT l.id, l.share_id, l.title, l.recipient, l.expires_at FROM links l \
         WHERE l.revoked_at IS NULL AND l.expires_at > $1 AND l.expires_at <= $2 \
         AND NOT EXISTS (SELECT 1 FROM webhook_link_notices n \
         WHERE n.link_id = l.id AND n.expires_at = l.expires_at) \
         ORDER BY l.expires_at, l.id LIMIT 500",
    )
    .bind(now)
    .bind(now + EXPIRING_WITHIN_MS)
    .fetch_all(&state.db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let endpoints = subscribers(&state.db, WebhookKind::LinkExpiring).await?;
    let mut sent = 0;
    for r in rows {
        let id: String = r.try_get("id")?;
        let share_id: String = r.try_get("share_id")?;
        let title: String = r.try_get("title")?;
        let recipient: Option<String> = r.try_get("recipient")?;
        let expires_at: i64 = r.try_get("expires_at")?;
        let data = link_data(
            &state.config.public_url,
            &LinkInfo {
                id: &id,
                share_id: &share_id,
                title: &title,
                recipient: recipient.as_deref(),
                expires_at,
            },
        );
        let mut tx = state.db.pool.begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO webhook_link_notices (link_id, expires_at, created_at) \
             VALUES ($1, $2, $3) ON CONFLICT (link_id, expires_at) DO NOTHING",
        )
        .bind(&id)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if claimed {
            let body = payload(WebhookKind::LinkExpiring, now, data);
            sent += queue_in(&mut tx, &endpoints, WebhookKind::LinkExpiring, &body, now).await?;
        }
        tx.commit().await?;
    }
    if sent > 0 {
        state.jobs.wake();
    }
    Ok(sent)
}

/// The background loop of each instance: every few seconds, re-read the subscribed kinds
/// (endpoints changed on other instances) and announce links about to expire.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(TICK);
    loop {
        tick.tick().await;
        if let Err(e) = state.webhooks.refresh(&state.db).await {
            tracing::warn!(error = %e, "reading webhook subscriptions failed");
        }
        if let Err(e) = announce_expiring(&state).await {
            tracing::warn!(error = %e, "announcing expiring links failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_keep_their_names_order_and_bits() {
        let names: Vec<&str> = WebhookKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "link.opened",
                "download.completed",
                "submission.received",
                "asset.approved",
                "recall.acknowledged",
                "link.expiring"
            ]
        );
        let mut bits = 0u8;
        for k in WebhookKind::ALL {
            assert_eq!(WebhookKind::parse(k.as_str()), Some(k));
            assert_eq!(bits & k.bit(), 0, "one bit each");
            bits |= k.bit();
        }
        assert_eq!(WebhookKind::parse("asset.deleted"), None);
        assert_eq!(
            kinds_text(&[WebhookKind::LinkExpiring, WebhookKind::LinkOpened]),
            "link.opened,link.expiring"
        );
        assert_eq!(
            parse_kinds("link.opened,nope,link.expiring"),
            [WebhookKind::LinkOpened, WebhookKind::LinkExpiring]
        );
    }

    #[test]
    fn a_payload_is_type_timestamp_and_data() {
        let body = payload(WebhookKind::AssetApproved, 0, json!({ "asset_id": "a1" }));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({ "type": "asset.approved", "timestamp": "1970-01-01T00:00:00Z",
                    "data": { "asset_id": "a1" } })
        );
    }
}
