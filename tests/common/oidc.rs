//! A real OpenID provider for the sign-in tests (`tests/oidc`: oidc-provider from npm) and a
//! browser's way through it: start it for some portals, register it as an admin, sign in
//! through its login and consent forms. Shared by tests/sso.rs and tests/attack_sso.rs.
use std::path::PathBuf;
use std::process::Stdio;

use serde_json::{json, Value};
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::{location, skip, Api, Browser, TestApp};

/// A running provider and the users file it reads at every sign-in.
pub struct Idp {
    pub issuer: String,
    users: PathBuf,
    _dir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl Idp {
    pub fn set_users(&self, users: Value) {
        std::fs::write(&self.users, users.to_string()).expect("users file");
    }
}

pub fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Starts the provider with a callback registered for every portal base × provider id; `None`
/// (a recorded skip) without node or `npm ci` in tests/oidc.
pub async fn idp_for(bases: &[&str], ids: &[&str], users: Value) -> Option<Idp> {
    if !oidc_dir().join("node_modules/oidc-provider").exists() {
        skip("tests/oidc has no node_modules (run `npm ci` there)");
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("users.json");
    std::fs::write(&file, users.to_string()).expect("users file");
    let redirects: Vec<String> = bases
        .iter()
        .flat_map(|b| ids.iter().map(move |id| format!("{b}/sso/{id}/callback")))
        .collect();
    let logouts: Vec<String> = bases.iter().map(|b| format!("{b}/login")).collect();
    let mut child = match tokio::process::Command::new("node")
        .current_dir(oidc_dir())
        .arg("provider.mjs")
        .arg(&file)
        .arg(redirects.join(","))
        .arg(logouts.join(","))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("node could not start: {e}"));
            return None;
        }
    };
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("the provider printed its issuer in time")
        .expect("provider output")
        .expect("a line");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let issuer = serde_json::from_str::<Value>(&first).expect("issuer JSON")["issuer"]
        .as_str()
        .expect("issuer")
        .to_string();
    Some(Idp {
        issuer,
        users: file,
        _dir: dir,
        _child: child,
    })
}

pub async fn idp(bases: &[&str], users: Value) -> Option<Idp> {
    idp_for(bases, &["partner"], users).await
}

pub fn person(email: &str, groups: &[&str]) -> Value {
    json!({ "email": email, "name": "Someone", "groups": groups })
}

/// A provider `id` as an admin registers it through the API.
pub async fn register_as(admin: &Api, id: &str, issuer: &str, extra: Value) -> Value {
    let mut body = json!({
        "id": id, "name": format!("{id} ID"), "issuer": issuer,
        "client_id": "assetport", "client_secret": "assetport-test-secret",
        "scopes": ["openid", "email", "profile", "groups"],
        "group_map": { "retail": ["Retail"] },
        "admin_values": ["portal-admins"],
        "allowed_domains": ["partner.test"],
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    admin.post_ok("/sso/providers", body, 201).await
}

pub async fn register(admin: &Api, issuer: &str, extra: Value) -> Value {
    register_as(admin, "partner", issuer, extra).await
}

pub fn form_action(html: &str) -> String {
    let m = "action=\"";
    let start = html.find(m).expect("a form") + m.len();
    let end = html[start..].find('"').expect("action end") + start;
    html[start..end].replace("&amp;", "&")
}

pub fn absolute(base: &str, loc: &str) -> String {
    if loc.starts_with("http") {
        loc.to_string()
    } else {
        format!("{base}{loc}")
    }
}

/// Drives the provider's login and consent forms from `start` until it sends the browser back
/// to a portal; returns that callback address, not yet followed.
pub async fn through_provider(b: &Browser, idp: &Idp, start: &str, login: &str) -> String {
    let mut url = start.to_string();
    for _ in 0..12 {
        let r = b.client.get(&url).send().await.expect("provider");
        let status = r.status().as_u16();
        if status == 302 || status == 303 {
            let loc = absolute(&idp.issuer, &location(&r));
            if !loc.starts_with(&idp.issuer) {
                return loc;
            }
            url = loc;
            continue;
        }
        let html = r.text().await.unwrap_or_default();
        assert_eq!(status, 200, "provider page {url}: {html}");
        let action = absolute(&idp.issuer, &form_action(&html));
        let fields: Vec<(&str, &str)> = if html.contains("name=\"login\"") {
            vec![("prompt", "login"), ("login", login), ("password", "any")]
        } else {
            vec![("prompt", "consent")]
        };
        let r = b
            .client
            .post(&action)
            .form(&fields)
            .send()
            .await
            .expect("provider form");
        assert!(r.status().is_redirection(), "form {action}: {}", r.status());
        url = absolute(&idp.issuer, &location(&r));
        if !url.starts_with(&idp.issuer) {
            return url;
        }
    }
    panic!("the provider never sent the browser back");
}

/// `/sso/{id}/start?next=…` on `base` → the provider's authorisation address.
pub async fn start_at(b: &Browser, base: &str, id: &str, next: &str) -> String {
    let r = b
        .client
        .get(format!("{base}/sso/{id}/start"))
        .query(&[("next", next)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    location(&r)
}

/// The callback address `login` brings back from provider `id`, not yet followed.
pub async fn callback_for(b: &Browser, idp: &Idp, id: &str, login: &str) -> String {
    let auth = start_at(b, &b.base, id, "/").await;
    through_provider(b, idp, &auth, login).await
}

/// A whole sign-in on `b`'s portal through provider `id` as `login`; the callback's response.
pub async fn sign_in_with(b: &Browser, idp: &Idp, id: &str, login: &str) -> reqwest::Response {
    let back = callback_for(b, idp, id, login).await;
    b.client.get(&back).send().await.unwrap()
}

pub async fn sign_in(b: &Browser, idp: &Idp, login: &str) -> reqwest::Response {
    sign_in_with(b, idp, "partner", login).await
}

pub async fn events(app: &TestApp, kind: &str) -> Vec<String> {
    sqlx::query("SELECT detail FROM events WHERE kind = $1 ORDER BY created_at, id")
        .bind(kind)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap())
        .collect()
}

pub async fn account(app: &TestApp, email: &str) -> assetport::accounts::users::Account {
    assetport::accounts::users::by_email(&app.state.db, email)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("an account for {email}"))
}

pub async fn groups_of(app: &TestApp, email: &str) -> Vec<String> {
    let a = account(app, email).await;
    assetport::accounts::groups::of_user(&app.state.db, &a.id)
        .await
        .unwrap()
}

/// `(status of /account, its page)`: 200 and the address when signed in.
pub async fn who_is_signed_in(b: &Browser) -> (u16, String) {
    let r = b.get("/account").await;
    let s = r.status().as_u16();
    (s, r.text().await.unwrap_or_default())
}

pub async fn assert_not_signed_in(b: &Browser, why: &str) {
    assert_eq!(who_is_signed_in(b).await.0, 303, "not signed in: {why}");
}

pub async fn assert_refused(r: reqwest::Response, status: u16) -> String {
    let got = r.status().as_u16();
    let html = r.text().await.unwrap_or_default();
    assert_eq!(got, status, "{html}");
    assert!(html.contains("Sign-in did not complete"), "{html}");
    html
}

pub async fn count_where(app: &TestApp, sql: &str, arg: &str) -> i64 {
    sqlx::query(sql)
        .bind(arg)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap()
}

/// Where a page's `<meta http-equiv="refresh">` goes (its button goes to the same place).
pub fn refresh_target(html: &str) -> String {
    let m = "content=\"0;url=";
    let start = html
        .find(m)
        .unwrap_or_else(|| panic!("no refresh in {html}"))
        + m.len();
    let end = html[start..].find('"').unwrap() + start;
    // As a browser reads the attribute: askama writes `&` as `&#38;`.
    let url = html[start..end].replace("&#38;", "&").replace("&amp;", "&");
    assert!(
        html.contains(&format!("href=\"{}\"", &html[start..end])),
        "a button too"
    );
    url
}

/// The admin changes provider `partner` through the API (PUT: a whole new setting, no secret
/// given, so the stored one stays) to `issuer`, `allowed_domains` and any `extra` fields;
/// expects 200.
pub async fn reconfigure(admin: &Api, issuer: &str, domains: &[&str], extra: Value) {
    let mut body = json!({ "name": "Partner ID", "issuer": issuer, "client_id": "assetport",
                           "scopes": ["openid", "email", "profile", "groups"],
                           "allowed_domains": domains });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let r = admin.put("/sso/providers/partner", body).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}
