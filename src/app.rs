//! Building the application from configuration: database, storage, router. Tests call
//! `App::build` exactly as `assetport serve` does, on port 0 with a temporary data dir.
//!
//! Routers are grouped by security posture: the JSON API (bearer tokens, no cookies, no
//! CSRF), the pages (session cookie + CSRF middleware), and public plumbing (static, health).
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::accounts::session_store::{self, DbSessionStore};
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, PageError};
use crate::storage::Storage;
use crate::web::{csrf, headers, static_files};
use crate::{
    accounts, collections, events, jobs, library, links, mail, renditions, search, uploadlinks,
    webhooks,
};

/// Everything a handler needs; one pointer to clone (every request clones it, and cloning each
/// part showed up in profiles of the link page).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    /// Where "now" is read; the same clock as `db.clock` (see `clock`).
    pub clock: crate::clock::Clock,
    pub db: Db,
    pub storage: Storage,
    pub config: Arc<Config>,
    /// Shared by all instances (signing of link cookies and the like).
    pub secret: crate::secret_string::SecretString,
    /// Writes audit events in batches (see `events::Recorder`).
    pub events: events::Recorder,
    /// Outgoing email: SMTP, or `.eml` files in the data dir's outbox.
    pub mailer: mail::Mailer,
    /// Link galleries, checked against the library generation on every use.
    pub galleries: Arc<crate::links::gallery::Cache>,
    /// This instance's copy of the branding (reloaded every few seconds).
    pub brand: Arc<crate::brand::Cache>,
    /// This instance's request, byte and job counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Wakes this instance's job workers when it queues work (others poll).
    pub jobs: jobs::Waker,
    /// Which webhook kinds anyone listens to, and the client that sends them.
    pub webhooks: Arc<webhooks::Hub>,
}

pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    state: AppState,
    /// Set when the portal has no admin yet: the one-time token of `/setup/{token}`.
    pub setup_token: Option<String>,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let db = Db::connect_pool(config.database_url.expose(), config.db_pool).await?;
        db.migrate().await?;
        let storage = Storage::from_url(&config.storage)?;
        let secret = crate::secret::shared(&config, &db).await?;
        let setup_token = accounts::pages::ensure_setup_token(&db).await?;
        let listener = TcpListener::bind(&config.bind).await?;
        let mut config = config;
        if config.public_url_from_bind {
            config.public_url = format!("http://{}", listener.local_addr()?);
        }
        let brand: Arc<crate::brand::Cache> = Arc::default();
        brand.set(crate::brand::load(&db).await?);
        let mailer = mail::Mailer::new(
            config.smtp_url.as_ref().map(|u| u.expose()),
            config.data_dir.join("outbox"),
            &config.mail_from,
            brand.clone(),
            db.clone(),
            storage.clone(),
        )?;
        let metrics = Arc::new(crate::metrics::Metrics::new(db.local_fallbacks()));
        let hub = webhooks::Hub::new(config.webhooks_allow_private)?;
        hub.refresh(&db).await?;
        let state = AppState(Arc::new(Shared {
            clock: db.clock.clone(),
            mailer,
            events: events::Recorder::start(db.clone()),
            db,
            storage,
            config: Arc::new(config),
            secret,
            galleries: Arc::default(),
            metrics,
            brand,
            jobs: jobs::Waker::default(),
            webhooks: Arc::new(hub),
        }));
        crate::sso::providers::apply_config(&state)
            .await
            .map_err(|e| anyhow::anyhow!("[[sso]] in the configuration: {e:?}"))?;
        Ok(App {
            router: router(state.clone()),
            addr: listener.local_addr()?,
            listener,
            state,
            setup_token,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C / SIGTERM, letting running requests finish.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        let janitor = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                if let Err(e) = session_store::purge_expired(&db).await {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
                if let Err(e) = jobs::purge_done(&db, db.clock.now_ms()).await {
                    tracing::warn!(error = %e, "purging finished jobs failed");
                }
            }
        });
        let mut workers = start_jobs(&self.state);
        let db = self.state.db.clone();
        // Search rows of changed assets are rebuilt in the background too (searches also
        // rebuild what is left before they run, so results are never stale).
        workers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            loop {
                tick.tick().await;
                if let Err(e) = search::refresh(&db).await {
                    tracing::warn!(error = %e, "refreshing search rows failed");
                }
            }
        }));
        // Webhooks: re-read who listens to what (others may change it), announce expiring links.
        workers.push(tokio::spawn(webhooks::run(self.state.clone())));
        // Receipts completed by the audit writer become `download.completed` webhooks; the
        // hook is one atomic read while nobody listens.
        let (completed, mut completions) =
            tokio::sync::mpsc::unbounded_channel::<crate::receipts::Op>();
        let hub = self.state.webhooks.clone();
        self.state.events.on_completed(Box::new(move |op| {
            if hub.wants(webhooks::WebhookKind::DownloadCompleted) {
                let _ = completed.send(op);
            }
        }));
        let state = self.state.clone();
        workers.push(tokio::spawn(async move {
            while let Some(op) = completions.recv().await {
                crate::receipts::announce_completed(&state, op).await;
            }
        }));
        // Closed availability windows open their recalls; every instance looks, once a
        // minute, and the recall's dedupe key keeps it one.
        let state = self.state.clone();
        workers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = crate::recalls::scan_windows(&state).await {
                    tracing::warn!(error = %e, "opening recalls of closed windows failed");
                }
            }
        }));
        // Upload links ending soon remind their senders of empty slots; every instance looks
        // once a minute, and a claim on the link keeps it one reminder.
        let state = self.state.clone();
        workers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                if let Err(e) = crate::uploadlinks::notices::scan_reminders(&state).await {
                    tracing::warn!(error = %e, "reminding senders of empty slots failed");
                }
            }
        }));
        // Digests: each instance asks for the day's job once a minute; one job runs.
        if let Some(hour) = self.state.config.digest_hour {
            let state = self.state.clone();
            workers.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let now = state.clock.now_ms();
                    if let Err(e) = crate::digests::schedule(&state, hour, now).await {
                        tracing::warn!(error = %e, "scheduling digests failed");
                    }
                }
            }));
        }
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        // Small responses (JSON, ranges) must not wait for delayed ACKs: Nagle off.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(signal)
            .await;
        // Every response has ended and handed over its event and receipt: commit them before
        // the process exits (the guarantee in `receipts`).
        if let Err(e) = self.state.events.flush().await {
            tracing::warn!(error = %e, "flushing the audit writer at shutdown failed");
        }
        janitor.abort();
        for w in workers {
            w.abort();
        }
        result.map_err(Into::into)
    }
}

/// This instance's job workers; each job kind is dispatched here.
fn start_jobs(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    if state.config.job_workers == 0 {
        return Vec::new();
    }
    let for_jobs = state.clone();
    jobs::start(
        state.db.clone(),
        state.jobs.clone(),
        state.config.job_workers,
        move |job: jobs::Job| {
            let state = for_jobs.clone();
            async move {
                let kind = job.kind;
                let outcome = match kind {
                    jobs::JobKind::Renditions => renditions::run(state.clone(), job).await,
                    jobs::JobKind::Digests => crate::digests::run(state.clone(), job).await,
                    jobs::JobKind::Webhook => webhooks::deliver(state.clone(), job).await,
                    jobs::JobKind::RecallNotices => {
                        crate::recalls::notices::run(state.clone(), job).await
                    }
                    jobs::JobKind::UploadLinkMail => {
                        crate::uploadlinks::notices::run(state.clone(), job).await
                    }
                    jobs::JobKind::ReviewOutcomes => {
                        crate::library::outcomes::run(state.clone(), job).await
                    }
                    jobs::JobKind::SubmissionsAlert => {
                        crate::library::alerts::run(state.clone(), job).await
                    }
                };
                let label = if outcome.is_ok() { "ok" } else { "error" };
                state.metrics.job_run(kind.as_str(), label);
                outcome
            }
        },
    )
}

fn router(state: AppState) -> Router {
    let config = state.config.clone();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.db.clone()))
        .with_name("assetport_session")
        .with_secure(config.secure_cookies())
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)));

    // The site's own origin, for the CSRF middleware's Origin check. `Config::load` refuses a
    // public URL that does not parse; a hand-made Config's falls back to the bound address.
    let origin = csrf::Origin::parse(&config.public_url)
        .or_else(|| csrf::Origin::parse(&format!("http://{}", config.bind)))
        .unwrap_or_else(csrf::Origin::loopback);

    let api = Router::new()
        .merge(accounts::api::routes())
        .merge(accounts::invite_pages::api_routes())
        .merge(crate::scim::admin::api_routes())
        .merge(crate::sso::admin::api_routes())
        .merge(library::api::routes(config.max_upload_bytes))
        .merge(links::api::routes())
        .merge(crate::receipts::api::routes())
        .merge(crate::recalls::api::routes())
        .merge(crate::requests::api::routes())
        .merge(uploadlinks::api::routes())
        .merge(search::api::routes())
        .merge(collections::api::routes())
        .merge(webhooks::api::routes())
        .merge(library::tus::routes::<accounts::ApiUser>())
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn(crate::error::json_errors))
        .layer(headers::no_store());

    let pages = Router::new()
        .merge(accounts::pages::routes())
        .merge(accounts::self_pages::routes())
        .merge(accounts::invite_pages::routes())
        .merge(crate::scim::admin::page_routes())
        .merge(crate::sso::admin::page_routes())
        .merge(crate::sso::flow::routes())
        .merge(crate::digests::pages::routes())
        .merge(library::pages::routes(config.max_upload_bytes))
        .merge(links::pages::routes())
        .merge(uploadlinks::pages::routes())
        .merge(jobs::pages::routes())
        .merge(crate::reports::pages::routes())
        .merge(crate::brand::pages::routes())
        .merge(crate::brand::mail_pages::routes())
        .merge(search::pages::routes())
        .merge(collections::pages::routes())
        .merge(webhooks::pages::routes())
        .merge(crate::requests::pages::routes())
        .merge(library::tus::routes::<accounts::PageUser>())
        .fallback(|| async { PageError(AppError::NotFound) })
        .layer(middleware::from_fn_with_state(
            origin.clone(),
            csrf::protect,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::accounts::nav::with_nav,
        ))
        // Inside the sessions layer: it reads the person's time zone from the session.
        .layer(middleware::from_fn(crate::clock::viewer_zone))
        .layer(sessions)
        .layer(headers::no_store());

    // Share-link visitors have no session (see links::visit).
    let visitors = links::visit::routes()
        .merge(uploadlinks::visit::routes(config.max_upload_bytes))
        .merge(crate::digests::pages::visitor_routes())
        .merge(crate::recalls::ack::routes())
        .merge(crate::requests::decide::routes())
        .layer(middleware::from_fn_with_state(
            origin,
            csrf::same_origin_only,
        ));

    // SCIM provisioning: bearer tokens only, SCIM's own error shape (scim/).
    let scim = crate::scim::routes()
        .fallback(|| async {
            crate::scim::ScimError::new(axum::http::StatusCode::NOT_FOUND, "no such resource")
        })
        .layer(headers::no_store());

    let mut app = Router::new()
        .nest("/api/v1", api)
        .nest("/scim/v2", scim)
        .merge(pages)
        .merge(visitors)
        .route("/static/{name}", get(static_files::serve))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::metrics::serve));
    for layer in headers::layers() {
        app = app.layer(layer);
    }
    if config.secure_cookies() {
        app = app.layer(headers::hsts());
    }
    let app = app
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::brand::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::metrics::track,
        ))
        .layer(axum::Extension(config.trusted_proxies.clone()))
        .layer(middleware::from_fn(crate::web::nul::refuse));
    // Spans name the route template, never the raw URI: URIs can carry secret tokens. Every
    // log line of a request carries its id, which the client also gets as X-Request-Id (kept
    // from a proxy that set one, e.g. nginx's $request_id).
    let app = app.layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let id: String = id.chars().take(64).collect();
        tracing::info_span!("request", method = %req.method(), route = %route, request_id = %id)
    }));
    app.layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(NewRequestId))
        .with_state(state)
}

/// A fresh id for each request that arrives without one.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        axum::http::HeaderValue::from_str(&crate::db::new_id())
            .ok()
            .map(RequestId::new)
    }
}

/// Ready when both the database and the storage answer.
async fn readyz(State(state): State<AppState>) -> Response {
    let db = state.db.ping().await.is_ok();
    let storage = state.storage.ping().await.is_ok();
    let status = if db && storage {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({ "database": word(db), "storage": word(storage) })),
    )
        .into_response()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
