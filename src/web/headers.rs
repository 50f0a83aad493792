//! Security headers on every response (SPEC §2, issue 2): a strict CSP with no inline script,
//! nosniff, a conservative referrer policy and no framing; HSTS when the public URL is https;
//! and `Cache-Control: private, no-store` on the routers whose answers belong to one person
//! (signed-in pages and the JSON API); `private_headers` on the routers of link visitors.
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
    script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Layers that set a header only when the handler did not set it itself (downloads set a
/// stricter CSP and `no-referrer`).
pub fn layers() -> [SetResponseHeaderLayer<HeaderValue>; 4] {
    [
        SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ),
    ]
}

/// `Cache-Control: private, no-store` unless the handler chose its own (downloads, thumbnails).
/// Layered on the pages and the JSON API: what a signed-in person sees, or a token's owner
/// reads, must not stay in a shared or a browser cache.
pub fn no_store() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    )
}

/// `Strict-Transport-Security` for a year, layered when the portal is published over https
/// (`Config::secure_cookies`; TLS itself usually ends at a proxy in front, so the public URL is
/// what says so). Not over plain http, where browsers ignore it anyway.
pub fn hsts() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    )
}

/// What every private answer carries: never cached, never sent on as a Referer. The layer
/// below sets it on every answer of the link visitors' routers; bytes and pages that carry a
/// secret whichever router serves them (downloads, ZIPs, renditions, a reset link's page) set
/// it through this too, because the signed-in routers' defaults are weaker (`same-origin`).
pub fn mark_private(h: &mut HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// The one layer for answers private to whoever holds a secret URL (share- and upload-link
/// visitors, SPEC §6): never cached, never referred, never indexed. It overrides what a handler
/// set, so no page, file, error or redirect of such a router can forget it.
pub async fn private_headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    mark_private(h);
    h.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow"),
    );
    r
}
