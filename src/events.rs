//! The append-only audit log (SPEC §1 "Event"): who did what to which asset, when, from where.
//! Reports are built from it later; the database refuses updates and deletes of its rows.
//! Written through `Recorder` (group commit), read through `list`.
use serde::Serialize;
use sqlx::Row;

use crate::clock;
use crate::db::{self, Db};
use tokio::sync::{mpsc, oneshot};

use crate::error::AppError;
use crate::web::client::ClientInfo;

/// One thing that happened.
pub struct Event<'a> {
    pub kind: &'a str,
    pub actor_user_id: Option<&'a str>,
    /// The share link through which a visitor acted.
    pub actor_link_id: Option<&'a str>,
    pub asset_id: Option<&'a str>,
    pub folder_id: Option<&'a str>,
    pub detail: &'a str,
}

impl<'a> Event<'a> {
    pub fn new(kind: &'a str) -> Self {
        Event {
            kind,
            actor_user_id: None,
            actor_link_id: None,
            asset_id: None,
            folder_id: None,
            detail: "",
        }
    }
    pub fn by(mut self, user_id: &'a str) -> Self {
        self.actor_user_id = Some(user_id);
        self
    }
    pub fn link(mut self, id: &'a str) -> Self {
        self.actor_link_id = Some(id);
        self
    }
    pub fn asset(mut self, id: &'a str) -> Self {
        self.asset_id = Some(id);
        self
    }
    pub fn folder(mut self, id: &'a str) -> Self {
        self.folder_id = Some(id);
        self
    }
    pub fn detail(mut self, d: &'a str) -> Self {
        self.detail = d;
        self
    }
}

/// An event ready to be written.
struct Pending {
    id: String,
    kind: String,
    actor_user_id: Option<String>,
    actor_link_id: Option<String>,
    asset_id: Option<String>,
    folder_id: Option<String>,
    detail: String,
    ip: String,
    user_agent: String,
    created_at: i64,
}

type Ack = oneshot::Sender<Result<(), String>>;

/// Writes events with group commit: a request hands its event to one writer task and waits until
/// the transaction holding it has committed, so nothing acknowledged is lost; events arriving
/// meanwhile share the next transaction. Under load this turns hundreds of competing writes
/// (on SQLite: a lock and busy-sleeps each) into one short transaction.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::Sender<(Pending, Ack)>,
}

/// Most events committed in one transaction.
const BATCH: usize = 256;

impl Recorder {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> Recorder {
        let (tx, mut rx) = mpsc::channel::<(Pending, Ack)>(4 * BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let result = insert(&db, &batch).await.map_err(|e| e.to_string());
                for (_, ack) in batch.drain(..) {
                    let _ = ack.send(result.clone());
                }
            }
        });
        Recorder { tx }
    }

    /// Records `e` and returns once it is committed.
    pub async fn record(&self, e: Event<'_>, client: &ClientInfo) -> Result<(), AppError> {
        let pending = pending(e, client);
        let (ack, done) = oneshot::channel();
        let gone = || AppError::Internal(anyhow::anyhow!("the event writer has stopped"));
        self.tx.send((pending, ack)).await.map_err(|_| gone())?;
        done.await
            .map_err(|_| gone())?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("recording an event: {e}")))
    }

    /// Records `e` without waiting: for things noticed outside a handler, such as a response
    /// body that has just been sent to its end. A failure is logged.
    pub fn record_detached(&self, e: Event<'_>, client: &ClientInfo) {
        let pending = pending(e, client);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let (ack, done) = oneshot::channel();
            let result = match tx.send((pending, ack)).await {
                Ok(()) => done.await.unwrap_or_else(|_| Err("writer stopped".into())),
                Err(_) => Err("writer stopped".into()),
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "recording an event failed");
            }
        });
    }
}

fn pending(e: Event<'_>, client: &ClientInfo) -> Pending {
    Pending {
        id: db::new_id(),
        kind: e.kind.to_string(),
        actor_user_id: e.actor_user_id.map(str::to_string),
        actor_link_id: e.actor_link_id.map(str::to_string),
        asset_id: e.asset_id.map(str::to_string),
        folder_id: e.folder_id.map(str::to_string),
        detail: e.detail.to_string(),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        created_at: clock::now_ms(),
    }
}

async fn insert(db: &Db, batch: &[(Pending, Ack)]) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    for (e, _) in batch {
        sqlx::query(
            "INSERT INTO events (id, kind, actor_user_id, actor_link_id, asset_id, folder_id, detail, ip, user_agent, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&e.id)
        .bind(&e.kind)
        .bind(&e.actor_user_id)
        .bind(&e.actor_link_id)
        .bind(&e.asset_id)
        .bind(&e.folder_id)
        .bind(&e.detail)
        .bind(&e.ip)
        .bind(&e.user_agent)
        .bind(e.created_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

#[derive(Debug, Serialize)]
pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub actor_user_id: Option<String>,
    pub actor_link_id: Option<String>,
    pub asset_id: Option<String>,
    pub folder_id: Option<String>,
    pub detail: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: String,
}

/// Filtered page of events, newest first; `before` is the cursor (an event id).
pub struct Filter<'a> {
    pub kind: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<&'a str>,
    pub limit: i64,
}

pub async fn list(db: &Db, f: Filter<'_>) -> Result<Vec<EventRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, actor_user_id, actor_link_id, asset_id, folder_id, detail, ip, user_agent, created_at \
         FROM events WHERE ($1 = '' OR kind = $1) AND created_at >= $2 AND created_at < $3 \
         AND ($4 = '' OR id < $4) ORDER BY id DESC LIMIT $5",
    )
    .bind(f.kind.unwrap_or(""))
    .bind(f.since.unwrap_or(i64::MIN))
    .bind(f.until.unwrap_or(i64::MAX))
    .bind(f.before.unwrap_or(""))
    .bind(f.limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(EventRow {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                actor_user_id: r.try_get("actor_user_id")?,
                actor_link_id: r.try_get("actor_link_id")?,
                asset_id: r.try_get("asset_id")?,
                folder_id: r.try_get("folder_id")?,
                detail: r.try_get("detail")?,
                ip: r.try_get("ip")?,
                user_agent: r.try_get("user_agent")?,
                created_at: clock::rfc3339(r.try_get("created_at")?),
            })
        })
        .collect()
}
