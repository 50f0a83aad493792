//! `GET /metrics` in Prometheus text format (docs/metrics.md lists every name; tests hold them
//! stable), kept and written by `prometheus-client`. Counters are this instance's own, as
//! Prometheus expects of each scraped target; job queue gauges are read from the database at
//! each scrape, so every instance reports the same queue.
//!
//! Requests are labelled by route template (`/s/{token}`), never by raw path: paths carry
//! secret tokens and would also make the label set unbounded.
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use prometheus_client::encoding::{prometheus_text, EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::app::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The job states `assetport_jobs` always reports (0 when none).
const JOB_STATES: [&str; 4] = ["pending", "running", "failed", "done"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobRunLabels {
    kind: &'static str,
    outcome: &'static str,
}

/// Metrics names and labels are fixed here; `prometheus-client` keeps the values (atomics; a
/// read lock to find a label set, a write lock only the first time one appears) and writes the
/// text format. Counters are registered without `_total`, which the encoder appends.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    throttled: Family<RouteLabels, Counter>,
    in_flight: Gauge,
    received: Counter,
    sent: Counter,
    job_runs: Family<JobRunLabels, Counter>,
    scrape_errors: Family<SourceLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

/// A family listed even before its first sample, as the endpoint always did: a dashboard or
/// alert finds every documented name, and a missing sample means "none yet", not "unknown
/// metric". (The crate's registry leaves empty families out.)
#[derive(Clone, Debug)]
struct Listed<M>(M);

impl<M: EncodeMetric> EncodeMetric for Listed<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }
    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
    fn is_empty(&self) -> bool {
        false
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

impl Metrics {
    /// `local_fallbacks` is the database's count of fast reads answered by sqlx instead
    /// (`Db::local_fallbacks`); plumbing below hands it up rather than this module reaching in.
    pub fn new(local_fallbacks: Counter) -> Metrics {
        let m = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            throttled: Family::default(),
            in_flight: Gauge::default(),
            received: Counter::default(),
            sent: Counter::default(),
            job_runs: Family::default(),
            scrape_errors: Family::default(),
        };
        let build_info = Family::<VersionLabels, Gauge>::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        // Present from the start, so an alert on its increase has a series to look at.
        m.scrape_errors
            .get_or_create_owned(&SourceLabels { source: "jobs" });

        let mut r = Registry::default();
        r.register("assetport_build_info", "The running version", build_info);
        r.register(
            "assetport_http_requests",
            "HTTP requests answered, by method, route template and status",
            Listed(m.requests.clone()),
        );
        r.register(
            "assetport_throttled",
            "Requests refused with 429 by a login, link or probe throttle",
            Listed(m.throttled.clone()),
        );
        r.register(
            "assetport_http_request_duration_seconds",
            "Time from request to response head, by route template",
            Listed(m.latency.clone()),
        );
        r.register(
            "assetport_http_requests_in_flight",
            "Requests being answered now",
            m.in_flight.clone(),
        );
        r.register(
            "assetport_http_received_bytes",
            "Request body bytes received (uploads)",
            m.received.clone(),
        );
        r.register(
            "assetport_http_sent_bytes",
            "Response body bytes sent (downloads, pages)",
            m.sent.clone(),
        );
        r.register(
            "assetport_job_runs",
            "Job runs finished by this instance, by kind and outcome",
            Listed(m.job_runs.clone()),
        );
        r.register(
            "assetport_scrape_errors",
            "Scrapes whose database read failed, by what was read; those samples are missing",
            Listed(m.scrape_errors.clone()),
        );
        r.register(
            "assetport_db_local_read_fallbacks",
            "Fast SQLite reads that failed and were answered through sqlx instead",
            local_fallbacks,
        );
        Metrics { registry: r, ..m }
    }

    /// Counts one finished job run (`outcome`: ok or error).
    pub fn job_run(&self, kind: &'static str, outcome: &'static str) {
        self.job_runs
            .get_or_create(&JobRunLabels { kind, outcome })
            .inc();
    }

    fn observe(&self, method: String, route: String, status: u16, seconds: f64) {
        let route = RouteLabels { route };
        self.latency.get_or_create(&route).observe(seconds);
        if status == 429 {
            self.throttled.get_or_create(&route).inc();
        }
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.route,
                status,
            })
            .inc();
    }

    /// The scrape's text. `jobs` is the shared queue's count per state, read for this scrape;
    /// when that read failed its samples are left out (an absent series, never a false zero)
    /// and `assetport_scrape_errors_total{source="jobs"}` counts it.
    fn scrape(
        &self,
        jobs: Result<Vec<(String, i64)>, sqlx::Error>,
    ) -> Result<String, std::fmt::Error> {
        let queue = Family::<StateLabels, Gauge>::default();
        match jobs {
            Ok(jobs) => {
                for state in JOB_STATES {
                    let n = jobs.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
                    queue.get_or_create(&StateLabels { state }).set(n);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading job counts for /metrics failed");
                self.scrape_errors
                    .get_or_create(&SourceLabels { source: "jobs" })
                    .inc();
            }
        }
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)?;
        let mut per_scrape = Registry::default();
        per_scrape.register(
            "assetport_jobs",
            "Background jobs in the shared queue, by state",
            Listed(queue),
        );
        prometheus_text::encode(&mut out, &per_scrape)?;
        Ok(out)
    }
}

/// One request being answered: the gauge rises when it is made and falls when it is dropped,
/// also when the request's future is dropped half-way (client gone, connection closed).
struct InFlight(Gauge);

impl InFlight {
    fn start(gauge: &Gauge) -> InFlight {
        gauge.inc();
        InFlight(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Times and counts every request, and counts body bytes both ways as they stream.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let client_ip = crate::web::client::ClientInfo::ip_of(&req);
    let started = Instant::now();
    let in_flight = InFlight::start(&metrics.in_flight);
    let req = req.map(|body| Body::new(Counted::new(body, metrics.received.clone())));
    let response = next.run(req).await;
    drop(in_flight);
    // Time to the response head: a download's streaming is counted in bytes, not seconds.
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics.observe(method, route, status, seconds);
    // The access log: inside the request's span, so it carries method, route and request id.
    tracing::info!(
        target: "assetport::access",
        status,
        ms = (seconds * 1000.0).round() as u64,
        ip = %client_ip,
        "answered"
    );
    response.map(|body| Body::new(Counted::new(body, metrics.sent.clone())))
}

/// A body that adds the length of each data frame to a counter as it passes.
struct Counted {
    inner: Body,
    counter: Counter,
}

impl Counted {
    fn new(inner: Body, counter: Counter) -> Counted {
        Counted { inner, counter }
    }
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.counter.inc_by(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `GET /metrics`. With `ASSETPORT_METRICS_TOKEN` set, only `Authorization: Bearer <token>`
/// may read it (404 otherwise, like any hidden page).
pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = state.config.metrics_token.as_ref().map(|t| t.expose()) {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::token::secret_eq(given, expected) {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    let jobs = crate::jobs::counts(&state.db).await;
    match state.metrics.scrape(jobs) {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding /metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use futures_util::StreamExt;
    use tower::ServiceExt;

    fn metrics() -> Arc<Metrics> {
        Arc::new(Metrics::new(Counter::default()))
    }

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = metrics();
        let observe = |method: &str, route: &str, status, seconds| {
            m.observe(method.into(), route.into(), status, seconds)
        };
        observe("GET", "/a", 200, 0.001);
        observe("GET", "/a", 200, 0.2);
        observe("GET", "/a", 500, 99.0);
        observe("POST", "/x\"y", 429, 0.01);
        let text = m.scrape(Ok(vec![("pending".into(), 3)])).unwrap();
        assert!(text.contains(
            "assetport_http_requests_total{method=\"GET\",route=\"/a\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "assetport_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "assetport_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.25\"} 2"
        ));
        assert!(text
            .contains("assetport_http_request_duration_seconds_bucket{route=\"/a\",le=\"30\"} 2"));
        assert!(text.contains(
            "assetport_http_request_duration_seconds_bucket{route=\"/a\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("assetport_throttled_total{route=\"/x\\\"y\"} 1"));
        assert!(text.contains("assetport_jobs{state=\"pending\"} 3"));
        assert!(text.contains("assetport_jobs{state=\"failed\"} 0"));
        assert_eq!(
            sample(&text, "assetport_scrape_errors_total{source=\"jobs\"}"),
            Some(0.0)
        );
    }

    /// A failed read of the queue is an error in the scrape, not an empty queue.
    #[test]
    fn unreadable_job_counts_are_missing_and_counted_not_zero() {
        let m = metrics();
        let text = m.scrape(Err(sqlx::Error::PoolTimedOut)).unwrap();
        assert!(!text.contains("assetport_jobs{"), "{text}");
        assert!(text.contains("# TYPE assetport_jobs gauge"), "{text}");
        assert_eq!(
            sample(&text, "assetport_scrape_errors_total{source=\"jobs\"}"),
            Some(1.0)
        );
        let text = m.scrape(Ok(vec![])).unwrap();
        assert!(text.contains("assetport_jobs{state=\"done\"} 0"), "{text}");
    }

    /// A request dropped while its body is half read (the client went away) no longer counts
    /// as in flight.
    #[tokio::test]
    async fn a_request_cancelled_mid_body_leaves_the_in_flight_gauge() {
        let m = metrics();
        let (got_tx, mut got) = tokio::sync::mpsc::channel::<usize>(4);
        let app = Router::new()
            .route(
                "/upload",
                post(move |body: Body| async move {
                    let mut chunks = body.into_data_stream();
                    while let Some(Ok(chunk)) = chunks.next().await {
                        let _ = got_tx.send(chunk.len()).await;
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(m.clone(), track));
        let (send, chunks) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let body = Body::from_stream(futures_util::stream::unfold(chunks, |mut rx| async {
            rx.recv().await.map(|chunk| (chunk, rx))
        }));
        let request = Request::post("/upload").body(body).unwrap();
        let call = tokio::spawn(app.oneshot(request));
        send.send(Ok(Bytes::from_static(b"first part")))
            .await
            .unwrap();
        assert_eq!(
            got.recv().await,
            Some(10),
            "the handler is reading the body"
        );
        assert_eq!(m.in_flight.get(), 1);

        call.abort();
        assert!(call.await.unwrap_err().is_cancelled());
        assert_eq!(m.in_flight.get(), 0);
        let text = m.scrape(Ok(vec![])).unwrap();
        assert_eq!(
            sample(&text, "assetport_http_requests_in_flight"),
            Some(0.0)
        );
        assert!(sample(&text, "assetport_http_received_bytes_total").unwrap() >= 10.0);
    }
}
