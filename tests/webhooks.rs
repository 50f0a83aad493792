//! Signed webhooks (issue 18): admins register endpoints for event types; each event is POSTed
//! as JSON, signed the way the Standard Webhooks specification says (checked here by Python's
//! `hmac`, an independent implementation), by the job queue with retries and backoff, logged per
//! endpoint, sent again on request; endpoints failing for three days are disabled and the admin
//! digest says so; non-public addresses are refused unless allowed. A real local HTTP receiver,
//! real HTTP to the portal, both databases.
mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use common::*;
use serde_json::{json, Value};

// The harness allows private addresses (every receiver here is on 127.0.0.1), as
// `ASSETPORT_WEBHOOKS_ALLOW_PRIVATE=true` would.
on_both_with!(
    local_receivers,
    |_: &mut assetport::Config| {},
    deliveries_are_signed_as_standard_webhooks_says,
    a_failed_delivery_is_retried_after_its_backoff,
    an_endpoint_failing_for_three_days_is_disabled_and_the_admin_digest_says_so,
    only_admins_see_or_change_webhooks,
    bad_input_answers_422_in_the_api_error_shape,
    link_views_submissions_and_expiring_links_are_sent,
    admins_manage_webhooks_on_their_pages,
    completed_downloads_and_acknowledged_recalls_are_sent,
);
on_both_with!(
    public_only,
    |c: &mut assetport::Config| c.webhooks_allow_private = false,
    private_addresses_are_refused_without_the_flag,
);

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Hit {
    id: String,
    timestamp: String,
    signature: String,
    content_type: String,
    user_agent: String,
    body: String,
}

/// A webhook receiver: a real HTTP server on 127.0.0.1 that records every request and answers
/// with the statuses it was given, then `then` for good.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    then: Arc<AtomicU16>,
}

impl Receiver {
    async fn start(answers: &[u16], then: u16) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            addr: listener.local_addr().unwrap(),
            hits: Arc::default(),
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
            then: Arc::new(AtomicU16::new(then)),
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        r
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests came; returns them all.
    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        eventually(&format!("{n} webhook requests"), || async {
            let hits = self.hits();
            (hits.len() >= n).then_some(hits)
        })
        .await
    }
}

async fn receive(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    r.hits.lock().unwrap().push(Hit {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        content_type: h("content-type"),
        user_agent: h("user-agent"),
        body,
    });
    let status = r
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| r.then.load(Ordering::SeqCst));
    axum::http::StatusCode::from_u16(status).unwrap()
}

/// The Standard Webhooks check, in Python's standard library: the key is the base64 after
/// `whsec_`; the signature is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), one of the
/// space-separated `v1,<sig>` entries of `webhook-signature`.
const VERIFY: &str = "import sys, json, hmac, hashlib, base64\n\
m = json.load(sys.stdin)\n\
key = base64.b64decode(m['secret'][len('whsec_'):])\n\
signed = (m['id'] + '.' + m['ts'] + '.' + m['body']).encode()\n\
expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()\n\
given = [s.split(',', 1)[1] for s in m['sig'].split(' ') if s.startswith('v1,')]\n\
print('valid' if any(hmac.compare_digest(g, expected) for g in given) else 'invalid')\n";

fn verifies(secret: &str, hit: &Hit) -> bool {
    let input = json!({ "secret": secret, "id": hit.id, "ts": hit.timestamp,
                        "sig": hit.signature, "body": hit.body });
    let out = python(
        VERIFY,
        input.to_string().as_bytes(),
        "python3 checks a signature",
    );
    String::from_utf8_lossy(&out).trim() == "valid"
}

/// Registers an endpoint and expects 201; returns the answer (with the secret, shown once).
async fn register(admin: &Api, url: &str, kinds: &[&str]) -> Value {
    admin
        .post_ok("/webhooks", json!({ "url": url, "kinds": kinds }), 201)
        .await
}

/// The endpoint's deliveries (newest first) once `ready` holds for them.
async fn deliveries_when(admin: &Api, id: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    eventually("the delivery log", || async {
        let j = expect_json(admin.get(&format!("/webhooks/{id}/deliveries")).await, 200).await;
        let items = j["items"].as_array().cloned().unwrap_or_default();
        ready(&items).then_some(items)
    })
    .await
}

async fn events_of(admin: &Api, kind: &str) -> Vec<Value> {
    let j = expect_json(admin.get(&format!("/events?kind={kind}")).await, 200).await;
    j["items"].as_array().cloned().unwrap_or_default()
}

async fn deliveries_are_signed_as_standard_webhooks_says(app: TestApp) {
    let admin = app.admin().await;
    let hook = Receiver::start(&[], 200).await;
    let created = admin
        .post_ok(
            "/webhooks",
            json!({ "url": hook.url(), "kinds": ["asset.approved"], "description": "DAM sync" }),
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{created}");
    let key = base64::engine::general_purpose::STANDARD
        .decode(&secret["whsec_".len()..])
        .unwrap();
    assert!((24..=64).contains(&key.len()), "{} key bytes", key.len());
    assert_eq!(created["kinds"], json!(["asset.approved"]));
    assert_eq!(created["state"], "enabled");
    // The secret is shown once: not in the list, not when read again.
    let listed = expect_json(admin.get("/webhooks").await, 200).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert!(!listed.to_string().contains(&secret));
    let read = expect_json(admin.get(&format!("/webhooks/{id}")).await, 200).await;
    assert_eq!(read["url"], hook.url());
    assert!(read.get("secret").is_none(), "{read}");

    let folder = admin.folder(None, "Press").await;
    let asset = admin.published(&folder, "hero.jpg", bytes(1000, 1)).await;
    let hit = hook.wait_for(1).await.remove(0);
    assert_eq!(hit.content_type, "application/json");
    assert!(
        hit.user_agent.starts_with("assetport"),
        "{}",
        hit.user_agent
    );
    let body: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(body["type"], "asset.approved");
    assert_eq!(body["data"]["asset_id"], asset.as_str());
    assert_eq!(body["data"]["filename"], "hero.jpg");
    assert!(
        assetport::clock::parse_rfc3339(body["timestamp"].as_str().unwrap()).is_some(),
        "{body}"
    );
    // webhook-timestamp: Unix seconds, of the portal's clock.
    let ts: i64 = hit.timestamp.parse().unwrap();
    assert!((ts - app.state.clock.now_ms() / 1000).abs() < 60, "{ts}");
    assert!(verifies(&secret, &hit), "{hit:?}");
    // The check is real: another body, or another secret, does not verify.
    let forged = Hit {
        body: hit.body.replace("hero.jpg", "evil.jpg"),
        ..hit.clone()
    };
    assert!(!verifies(&secret, &forged));
    let other = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 24])
    );
    assert!(!verifies(&other, &hit));

    // The log: the message's id is its webhook-id.
    let log = deliveries_when(&admin, &id, |d| {
        d.first().is_some_and(|d| d["status"] == "succeeded")
    })
    .await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], hit.id.as_str());
    assert_eq!(log[0]["type"], "asset.approved");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["response_code"], 200);
    assert!(log[0]["attempted_at"].is_string(), "{}", log[0]);

    // "Send again": the same message (same webhook-id), signed afresh.
    let again = admin
        .post_ok(
            &format!("/webhooks/{id}/deliveries/{}/resend", hit.id),
            json!({}),
            202,
        )
        .await;
    assert_eq!(again["id"], hit.id.as_str());
    let hits = hook.wait_for(2).await;
    assert_eq!(hits[1].id, hit.id);
    assert_eq!(hits[1].body, hit.body);
    assert!(verifies(&secret, &hits[1]));
    deliveries_when(&admin, &id, |d| {
        d[0]["attempts"] == 2 && d[0]["status"] == "succeeded"
    })
    .await;

    // Each admin action is in the audit log, by whom.
    for kind in ["webhook_created", "webhook_delivery_resent"] {
        let events = events_of(&admin, kind).await;
        assert_eq!(events.len(), 1, "{kind}");
        assert_eq!(events[0]["actor_user_id"], admin.user_id.as_str());
        assert!(events[0]["detail"].as_str().unwrap().contains(&id));
    }
    // Deleting ends it: gone from the list, 404 after, recorded.
    let r = admin.delete(&format!("/webhooks/{id}")).await;
    assert_eq!(r.status(), 204);
    let r = admin.get(&format!("/webhooks/{id}")).await;
    expect_json(r, 404).await;
    assert_eq!(events_of(&admin, "webhook_deleted").await.len(), 1);
    let listed = expect_json(admin.get("/webhooks").await, 200).await;
    assert_eq!(listed["items"], json!([]));
}

async fn a_failed_delivery_is_retried_after_its_backoff(app: TestApp) {
    let admin = app.admin().await;
    let hook = Receiver::start(&[500], 200).await;
    let created = register(&admin, &hook.url(), &["asset.approved"]).await;
    let id = created["id"].as_str().unwrap();
    let secret = created["secret"].as_str().unwrap();
    let folder = admin.folder(None, "Press").await;
    admin.published(&folder, "retry.jpg", bytes(500, 2)).await;

    let first = hook.wait_for(1).await.remove(0);
    // Once the failed attempt is recorded and the job waits for its retry.
    let log = deliveries_when(&admin, id, |d| {
        d.first()
            .is_some_and(|d| d["attempts"] == 1 && d["next_attempt_at"].is_string())
    })
    .await;
    assert_eq!(log[0]["status"], "pending", "{}", log[0]);
    assert_eq!(log[0]["response_code"], 500);
    assert!(!log[0]["error"].as_str().unwrap().is_empty());
    // The next attempt waits for its backoff on the portal's clock (30 s after a first failure).
    let next =
        assetport::clock::parse_rfc3339(log[0]["next_attempt_at"].as_str().unwrap()).unwrap();
    let now = app.state.clock.now_ms();
    assert!(next > now + 20_000 && next <= now + 31_000, "{}", log[0]);
    let endpoint = expect_json(admin.get(&format!("/webhooks/{id}")).await, 200).await;
    assert!(endpoint["failing_since"].is_string(), "{endpoint}");

    app.advance(Duration::from_secs(31));
    let hits = hook.wait_for(2).await;
    let second = &hits[1];
    assert_eq!(second.id, first.id, "a retry is the same message");
    assert_eq!(second.body, first.body);
    let (t1, t2): (i64, i64) = (
        first.timestamp.parse().unwrap(),
        second.timestamp.parse().unwrap(),
    );
    assert!(t2 >= t1 + 30, "{t1} then {t2}");
    assert!(verifies(secret, &first) && verifies(secret, second));
    let log = deliveries_when(&admin, id, |d| d[0]["status"] == "succeeded").await;
    assert_eq!(log[0]["attempts"], 2);
    assert_eq!(log[0]["response_code"], 200);
    assert!(log[0]["next_attempt_at"].is_null());
    // A success ends the failing streak.
    let endpoint = expect_json(admin.get(&format!("/webhooks/{id}")).await, 200).await;
    assert!(endpoint["failing_since"].is_null(), "{endpoint}");
}

async fn an_endpoint_failing_for_three_days_is_disabled_and_the_admin_digest_says_so(app: TestApp) {
    let admin = app.admin().await;
    let hook = Receiver::start(&[], 500).await;
    let created = admin
        .post_ok(
            "/webhooks",
            json!({ "url": hook.url(), "kinds": ["asset.approved"], "description": "ERP bridge" }),
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let folder = admin.folder(None, "Press").await;
    admin.published(&folder, "one.jpg", bytes(100, 3)).await;
    hook.wait_for(1).await;
    deliveries_when(&admin, id, |d| {
        d.first().is_some_and(|d| d["attempts"] == 1)
    })
    .await;

    // Three days later the receiver still answers 500: the endpoint is disabled.
    app.advance(Duration::from_secs(3 * 86400 + 60));
    let endpoint = eventually("the endpoint to be disabled", || async {
        let j = expect_json(admin.get(&format!("/webhooks/{id}")).await, 200).await;
        (j["state"] == "disabled").then_some(j)
    })
    .await;
    assert!(endpoint["disabled_at"].is_string(), "{endpoint}");
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("3 days"),
        "{endpoint}"
    );
    let log = deliveries_when(&admin, id, |d| d[0]["status"] == "failed").await;
    assert_eq!(log[0]["attempts"], 2);
    let disabled = events_of(&admin, "webhook_disabled").await;
    assert_eq!(disabled.len(), 1);
    assert!(disabled[0]["detail"].as_str().unwrap().contains(id));

    // A disabled endpoint is sent nothing new (the approval queues its messages before it
    // answers, so the log is final here).
    admin.published(&folder, "two.jpg", bytes(100, 4)).await;
    let log = expect_json(admin.get(&format!("/webhooks/{id}/deliveries")).await, 200).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    // Send again is refused while it is disabled.
    let r = admin
        .post(
            &format!(
                "/webhooks/{id}/deliveries/{}/resend",
                log["items"][0]["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    expect_json(r, 409).await;

    // The admin digest says so (signed in now: the clock moved past the old session).
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let csrf = b.csrf("/admin/jobs").await;
    let r = b
        .post_form("/admin/digests/run", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    let mail = app
        .wait_for_mail("admin@example.com", |m| m.contains("Unsubscribe:"))
        .await;
    assert!(mail.contains("1 webhook disabled"), "{mail}");
    assert!(mail.contains(&hook.url()), "{mail}");
    assert!(mail.contains("ERP bridge"), "{mail}");
    assert!(mail.contains(&format!("/admin/webhooks/{id}")), "{mail}");

    // Turned on again by an admin (the receiver fixed), it is sent new messages.
    hook.then.store(200, Ordering::SeqCst);
    let enabled = admin
        .post_ok(&format!("/webhooks/{id}/enable"), json!({}), 200)
        .await;
    assert_eq!(enabled["state"], "enabled");
    assert!(enabled["failing_since"].is_null(), "{enabled}");
    assert_eq!(events_of(&admin, "webhook_enabled").await.len(), 1);
    let before = hook.hits().len();
    admin.published(&folder, "three.jpg", bytes(100, 8)).await;
    let hits = hook.wait_for(before + 1).await;
    let body: Value = serde_json::from_str(&hits[before].body).unwrap();
    assert_eq!(body["data"]["filename"], "three.jpg");
    deliveries_when(&admin, id, |d| d[0]["status"] == "succeeded").await;
}

async fn only_admins_see_or_change_webhooks(app: TestApp) {
    let admin = app.admin().await;
    let member = app.member("partner@example.com", &[]).await;
    let hook = Receiver::start(&[], 200).await;
    let id = register(&admin, &hook.url(), &["link.opened"]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({ "url": hook.url(), "kinds": ["link.opened"] });
    for (method, path, body) in [
        (reqwest::Method::GET, "/webhooks".to_string(), None),
        (reqwest::Method::POST, "/webhooks".to_string(), Some(body)),
        (reqwest::Method::GET, format!("/webhooks/{id}"), None),
        (reqwest::Method::DELETE, format!("/webhooks/{id}"), None),
        (
            reqwest::Method::GET,
            format!("/webhooks/{id}/deliveries"),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/webhooks/{id}/enable"),
            None,
        ),
    ] {
        let r = member.send(method.clone(), &path, body).await;
        let j = expect_json(r, 404).await;
        assert_eq!(j["error"], "not_found", "{method} {path}");
    }
    let r = visitor()
        .get(app.url("/api/v1/webhooks"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Pages: members get the 404 page; someone signed out is sent to sign in.
    let b = app.browser();
    b.login_ok("partner@example.com").await;
    for path in [
        "/admin/webhooks".to_string(),
        format!("/admin/webhooks/{id}"),
    ] {
        let (status, page) = b.page(&path).await;
        assert_eq!(status, 404, "{path}");
        assert!(!page.contains(&hook.url()));
    }
    let csrf = b.csrf("/account").await;
    let r = b
        .post_form(
            &format!("/admin/webhooks/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 404);
    let (_, home) = b.page("/").await;
    assert!(
        !home.contains("/admin/webhooks"),
        "no menu entry for members"
    );
    let r = app.browser().get("/admin/webhooks").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login"));
    // Nothing changed.
    expect_json(admin.get(&format!("/webhooks/{id}")).await, 200).await;
    assert_eq!(app.count("webhooks").await, 1);
}

async fn bad_input_answers_422_in_the_api_error_shape(app: TestApp) {
    let admin = app.admin().await;
    let long = format!("https://example.com/{}", "a".repeat(2100));
    for body in [
        json!({ "url": "ftp://example.com/hook", "kinds": ["asset.approved"] }),
        json!({ "url": "not a url", "kinds": ["asset.approved"] }),
        json!({ "url": "https://user:password@example.com/hook", "kinds": ["asset.approved"] }),
        json!({ "url": long, "kinds": ["asset.approved"] }),
        json!({ "url": "https://example.com/hook", "kinds": [] }),
        json!({ "url": "https://example.com/hook", "kinds": ["asset.deleted"] }),
        json!({ "url": "https://example.com/hook" }),
        json!({ "kinds": ["asset.approved"] }),
        json!({ "url": "https://example.com/hook", "kinds": ["asset.approved"],
                "description": "x".repeat(501) }),
        json!({ "url": "https://example.com/hook", "kinds": ["asset.approved"], "colour": "red" }),
        json!({ "url": 42, "kinds": ["asset.approved"] }),
    ] {
        let r = admin.post("/webhooks", body.clone()).await;
        let j = expect_json(r, 422).await;
        assert_eq!(j["error"], "unprocessable", "{body}: {j}");
        assert!(!j["message"].as_str().unwrap().is_empty(), "{body}: {j}");
    }
    assert_eq!(app.count("webhooks").await, 0);
    // Unknown ids are 404 in the same shape.
    for (method, path) in [
        (reqwest::Method::GET, "/webhooks/nope"),
        (reqwest::Method::DELETE, "/webhooks/nope"),
        (reqwest::Method::GET, "/webhooks/nope/deliveries"),
        (
            reqwest::Method::POST,
            "/webhooks/nope/deliveries/nope/resend",
        ),
    ] {
        let j = expect_json(admin.send(method, path, None).await, 404).await;
        assert_eq!(j["error"], "not_found");
    }
    // A public https address with repeated kinds is fine; kinds come back once each, in order.
    let ok = register(
        &admin,
        "https://hooks.example.com/assetport",
        &["link.expiring", "asset.approved", "link.expiring"],
    )
    .await;
    assert_eq!(ok["kinds"], json!(["asset.approved", "link.expiring"]));
}

async fn link_views_submissions_and_expiring_links_are_sent(app: TestApp) {
    let admin = app.admin().await;
    let hook = Receiver::start(&[], 200).await;
    let created = register(
        &admin,
        &hook.url(),
        &["link.opened", "submission.received", "link.expiring"],
    )
    .await;
    let secret = created["secret"].as_str().unwrap().to_string();
    let typed = |t: &str| {
        hook.hits()
            .into_iter()
            .filter_map(|h| serde_json::from_str::<Value>(&h.body).ok())
            .filter(|b| b["type"] == t)
            .collect::<Vec<_>>()
    };
    let wait_typed = |t: &'static str| {
        let typed = &typed;
        async move {
            eventually(&format!("a {t} webhook"), || async {
                let got = typed(t);
                (!got.is_empty()).then_some(got)
            })
            .await
        }
    };

    // An agency's upload waits for review: submission.received.
    let inbox = admin.folder(None, "Agency inbox").await;
    let agencies = admin.group("Agencies").await;
    admin.grant(&inbox, &agencies, false, false, true).await;
    let agency = app.member("studio@agency.example", &[&agencies]).await;
    let submitted = agency.upload(&inbox, "draft.psd", b"design".to_vec()).await;
    let got = wait_typed("submission.received").await;
    assert_eq!(got[0]["data"]["asset_id"], submitted["id"]);
    assert_eq!(got[0]["data"]["filename"], "draft.psd");
    assert_eq!(
        got[0]["data"]["submitted_by"]["email"],
        "studio@agency.example"
    );

    // So does a file through an upload link, from someone without an account.
    let upload_link = admin
        .post_ok(
            "/upload-links",
            json!({ "folder_id": inbox, "expires_at": app.in_secs(86400) }),
            201,
        )
        .await;
    let url = upload_link["url"].as_str().unwrap();
    let path = &url[url.find("/u/").unwrap()..];
    let r = send_to_upload_link(&app, path, "sent.pdf", b"%PDF-1.4 sent").await;
    assert!(r.status().is_success(), "{}", r.status());
    eventually("a second submission webhook", || async {
        (typed("submission.received").len() >= 2).then_some(())
    })
    .await;
    let via_link = typed("submission.received")
        .into_iter()
        .find(|b| b["data"]["filename"] == "sent.pdf")
        .unwrap();
    assert_eq!(via_link["data"]["upload_link_id"], upload_link["id"]);
    assert_eq!(
        via_link["data"]["submitted_by"]["email"],
        "nora@studio.example"
    );

    // A visitor opens a share link: link.opened, without the link's secret token.
    let shop = admin.folder(None, "Shop").await;
    let photo = admin.published(&shop, "photo.jpg", bytes(300, 5)).await;
    let soon = admin
        .create_link(json!({ "asset_ids": [photo], "title": "Spring kit",
                             "expires_at": app.in_secs(2 * 86400) }))
        .await;
    let later = admin
        .create_link(json!({ "asset_ids": [photo], "title": "Autumn kit",
                             "expires_at": app.in_secs(30 * 86400) }))
        .await;
    let r = visitor().get(app.url(&soon.path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let got = wait_typed("link.opened").await;
    assert_eq!(got[0]["data"]["link_id"], soon.id.as_str());
    assert_eq!(got[0]["data"]["title"], "Spring kit");
    let token = &soon.path["/s/".len()..];
    assert!(
        hook.hits().iter().all(|h| !h.body.contains(token)),
        "the token never leaves"
    );

    // A day later the first link ends within 24 hours: link.expiring, once; the other is not
    // near its end.
    app.advance(Duration::from_secs(86400 + 3600));
    let got = wait_typed("link.expiring").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["data"]["link_id"], soon.id.as_str());
    let link = expect_json(admin.get(&format!("/links/{}", soon.id)).await, 200).await;
    assert_eq!(got[0]["data"]["expires_at"], link["expires_at"]);
    assert!(typed("link.expiring")
        .iter()
        .all(|b| b["data"]["link_id"] != later.id.as_str()));
    assert_eq!(app.count("webhook_link_notices").await, 1);
    // Kinds nobody subscribed to queue nothing (the approval above had no taker).
    assert_eq!(
        app.count("webhook_deliveries WHERE kind = 'asset.approved'")
            .await,
        0
    );
    for h in hook.hits() {
        assert!(verifies(&secret, &h), "{h:?}");
    }
}

async fn private_addresses_are_refused_without_the_flag(app: TestApp) {
    let admin = app.admin().await;
    let hook = Receiver::start(&[], 200).await;
    // Literal non-public addresses are refused when the endpoint is registered.
    for url in [
        hook.url(),
        "http://10.1.2.3/hook".to_string(),
        "http://172.16.5.4/hook".to_string(),
        "http://192.168.0.10/hook".to_string(),
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://100.64.0.1/hook".to_string(),
        "http://0.0.0.0:8080/hook".to_string(),
        "http://224.0.0.1/hook".to_string(),
        "http://2130706433/hook".to_string(),
        "http://[::1]:8080/hook".to_string(),
        "http://[fd00::1]/hook".to_string(),
        "http://[fe80::1]/hook".to_string(),
        "http://[::ffff:127.0.0.1]/hook".to_string(),
    ] {
        let r = admin
            .post(
                "/webhooks",
                json!({ "url": url, "kinds": ["asset.approved"] }),
            )
            .await;
        let j = expect_json(r, 422).await;
        assert_eq!(j["error"], "unprocessable", "{url}");
        assert!(
            j["message"].as_str().unwrap().contains("not public"),
            "{url}: {j}"
        );
    }
    assert_eq!(app.count("webhooks").await, 0);

    // A name is checked where it resolves, at each delivery (a name can change its address
    // after it was registered): localhost resolves to loopback, so nothing is sent.
    let by_name = format!("http://localhost:{}/hook", hook.addr.port());
    let id = register(&admin, &by_name, &["asset.approved"]).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let folder = admin.folder(None, "Press").await;
    admin.published(&folder, "local.jpg", bytes(100, 6)).await;
    let log = deliveries_when(&admin, &id, |d| {
        d.first().is_some_and(|d| d["attempts"] == 1)
    })
    .await;
    assert!(log[0]["response_code"].is_null(), "{}", log[0]);
    assert!(
        log[0]["error"].as_str().unwrap().contains("not public"),
        "{}",
        log[0]
    );
    // The attempt was refused before any connection was made.
    assert!(hook.hits().is_empty());
}

async fn admins_manage_webhooks_on_their_pages(app: TestApp) {
    let admin = app.admin().await;
    let hook = Receiver::start(&[], 200).await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let (status, page) = b.page("/admin/webhooks").await;
    assert_eq!(status, 200);
    assert!(page.contains("href=\"/admin/webhooks\""), "a menu entry");
    assert!(page.contains("No webhooks yet"), "{page}");
    let csrf = b.csrf("/admin/webhooks").await;

    // A mistake is shown beside the form.
    let r = b
        .post_form(
            "/admin/webhooks",
            &[
                ("csrf_token", &csrf),
                ("url", "ftp://x.example/h"),
                ("kinds", "asset.approved"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("http"), "{html}");
    assert!(
        html.contains("ftp://x.example/h"),
        "the form keeps what was typed"
    );

    // Created: the secret is shown once, on this page only.
    let r = b
        .post_form(
            "/admin/webhooks",
            &[
                ("csrf_token", &csrf),
                ("url", &hook.url()),
                ("description", "Chat notifier"),
                ("kinds", "asset.approved"),
                ("kinds", "link.opened"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    let start = html.find("whsec_").expect("the secret on the page");
    let secret: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "_+/=".contains(*c))
        .collect();
    let (_, list) = b.page("/admin/webhooks").await;
    assert!(list.contains("Chat notifier") && list.contains(&hook.url()));
    assert!(!list.contains(&secret));
    let id = expect_json(admin.get("/webhooks").await, 200).await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(list.contains(&format!("/admin/webhooks/{id}")));

    // The page's secret is the one the messages are signed with.
    let folder = admin.folder(None, "Press").await;
    admin.published(&folder, "page.jpg", bytes(100, 7)).await;
    let hit = hook.wait_for(1).await.remove(0);
    assert!(verifies(&secret, &hit));
    deliveries_when(&admin, &id, |d| d[0]["status"] == "succeeded").await;
    let (status, detail) = b.page(&format!("/admin/webhooks/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        detail.contains("asset.approved") && detail.contains("succeeded"),
        "{detail}"
    );
    assert!(detail.contains("200"));
    assert!(!detail.contains(&secret));

    // Send again from the page.
    let csrf = b.csrf(&format!("/admin/webhooks/{id}")).await;
    let r = b
        .post_form(
            &format!("/admin/webhooks/{id}/deliveries/{}/resend", hit.id),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("/admin/webhooks/{id}"));
    assert_eq!(hook.wait_for(2).await[1].id, hit.id);

    // Delete from the page.
    let r = b
        .post_form(
            &format!("/admin/webhooks/{id}/delete"),
            &[("csrf_token", &csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/webhooks");
    expect_json(admin.get(&format!("/webhooks/{id}")).await, 404).await;
    let (_, list) = b.page("/admin/webhooks").await;
    assert!(!list.contains(&hook.url()));
}

/// `download.completed` comes from the receipt (issue 18): once, when the last byte of the
/// file reached the visitor, however many Range requests it took; `recall.acknowledged` when
/// a notice's address is POSTed.
async fn completed_downloads_and_acknowledged_recalls_are_sent(app: TestApp) {
    let admin = app.admin().await;
    let hook = Receiver::start(&[], 200).await;
    register(
        &admin,
        &hook.url(),
        &["download.completed", "recall.acknowledged"],
    )
    .await;
    let typed = |t: &str| {
        hook.hits()
            .into_iter()
            .filter_map(|h| serde_json::from_str::<Value>(&h.body).ok())
            .filter(|b| b["type"] == t)
            .collect::<Vec<_>>()
    };
    let folder = admin.folder(None, "Kit").await;
    let file = bytes(200_000, 3);
    let a = admin.published(&folder, "logo.bin", file).await;
    let share = admin
        .create_link(json!({ "asset_ids": [a], "recipients": ["shop@supermart.test"], "per_recipient": true }))
        .await;
    let visitor = app.browser();
    let url = visitor.url(&format!("{}/assets/{a}/original", share.path));
    let half = |range: &'static str| {
        let c = visitor.client.clone();
        let url = url.clone();
        async move {
            let r = c
                .get(&url)
                .header(reqwest::header::RANGE, range)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 206);
            r.bytes().await.unwrap();
        }
    };
    half("bytes=0-99999").await;
    app.state.events.flush().await.unwrap();
    // Half a file is no delivery: its receipt is open, so nothing was announced.
    let receipts = expect_json(
        admin.get(&format!("/links/{}/receipts", share.id)).await,
        200,
    )
    .await;
    assert!(receipts["items"][0]["completed_at"].is_null(), "{receipts}");
    half("bytes=100000-").await;
    let got = eventually("a download.completed webhook", || async {
        let got = typed("download.completed");
        (!got.is_empty()).then_some(got)
    })
    .await;
    let d = &got[0]["data"];
    assert_eq!(d["asset_id"], a.as_str());
    assert_eq!(d["who"]["kind"], "recipient");
    assert_eq!(d["who"]["email"], "shop@supermart.test");
    assert_eq!(d["channel"], "link");
    assert_eq!(d["bytes"], 200_000);
    assert!(d["receipt_id"].is_string());
    // The second half again from the same visitor: a resume of a completed receipt.
    half("bytes=100000-").await;
    app.state.events.flush().await.unwrap();

    // A newer version tells the recipient; their acknowledgement is announced.
    let r = admin
        .post(&format!("/assets/{a}/checkout"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        admin.check_in(&a, &bytes(1000, 4), "v2").await.status(),
        201
    );
    admin.approve(&a).await;
    let mail = app
        .wait_for_mail("shop@supermart.test", |m| m.contains("have changed"))
        .await;
    let ack = mail
        .lines()
        .find_map(|l| l.trim().strip_prefix("Acknowledge: "))
        .unwrap()
        .to_string();
    let r = reqwest::Client::new().post(&ack).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let got = eventually("a recall.acknowledged webhook", || async {
        let got = typed("recall.acknowledged");
        (!got.is_empty()).then_some(got)
    })
    .await;
    assert_eq!(got[0]["data"]["asset_id"], a.as_str());
    assert_eq!(got[0]["data"]["email"], "shop@supermart.test");
    // By now the repeated half, long committed, announced nothing more.
    assert_eq!(typed("download.completed").len(), 1);
}
