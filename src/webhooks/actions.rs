//! What is done to webhook endpoints, one function per action: each validates, changes state
//! and records its audit event, so each webhook event kind has one recorder, here. The JSON
//! handlers (`api`) and the pages (`pages`) only parse, call and render; the delivery job calls
//! `disable_failing_webhook`.
use serde::Deserialize;

use super::{guard, sign, Delivery, Endpoint, WebhookKind, MAX_ENDPOINTS};
use crate::accounts::Account;
use crate::app::AppState;
use crate::db;
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::jobs::{self, JobKind};
use crate::secret_string::SecretString;
use crate::web::client::ClientInfo;

/// Longest description.
const MAX_DESCRIPTION: usize = 500;

/// What an admin gives a new endpoint (the API's body; the page's form builds the same).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookOptions {
    pub url: String,
    /// Event types (`link.opened`, …); at least one.
    pub kinds: Vec<String>,
    #[serde(default)]
    pub description: String,
}

/// Registers an endpoint; records `webhook_created`. Returns it with its secret, which is
/// shown this once.
pub async fn create_webhook(
    state: &AppState,
    actor: &Account,
    options: WebhookOptions,
    client: &ClientInfo,
) -> Result<(Endpoint, SecretString), AppError> {
    let url = guard::check_url(&options.url, state.config.webhooks_allow_private)
        .map_err(AppError::Unprocessable)?;
    let mut kinds = Vec::new();
    for k in &options.kinds {
        let kind = WebhookKind::parse(k.trim()).ok_or_else(|| {
            AppError::Unprocessable(format!(
                "unknown event type '{k}'; known: {}",
                WebhookKind::ALL.map(|k| k.as_str()).join(", ")
            ))
        })?;
        kinds.push(kind);
    }
    if kinds.is_empty() {
        return Err(AppError::Unprocessable(
            "choose at least one event type".into(),
        ));
    }
    let description = options.description.trim();
    if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
        return Err(AppError::Unprocessable(format!(
            "a description has at most {MAX_DESCRIPTION} characters on one line"
        )));
    }
    let id = db::new_id();
    let secret = sign::new_secret();
    let now = state.clock.now_ms();
    // A bound on fan-out, checked in the insert itself (two admins at the cap at once might
    // both pass: it bounds work per event, it is not a quota).
    let inserted = sqlx::query(
        "INSERT INTO webhooks (id, url, description, kinds, secret, enabled, created_by, \
         created_at, updated_at) SELECT $1, $2, $3, $4, $5, 1, $6, $7, $7 \
         WHERE (SELECT COUNT(*) FROM webhooks) < $8",
    )
    .bind(&id)
    .bind(url.as_str())
    .bind(description)
    .bind(super::kinds_text(&kinds))
    .bind(secret.expose())
    .bind(&actor.id)
    .bind(now)
    .bind(MAX_ENDPOINTS)
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(AppError::Unprocessable(format!(
            "a portal has at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        )));
    }
    refresh(state).await;
    let detail = format!("{id} {url}");
    state
        .events
        .record(
            Event::new(EventKind::WebhookCreated)
                .by(&actor.id)
                .detail(&detail),
            client,
        )
        .await?;
    Ok((super::get(&state.db, &id).await?, secret))
}

/// Deletes an endpoint and its delivery log (404 if there is none); records `webhook_deleted`.
/// Deliveries still queued find nothing to send and end.
pub async fn delete_webhook(
    state: &AppState,
    actor: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<(), AppError> {
    let endpoint = super::get(&state.db, id).await?;
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let gone = sqlx::query("DELETE FROM webhooks WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    if gone == 0 {
        return Err(AppError::NotFound);
    }
    refresh(state).await;
    let detail = format!("{} {}", endpoint.id, endpoint.url);
    state
        .events
        .record(
            Event::new(EventKind::WebhookDeleted)
                .by(&actor.id)
                .detail(&detail),
            client,
        )
        .await?;
    Ok(())
}

/// Turns a disabled endpoint on again, with a clean failing streak; records `webhook_enabled`
/// when it was off.
pub async fn enable_webhook(
    state: &AppState,
    actor: &Account,
    id: &str,
    client: &ClientInfo,
) -> Result<Endpoint, AppError> {
    super::get(&state.db, id).await?;
    let changed = sqlx::query(
        "UPDATE webhooks SET enabled = 1, failing_since = NULL, disabled_at = NULL, \
         disabled_reason = '', updated_at = $2 WHERE id = $1 AND enabled = 0",
    )
    .bind(id)
    .bind(state.clock.now_ms())
    .execute(&state.db.pool)
    .await?
    .rows_affected();
    if changed == 1 {
        refresh(state).await;
        state
            .events
            .record(
                Event::new(EventKind::WebhookEnabled)
                    .by(&actor.id)
                    .detail(id),
                client,
            )
            .await?;
    }
    super::get(&state.db, id).await
}

/// Queues a delivery again, now (its attempts start afresh; it keeps its `webhook-id`, so the
/// receiver can tell it is the same message); records `webhook_delivery_resent`. 409 while the
/// endpoint is disabled.
pub async fn resend_delivery(
    state: &AppState,
    actor: &Account,
    webhook_id: &str,
    delivery_id: &str,
    client: &ClientInfo,
) -> Result<Delivery, AppError> {
    let endpoint = super::get(&state.db, webhook_id).await?;
    let delivery = super::delivery(&state.db, webhook_id, delivery_id).await?;
    if !endpoint.enabled {
        return Err(AppError::Conflict(
            "the endpoint is disabled; turn it on again first".into(),
        ));
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("UPDATE webhook_deliveries SET state = 'pending', updated_at = $2 WHERE id = $1")
        .bind(&delivery.id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    jobs::enqueue(&mut *tx, JobKind::Webhook, &delivery.id, now).await?;
    tx.commit().await?;
    state.jobs.wake();
    let detail = format!("{webhook_id} {delivery_id}");
    state
        .events
        .record(
            Event::new(EventKind::WebhookDeliveryResent)
                .by(&actor.id)
                .detail(&detail),
            client,
        )
        .await?;
    super::delivery(&state.db, webhook_id, delivery_id).await
}

/// Disables an endpoint whose every attempt has failed for `DISABLE_AFTER_MS` (the delivery
/// job calls it after each failure); records `webhook_disabled`, by nobody, when this call
/// turned it off. Returns whether it did.
pub async fn disable_failing_webhook(
    state: &AppState,
    id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let days = super::DISABLE_AFTER_MS / (24 * 3600 * 1000);
    let reason = format!("every attempt failed for {days} days");
    let changed = sqlx::query(
        "UPDATE webhooks SET enabled = 0, disabled_at = $2, disabled_reason = $3, updated_at = $2 \
         WHERE id = $1 AND enabled = 1 AND failing_since IS NOT NULL AND failing_since <= $4",
    )
    .bind(id)
    .bind(now)
    .bind(&reason)
    .bind(now - super::DISABLE_AFTER_MS)
    .execute(&state.db.pool)
    .await?
    .rows_affected()
        == 1;
    if changed {
        refresh(state).await;
        tracing::warn!(webhook = %id, "webhook endpoint disabled: {reason}");
        let detail = format!("{id}: {reason}");
        if let Err(e) = state
            .events
            .record(
                Event::new(EventKind::WebhookDisabled).detail(&detail),
                &ClientInfo::default(),
            )
            .await
        {
            tracing::warn!(error = %e, "recording a disabled webhook failed");
        }
    }
    Ok(changed)
}

/// This instance's subscriptions follow at once (others within a few seconds).
async fn refresh(state: &AppState) {
    if let Err(e) = state.webhooks.refresh(&state.db).await {
        tracing::warn!(error = %e, "reading webhook subscriptions failed");
    }
}
