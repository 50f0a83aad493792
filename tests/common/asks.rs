//! Helpers the request and upload-slot tests share (issue 19): reading mails and addresses,
//! listing requests, a sender's browser, upload links with slots and tus calls.
use reqwest::header;
use serde_json::Value;

use super::{expect_json, Api};

/// The first line of `mail` starting with `label`, without it.
pub fn line_after(mail: &str, label: &str) -> String {
    mail.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} in {mail}"))
        .trim()
        .to_string()
}

/// The path part of an absolute URL of this portal.
pub fn path_of(url: &str) -> String {
    let after = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    after[after.find('/').unwrap_or(after.len())..].to_string()
}

/// The `/invite/…` path in the newest invitation mail to `to` that is not in `not` (from the
/// outbox).
pub async fn invite_path(app: &super::TestApp, to: &str, not: &[String]) -> String {
    super::eventually(&format!("an invitation to {to}"), || async {
        app.outbox()
            .iter()
            .map(|m| super::mail_text(m))
            .filter(|m| m.lines().any(|l| l == format!("To: {to}")))
            .filter_map(|m| {
                m.lines()
                    .map(str::trim)
                    .find(|l| l.contains("/invite/"))
                    .map(path_of)
            })
            .find(|p| !not.contains(p))
    })
    .await
}

/// The `/u/…` path of an upload link's URL.
pub fn upload_path(url: &str) -> String {
    url[url.find("/u/").expect("an upload link URL")..].to_string()
}

/// The six-digit code in a mail.
pub fn code_in(mail: &str) -> String {
    mail.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .expect("a code in the mail")
        .to_string()
}

/// `GET /api/v1/requests{query}`'s items.
pub async fn requests(api: &Api, query: &str) -> Vec<Value> {
    expect_json(api.get(&format!("/requests{query}")).await, 200).await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// A sender's browser: keeps the sender cookie an upload link's page sets.
pub fn sender_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The id of an upload link's `i`th slot, from its JSON.
pub fn slot_id(link: &Value, i: usize) -> String {
    link["slots"][i]["id"].as_str().unwrap().to_string()
}

/// A tus request as the sender's page makes it.
pub fn tus(c: &reqwest::Client, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
    c.request(method, url)
        .header("Tus-Resumable", "1.0.0")
        .header(header::ACCEPT, "application/json")
}
