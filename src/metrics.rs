//! `GET /metrics` in Prometheus text format (docs/metrics.md lists every name; tests hold them
//! stable). Counters are this instance's own, as Prometheus expects of each scraped target;
//! job queue gauges are read from the database, so every instance reports the same queue.
//!
//! Requests are labelled by route template (`/s/{token}`), never by raw path: paths carry
//! secret tokens and would also make the label set unbounded.
use std::collections::HashMap;
use std::fmt::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};

use crate::app::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<HashMap<(String, String, u16), u64>>,
    latency: Mutex<HashMap<String, Histogram>>,
    in_flight: AtomicI64,
    bytes_received: Arc<AtomicU64>,
    bytes_sent: Arc<AtomicU64>,
    job_runs: Mutex<HashMap<(String, &'static str), u64>>,
}

#[derive(Default, Clone)]
struct Histogram {
    /// Cumulative counts are computed at scrape time; these are per bucket (+Inf last).
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

impl Metrics {
    /// Counts one finished job run (`outcome`: ok or error).
    pub fn job_run(&self, kind: &str, outcome: &'static str) {
        let mut runs = self.job_runs.lock().unwrap_or_else(|e| e.into_inner());
        *runs.entry((kind.to_string(), outcome)).or_default() += 1;
    }

    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        {
            let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = latency.entry(route.to_string()).or_default();
        let slot = BUCKETS
            .iter()
            .position(|le| seconds <= *le)
            .unwrap_or(BUCKETS.len());
        h.counts[slot] += 1;
        h.sum += seconds;
    }
}

/// Times and counts every request, and counts body bytes both ways as they stream.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let metrics = state.metrics.clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().as_str().to_string();
    let client_ip = crate::web::client::ClientInfo::ip_of(&req);
    let started = Instant::now();
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let req = req.map(|body| Body::new(Counted::new(body, metrics.bytes_received.clone())));
    let response = next.run(req).await;
    metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    // Time to the response head: a download's streaming is counted in bytes, not seconds.
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics.observe(&method, &route, status, seconds);
    // The access log: inside the request's span, so it carries method, route and request id.
    tracing::info!(
        target: "assetport::access",
        status,
        ms = (seconds * 1000.0).round() as u64,
        ip = %client_ip,
        "answered"
    );
    response.map(|body| Body::new(Counted::new(body, metrics.bytes_sent.clone())))
}

/// A body that adds the length of each data frame to a counter as it passes.
struct Counted {
    inner: Body,
    counter: Arc<AtomicU64>,
}

impl Counted {
    fn new(inner: Body, counter: Arc<AtomicU64>) -> Counted {
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
                self.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
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
        if !crate::accounts::tokens::secret_eq(given, expected) {
            return StatusCode::NOT_FOUND.into_response();
        }
    }
    let jobs = crate::jobs::counts(&state.db).await.unwrap_or_default();
    let text = render(&state.metrics, &jobs);
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// Label values escaped as the exposition format wants.
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render(m: &Metrics, jobs: &[(String, i64)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP assetport_build_info The running version.\n# TYPE assetport_build_info gauge\n\
         assetport_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );

    let mut requests: Vec<_> = m
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    requests.sort();
    out.push_str(
        "# HELP assetport_http_requests_total HTTP requests answered, by method, route template and status.\n\
         # TYPE assetport_http_requests_total counter\n",
    );
    for ((method, route, status), n) in &requests {
        let _ = writeln!(
            out,
            "assetport_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
            esc(method),
            esc(route)
        );
    }
    out.push_str(
        "# HELP assetport_throttled_total Requests refused with 429 by a login, link or probe throttle.\n\
         # TYPE assetport_throttled_total counter\n",
    );
    let mut throttled: HashMap<&str, u64> = HashMap::new();
    for ((_, route, status), n) in &requests {
        if *status == 429 {
            *throttled.entry(route).or_default() += n;
        }
    }
    let mut throttled: Vec<_> = throttled.into_iter().collect();
    throttled.sort();
    for (route, n) in throttled {
        let _ = writeln!(
            out,
            "assetport_throttled_total{{route=\"{}\"}} {n}",
            esc(route)
        );
    }

    let mut latency: Vec<_> = m
        .latency
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    latency.sort_by(|a, b| a.0.cmp(&b.0));
    out.push_str(
        "# HELP assetport_http_request_duration_seconds Time from request to response head, by route template.\n\
         # TYPE assetport_http_request_duration_seconds histogram\n",
    );
    for (route, h) in &latency {
        let route = esc(route);
        let mut cumulative = 0;
        for (i, le) in BUCKETS.iter().enumerate() {
            cumulative += h.counts[i];
            let _ = writeln!(
                out,
                "assetport_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}"
            );
        }
        cumulative += h.counts[BUCKETS.len()];
        let _ = writeln!(
            out,
            "assetport_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}\n\
             assetport_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
             assetport_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}",
            h.sum
        );
    }

    let _ = writeln!(
        out,
        "# HELP assetport_http_requests_in_flight Requests being answered now.\n\
         # TYPE assetport_http_requests_in_flight gauge\n\
         assetport_http_requests_in_flight {}\n\
         # HELP assetport_http_received_bytes_total Request body bytes received (uploads).\n\
         # TYPE assetport_http_received_bytes_total counter\n\
         assetport_http_received_bytes_total {}\n\
         # HELP assetport_http_sent_bytes_total Response body bytes sent (downloads, pages).\n\
         # TYPE assetport_http_sent_bytes_total counter\n\
         assetport_http_sent_bytes_total {}",
        m.in_flight.load(Ordering::Relaxed),
        m.bytes_received.load(Ordering::Relaxed),
        m.bytes_sent.load(Ordering::Relaxed)
    );

    out.push_str(
        "# HELP assetport_jobs Background jobs in the shared queue, by state.\n\
         # TYPE assetport_jobs gauge\n",
    );
    for state in ["pending", "running", "failed", "done"] {
        let n = jobs.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "assetport_jobs{{state=\"{state}\"}} {n}");
    }
    let mut runs: Vec<_> = m
        .job_runs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    runs.sort();
    out.push_str(
        "# HELP assetport_job_runs_total Job runs finished by this instance, by kind and outcome.\n\
         # TYPE assetport_job_runs_total counter\n",
    );
    for ((kind, outcome), n) in runs {
        let _ = writeln!(
            out,
            "assetport_job_runs_total{{kind=\"{}\",outcome=\"{outcome}\"}} {n}",
            esc(&kind)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.observe("GET", "/a", 200, 0.001);
        m.observe("GET", "/a", 200, 0.2);
        m.observe("GET", "/a", 500, 99.0);
        m.observe("POST", "/x\"y", 429, 0.01);
        let text = render(&m, &[("pending".into(), 3)]);
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
    }
}
