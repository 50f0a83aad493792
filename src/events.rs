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

macro_rules! event_kinds {
    ($($variant:ident = $name:literal,)*) => {
        /// What happened: every kind of event the portal records, one list. Stored as its
        /// snake_case name, which reports, the API's `kind` filter and CSV exports use.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($variant,)*
        }

        impl EventKind {
            /// Every kind, in the order of this list.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// The stored name.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $name,)*
                }
            }

            /// The kind stored as `name`, if it is one.
            pub fn parse(name: &str) -> Option<EventKind> {
                match name {
                    $($name => Some(EventKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

event_kinds! {
    Login = "login",
    LoginFailed = "login_failed",
    Setup = "setup",
    PasswordChanged = "password_changed",
    PasswordReset = "password_reset",
    TokenCreated = "token_created",
    TokenRevoked = "token_revoked",
    UserCreated = "user_created",
    UserUpdated = "user_updated",
    UserDisabled = "user_disabled",
    GroupCreated = "group_created",
    MemberAdded = "member_added",
    MemberRemoved = "member_removed",
    FolderCreated = "folder_created",
    GrantSet = "grant_set",
    GrantRemoved = "grant_removed",
    Upload = "upload",
    AssetEdited = "asset_edited",
    CheckOut = "check_out",
    Release = "release",
    LockBroken = "lock_broken",
    CheckIn = "check_in",
    Approve = "approve",
    Reject = "reject",
    Archive = "archive",
    Restore = "restore",
    VersionMadeCurrent = "version_made_current",
    BrandingChanged = "branding_changed",
    Download = "download",
    DownloadStarted = "download_started",
    LinkDownload = "link_download",
    LinkDownloadStarted = "link_download_started",
    LinkCreated = "link_created",
    LinkChanged = "link_changed",
    LinkRevoked = "link_revoked",
    LinkRotated = "link_rotated",
    LinksPurged = "links_purged",
    LinkView = "link_view",
    LinkUnlocked = "link_unlocked",
    LinkTermsAccepted = "link_terms_accepted",
    LinkPasswordFailed = "link_password_failed",
    LinkCodeVerified = "link_code_verified",
    LinkCodeFailed = "link_code_failed",
    UploadLinkCreated = "upload_link_created",
    UploadLinkExtended = "upload_link_extended",
    UploadLinkRevoked = "upload_link_revoked",
    UploadLinkPasswordFailed = "upload_link_password_failed",
    AssetRecalled = "asset_recalled",
    RecallAcknowledged = "recall_acknowledged",
    WebhookCreated = "webhook_created",
    WebhookDeleted = "webhook_deleted",
    WebhookEnabled = "webhook_enabled",
    WebhookDisabled = "webhook_disabled",
    WebhookDeliveryResent = "webhook_delivery_resent",
    RequestMade = "request_made",
    RequestApproved = "request_approved",
    RequestDenied = "request_denied",
    DownloadGrantRevoked = "download_grant_revoked",
    LinkForwardAttempt = "link_forward_attempt",
    UploadLinkRevision = "upload_link_revision",
    InvitationSent = "invitation_sent",
    InvitationWithdrawn = "invitation_withdrawn",
    InvitationAccepted = "invitation_accepted",
    ScimTokenCreated = "scim_token_created",
    ScimTokenRevoked = "scim_token_revoked",
    GroupDeleted = "group_deleted",
    SsoProviderSaved = "sso_provider_saved",
    SsoProviderDeleted = "sso_provider_deleted",
    SsoLogin = "sso_login",
    SsoLoginFailed = "sso_login_failed",
    SsoAccountCreated = "sso_account_created",
    SsoAccountLinked = "sso_account_linked",
    SsoGroupsApplied = "sso_groups_applied",
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One thing that happened.
pub struct Event<'a> {
    pub kind: EventKind,
    pub actor_user_id: Option<&'a str>,
    /// The share link through which a visitor acted.
    pub actor_link_id: Option<&'a str>,
    pub asset_id: Option<&'a str>,
    pub folder_id: Option<&'a str>,
    pub detail: &'a str,
}

impl<'a> Event<'a> {
    pub fn new(kind: EventKind) -> Self {
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
    kind: EventKind,
    actor_user_id: Option<String>,
    actor_link_id: Option<String>,
    asset_id: Option<String>,
    folder_id: Option<String>,
    detail: String,
    ip: String,
    user_agent: String,
    created_at: i64,
}

/// Who waits for the commit; `None` for detached events.
type Ack = Option<oneshot::Sender<Result<(), String>>>;

/// What the writer is handed: an event, a receipt update (`receipts`, written in the same
/// transactions), or nothing (a flush waits for everything before it).
enum Item {
    Event(Pending),
    Receipt(Box<crate::receipts::Op>),
    Barrier,
}

/// Writes events with group commit: a request hands its event to one writer task and waits until
/// the transaction holding it has committed, so nothing acknowledged is lost; events arriving
/// meanwhile share the next transaction. Under load this turns hundreds of competing writes
/// (on SQLite: a lock and busy-sleeps each) into one short transaction.
#[derive(Clone, Debug)]
pub struct Recorder {
    tx: mpsc::Sender<(Item, Ack)>,
    /// When an event happened is read here, when it is handed over.
    clock: crate::clock::Clock,
    /// Events still owed by responses in flight (see `promise`).
    owed: std::sync::Arc<Owed>,
    /// Told, after each commit, of the receipts it completed (`on_completed`).
    completed: Completions,
}

/// What is told of each receipt completed, after its commit (webhooks' `download.completed`).
pub type CompletionHook = Box<dyn Fn(crate::receipts::Op) + Send + Sync>;
#[derive(Clone, Default)]
struct Completions(std::sync::Arc<std::sync::OnceLock<CompletionHook>>);

impl std::fmt::Debug for Completions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Completions(hooked)"
        } else {
            "Completions"
        })
    }
}

fn tell(completed: &Completions, ops: Vec<crate::receipts::Op>) {
    if let Some(hook) = completed.0.get() {
        for op in ops {
            hook(op);
        }
    }
}

#[derive(Debug, Default)]
struct Owed {
    n: std::sync::atomic::AtomicUsize,
    none_left: tokio::sync::Notify,
}

/// An event still to come: a download records how it ended when its body ends, after the
/// handler has returned. `Recorder::flush` waits for every promise to be kept or dropped.
pub struct Promise(std::sync::Arc<Owed>);

impl Drop for Promise {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

/// Most events committed in one transaction.
const BATCH: usize = 256;

impl Recorder {
    /// Starts the writer: on a thread of its own with its own connection for a SQLite file,
    /// else as a task on the current runtime.
    pub fn start(db: Db) -> Recorder {
        let clock = db.clock.clone();
        let completed: Completions = Default::default();
        let (tx, mut rx) = mpsc::channel::<(Item, Ack)>(4 * BATCH);
        if let Some(conn) = db.local.as_ref().and_then(|l| {
            l.open_writer()
                .map_err(|e| tracing::warn!(error = %e, "event writer: using sqlx"))
                .ok()
        }) {
            // At start-up, not on a request: a portal that cannot start its audit writer must
            // not start at all.
            let told = completed.clone();
            #[allow(clippy::expect_used)]
            std::thread::Builder::new()
                .name("event-writer".into())
                .spawn(move || write_on_thread(conn, rx, told))
                .expect("spawning the event writer");
            return Recorder {
                tx,
                clock,
                owed: Default::default(),
                completed,
            };
        }
        let told = completed.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            // The writer keeps its own connection: taking one from the pool for every batch
            // queued it behind every request, and each request was waiting for that batch.
            let mut conn = None;
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let result = insert(&db, &mut conn, &batch)
                    .await
                    .map_err(|e| e.to_string())
                    .map(|done| tell(&told, done));
                answer(&mut batch, result);
            }
        });
        Recorder {
            tx,
            clock,
            owed: Default::default(),
            completed,
        }
    }

    /// Sets what is told of each receipt completed, after the commit that completed it (once;
    /// a second hook is ignored). Called on the writer's thread: the hook must not block.
    pub fn on_completed(&self, hook: CompletionHook) {
        if self.completed.0.set(hook).is_err() {
            tracing::warn!("a receipt completion hook was set twice; the first one stays");
        }
    }

    /// Records `e` and returns once it is committed.
    pub async fn record(&self, e: Event<'_>, client: &ClientInfo) -> Result<(), AppError> {
        let pending = pending(e, client, self.clock.now_ms());
        let (ack, done) = oneshot::channel();
        let gone = || AppError::Internal(anyhow::anyhow!("the event writer has stopped"));
        self.tx
            .send((Item::Event(pending), Some(ack)))
            .await
            .map_err(|_| gone())?;
        done.await
            .map_err(|_| gone())?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("recording an event: {e}")))
    }

    /// An event a response in flight will record later (when its body ends); `flush` waits
    /// until it is handed over or the promise is dropped.
    pub fn promise(&self) -> Promise {
        self.owed
            .n
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Promise(self.owed.clone())
    }

    /// Returns once every event handed to the writer before this call is committed (the
    /// writer commits in order), and every event promised by a response still in flight
    /// (`promise`) with it: for shutdown and for tests that read what was recorded.
    pub async fn flush(&self) -> Result<(), AppError> {
        loop {
            // Created before the check, so a promise kept in between still wakes it.
            let none_left = self.owed.none_left.notified();
            if self.owed.n.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                break;
            }
            none_left.await;
        }
        let (ack, done) = oneshot::channel();
        let gone = || AppError::Internal(anyhow::anyhow!("the event writer has stopped"));
        self.tx
            .send((Item::Barrier, Some(ack)))
            .await
            .map_err(|_| gone())?;
        done.await
            .map_err(|_| gone())?
            .map_err(|e| AppError::Internal(anyhow::anyhow!("recording an event: {e}")))
    }

    /// Records `e` without waiting for the commit: for things noticed outside a handler (a
    /// response body sent to its end) and for page views, where a visitor should not wait on the
    /// audit log. The writer logs a failed batch.
    pub fn record_detached(&self, e: Event<'_>, client: &ClientInfo) {
        self.hand_over(Item::Event(pending(e, client, self.clock.now_ms())));
    }

    /// Hands a receipt update to the writer without waiting (`receipts`: never on the request
    /// path); `flush` waits for it like for a detached event.
    pub fn receipt(&self, op: crate::receipts::Op) {
        self.hand_over(Item::Receipt(Box::new(op)));
    }

    fn hand_over(&self, item: Item) {
        match self.tx.try_send((item, None)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(item)) => {
                // The writer is behind: queue behind it rather than drop the event.
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    if tx.send(item).await.is_err() {
                        tracing::warn!("the event writer has stopped; an update was lost");
                    }
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::warn!("the event writer has stopped; an update was lost");
            }
        }
    }
}

/// The SQLite writer: sqlx hands every statement to a worker thread of its own and binds
/// parameters by name, which under a stream of page views cost more than the inserts. Here one
/// thread waits for events and commits each batch with one cached single-row statement.
fn write_on_thread(
    mut conn: rusqlite::Connection,
    mut rx: mpsc::Receiver<(Item, Ack)>,
    told: Completions,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_commit = std::time::Instant::now();
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        take_waiting(&mut rx, &mut batch);
        // Each commit writes the touched pages to the WAL, whatever the number of rows, so
        // events are gathered for a moment before it. Nobody waits on detached events (page
        // views, completed downloads): 5 ms. Someone waits on the others (a download starts
        // after its record is committed), so they wait only while commits are frequent, i.e.
        // under load, and then only for 0.5 ms.
        if batch.len() < BATCH {
            let waited_on = batch.iter().any(|(_, ack)| ack.is_some());
            let pause = if !waited_on {
                Some(GATHER)
            } else if last_commit.elapsed() < BUSY {
                Some(GATHER_WAITED_ON)
            } else {
                None
            };
            if let Some(pause) = pause {
                std::thread::sleep(pause);
                take_waiting(&mut rx, &mut batch);
            }
        }
        let result = insert_sqlite(&mut conn, &batch)
            .map_err(|e| e.to_string())
            .map(|done| tell(&told, done));
        last_commit = std::time::Instant::now();
        answer(&mut batch, result);
    }
}

/// Tells everyone waiting on a committed batch how it went (a failure is also logged), and
/// empties the batch for the next one.
fn answer(batch: &mut Vec<(Item, Ack)>, result: Result<(), String>) {
    if let Err(e) = &result {
        tracing::warn!(error = %e, events = batch.len(), "recording events failed");
    }
    for (_, ack) in batch.drain(..) {
        if let Some(ack) = ack {
            let _ = ack.send(result.clone());
        }
    }
}

/// How long detached events wait for company before they are committed.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);
/// How long events someone waits on gather, when the previous commit was less than `BUSY` ago.
const GATHER_WAITED_ON: std::time::Duration = std::time::Duration::from_micros(500);
const BUSY: std::time::Duration = std::time::Duration::from_millis(2);

fn take_waiting(rx: &mut mpsc::Receiver<(Item, Ack)>, batch: &mut Vec<(Item, Ack)>) {
    while batch.len() < BATCH {
        match rx.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
}

fn insert_sqlite(
    conn: &mut rusqlite::Connection,
    batch: &[(Item, Ack)],
) -> rusqlite::Result<Vec<crate::receipts::Op>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(&insert_sql(1))?;
        for e in events_of(batch) {
            st.execute(rusqlite::params![
                e.id,
                e.kind.as_str(),
                e.actor_user_id,
                e.actor_link_id,
                e.asset_id,
                e.folder_id,
                e.detail,
                e.ip,
                e.user_agent,
                e.created_at
            ])?;
        }
    }
    let completed = crate::receipts::store::apply_sqlite(&tx, &receipts_of(batch))?;
    tx.commit()?;
    Ok(completed)
}

fn events_of(batch: &[(Item, Ack)]) -> impl Iterator<Item = &Pending> {
    batch.iter().filter_map(|(i, _)| match i {
        Item::Event(e) => Some(e),
        _ => None,
    })
}

/// The batch's receipt updates, one per receipt.
fn receipts_of(batch: &[(Item, Ack)]) -> Vec<crate::receipts::Op> {
    crate::receipts::store::coalesce(batch.iter().filter_map(|(i, _)| match i {
        Item::Receipt(op) => Some(&**op),
        _ => None,
    }))
}

fn pending(e: Event<'_>, client: &ClientInfo, now: i64) -> Pending {
    Pending {
        id: db::new_id(),
        kind: e.kind,
        actor_user_id: e.actor_user_id.map(str::to_string),
        actor_link_id: e.actor_link_id.map(str::to_string),
        asset_id: e.asset_id.map(str::to_string),
        folder_id: e.folder_id.map(str::to_string),
        detail: e.detail.to_string(),
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
        created_at: now,
    }
}

/// Rows per INSERT statement: one statement per round trip instead of one per event, well below
/// both databases' parameter limits (10 per row).
const ROWS_PER_INSERT: usize = 64;

async fn insert(
    db: &Db,
    conn: &mut Option<sqlx::pool::PoolConnection<sqlx::Any>>,
    batch: &[(Item, Ack)],
) -> Result<Vec<crate::receipts::Op>, sqlx::Error> {
    let c = match conn {
        Some(c) => c,
        None => conn.insert(db.pool.acquire().await?),
    };
    let result = insert_on(c, batch).await;
    if result.is_err() {
        // A broken connection is not reused; the next batch takes a fresh one.
        *conn = None;
    }
    result
}

async fn insert_on(
    conn: &mut sqlx::AnyConnection,
    batch: &[(Item, Ack)],
) -> Result<Vec<crate::receipts::Op>, sqlx::Error> {
    use sqlx::Connection;
    let events: Vec<&Pending> = events_of(batch).collect();
    let mut tx = conn.begin().await?;
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let sql = insert_sql(chunk.len());
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(&e.id)
                .bind(e.kind.as_str())
                .bind(&e.actor_user_id)
                .bind(&e.actor_link_id)
                .bind(&e.asset_id)
                .bind(&e.folder_id)
                .bind(&e.detail)
                .bind(&e.ip)
                .bind(&e.user_agent)
                .bind(e.created_at);
        }
        q.execute(&mut *tx).await?;
    }
    let completed = crate::receipts::store::apply_sqlx(&mut tx, &receipts_of(batch)).await?;
    tx.commit().await?;
    Ok(completed)
}

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO events (id, kind, actor_user_id, actor_link_id, asset_id, folder_id, detail, ip, user_agent, created_at) VALUES ",
    );
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let p: Vec<String> = (1..=10).map(|c| format!("${}", r * 10 + c)).collect();
        sql.push('(');
        sql.push_str(&p.join(", "));
        sql.push(')');
    }
    sql
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
