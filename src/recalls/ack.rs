//! The acknowledge address each notice carries: `/recalls/ack/{token}`, a JWT naming the notice
//! (signed with the instances' shared secret, like the unsubscribe token; no storage, any
//! instance). GET shows a page with a button and records nothing — mail scanners open every
//! link in a mail; POST records the acknowledgement, once.
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sqlx::Row;

use crate::app::AppState;
use crate::error::{AppError, PageResult};
use crate::events::{Event, EventKind};
use crate::web::client::ClientInfo;
use crate::web::layout::{render, Layout};

const AUD: &str = "assetport-recall-ack";

/// The acknowledge address's token (`token::signed_subject`), naming the notice.
pub fn token(secret: &str, notice_id: &str) -> String {
    crate::token::signed_subject(secret, AUD, notice_id)
}

/// The notice a token names, if its signature holds.
pub fn notice_of(secret: &str, token: &str) -> Option<String> {
    crate::token::subject_of(secret, AUD, token)
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/recalls/ack/{token}", get(ack_page).post(ack))
}

/// A notice as its acknowledge page shows it.
struct Notice {
    id: String,
    recall_id: String,
    email: String,
    asset_id: String,
    asset: String,
    acknowledged_at: Option<i64>,
}

async fn notice(state: &AppState, token: &str) -> Result<Notice, AppError> {
    let id = notice_of(state.secret.expose(), token).ok_or(AppError::NotFound)?;
    let row = sqlx::query(
        "SELECT n.id, n.recall_id, n.email, n.acknowledged_at, r.asset_id FROM recall_notices n \
         JOIN recalls r ON r.id = n.recall_id WHERE n.id = $1",
    )
    .bind(&id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(AppError::NotFound)?;
    let asset_id: String = row.try_get("asset_id")?;
    let asset = crate::library::assets::get_current(&state.db, &asset_id)
        .await?
        .map(|v| v.label().to_string())
        .unwrap_or_else(|| "a file".into());
    Ok(Notice {
        id: row.try_get("id")?,
        recall_id: row.try_get("recall_id")?,
        email: row.try_get("email")?,
        asset_id,
        asset,
        acknowledged_at: row.try_get("acknowledged_at")?,
    })
}

/// Records that the holder acknowledged the notice (the first time only): `recall_acknowledged`.
/// Returns whether this was the first time.
pub async fn acknowledge(
    state: &AppState,
    token: &str,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    let n = notice(state, token).await?;
    let now = state.clock.now_ms();
    let first = sqlx::query(
        "UPDATE recall_notices SET acknowledged_at = $1 WHERE id = $2 AND acknowledged_at IS NULL",
    )
    .bind(now)
    .bind(&n.id)
    .execute(&state.db.pool)
    .await?
    .rows_affected()
        == 1;
    if first {
        let detail = format!("by {}", n.email);
        let e = Event::new(EventKind::RecallAcknowledged)
            .asset(&n.asset_id)
            .detail(&detail);
        state.events.record(e, client).await?;
        let data = serde_json::json!({
            "notice_id": n.id,
            "recall_id": n.recall_id,
            "asset_id": n.asset_id,
            "asset": n.asset,
            "email": n.email,
            "acknowledged_at": crate::clock::rfc3339(now),
        });
        crate::webhooks::emit(
            state,
            crate::webhooks::WebhookKind::RecallAcknowledged,
            data,
        )
        .await;
    }
    Ok(first)
}

#[derive(Template)]
#[template(path = "recalls/ack.html")]
struct AckPage {
    layout: Layout,
    asset: String,
    email: String,
    done: bool,
}

async fn ack_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> PageResult<Response> {
    let n = notice(&state, &token).await?;
    let page = AckPage {
        layout: Layout::anonymous("Acknowledge"),
        asset: n.asset,
        email: n.email,
        done: n.acknowledged_at.is_some(),
    };
    Ok(render(&page)?.into_response())
}

async fn ack(
    State(state): State<AppState>,
    client: ClientInfo,
    Path(token): Path<String>,
) -> PageResult<Response> {
    acknowledge(&state, &token, &client).await?;
    let n = notice(&state, &token).await?;
    let page = AckPage {
        layout: Layout::anonymous("Acknowledged"),
        asset: n.asset,
        email: n.email,
        done: true,
    };
    Ok(render(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_notice_only_with_the_right_key() {
        let t = token("k1", "notice-1");
        assert_eq!(notice_of("k1", &t).as_deref(), Some("notice-1"));
        assert_eq!(notice_of("k2", &t), None);
        // An unsubscribe token (another audience) is no acknowledgement.
        let other = crate::digests::unsubscribe_token("k1", "notice-1");
        assert_eq!(notice_of("k1", &other), None);
    }
}
