//! SCIM 2.0 provisioning (issue 20): the sequence identity providers send — look up by
//! `userName`, create, read, deactivate by PATCH, reactivate, delete (disable) — with RFC 7644's
//! status codes and `application/scim+json` bodies (the create body is RFC 7643 §8.1's
//! example); deactivating ends the person's sessions and API tokens at once. Both databases.
mod common;
use common::*;
use reqwest::header;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

struct Idp {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Idp {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .client
            .request(method, format!("{}/scim/v2{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r
                .header(header::CONTENT_TYPE, "application/scim+json")
                .body(b.to_string());
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        if status != 204 {
            let ct = r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_string();
            assert!(ct.starts_with("application/scim+json"), "{path}: {ct}");
        }
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn an_identity_provider_creates_deactivates_and_deletes_a_partner(app: TestApp) {
    let admin = app.admin().await;
    let made = admin
        .post_ok("/scim/tokens", json!({ "name": "Entra ID" }), 201)
        .await;
    let idp = Idp {
        base: app.url(""),
        token: made["token"].as_str().unwrap().to_string(),
        client: reqwest::Client::new(),
    };
    // Without a token, or with another: 401 in SCIM's error shape.
    let stranger = Idp {
        token: "scim_nope".into(),
        ..Idp {
            base: idp.base.clone(),
            token: String::new(),
            client: idp.client.clone(),
        }
    };
    let (s, e) = stranger.send(reqwest::Method::GET, "/Users", None).await;
    assert_eq!(s, 401);
    assert_eq!(e["schemas"][0], ERROR);
    assert_eq!(e["status"], "401");

    // Look up first: nobody yet.
    let filter = "/Users?filter=userName%20eq%20%22bjensen%40example.com%22";
    let (s, list) = idp.send(reqwest::Method::GET, filter, None).await;
    assert_eq!(s, 200);
    assert_eq!(list["totalResults"], 0);
    assert_eq!(
        list["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    );
    // RFC 7643 §8.1's minimal user, with a name.
    let body = json!({
        "schemas": [USER],
        "userName": "bjensen@example.com",
        "externalId": "bjensen",
        "name": { "formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara" },
    });
    let (s, user) = idp
        .send(reqwest::Method::POST, "/Users", Some(body.clone()))
        .await;
    assert_eq!(s, 201, "{user}");
    assert_eq!(user["schemas"][0], USER);
    assert_eq!(user["userName"], "bjensen@example.com");
    assert_eq!(user["externalId"], "bjensen");
    assert_eq!(user["displayName"], "Ms. Barbara J Jensen III");
    assert_eq!(user["active"], true);
    assert_eq!(user["meta"]["resourceType"], "User");
    let id = user["id"].as_str().unwrap().to_string();
    assert!(user["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Users/{id}")));
    let (s, e) = idp.send(reqwest::Method::POST, "/Users", Some(body)).await;
    assert_eq!(s, 409);
    assert_eq!(e["scimType"], "uniqueness");
    let (s, list) = idp.send(reqwest::Method::GET, filter, None).await;
    assert_eq!(s, 200);
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["id"], id.as_str());
    let (s, read) = idp
        .send(reqwest::Method::GET, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(
        (s, read["userName"].clone()),
        (200, json!("bjensen@example.com"))
    );

    // The person has a session and an API token (an admin set a password for the test).
    let r = admin
        .patch(
            &format!("/users/{id}"),
            json!({ "password": "barbara's password" }),
        )
        .await;
    assert!(r.status().is_success());
    let page = app.browser();
    assert_eq!(
        page.login("bjensen@example.com", "barbara's password")
            .await
            .status(),
        303
    );
    assert_eq!(page.get("/").await.status(), 200);
    let account = assetport::accounts::users::by_id(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    let api = app.api_for(&account).await;
    assert_eq!(api.get("/account").await.status(), 200);

    // Deactivated the way Entra ID sends it ("False", a capitalised op): both end at once.
    let (s, off) = idp
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] })),
        )
        .await;
    assert_eq!(s, 200, "{off}");
    assert_eq!(off["active"], false);
    assert_ne!(page.get("/").await.status(), 200, "the session ended");
    assert_eq!(
        api.get("/account").await.status(),
        401,
        "the API token ended"
    );
    // Reactivated the way Okta sends it (no path, an object value); renamed too.
    let (s, on) = idp
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "value": { "active": true, "displayName": "Barbara Jensen" } }] })),
        )
        .await;
    assert_eq!(s, 200, "{on}");
    assert_eq!(on["active"], true);
    assert_eq!(on["displayName"], "Barbara Jensen");
    // Bad requests change nothing.
    let (s, e) = idp
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({ "Operations": [] })),
        )
        .await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("invalidSyntax")));
    let (s, e) = idp
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{id}"),
            Some(
                json!({ "schemas": [PATCH], "Operations": [{ "op": "remove", "path": "emails" }] }),
            ),
        )
        .await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("invalidValue")));
    let (s, e) = idp
        .send(
            reqwest::Method::GET,
            "/Users?filter=emails%20co%20%22x%22",
            None,
        )
        .await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("invalidFilter")));
    let (s, e) = idp.send(reqwest::Method::GET, "/Users/nope", None).await;
    assert_eq!((s, e["status"].clone()), (404, json!("404")));
    // Admins are not provisioned: another admin's account cannot be deactivated or deleted.
    let other = app
        .user(
            "second-admin@example.com",
            assetport::accounts::users::Role::Admin,
        )
        .await;
    let (s, e) = idp
        .send(
            reqwest::Method::PATCH,
            &format!("/Users/{}", other.id),
            Some(json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "active", "value": false }] })),
        )
        .await;
    assert_eq!((s, e["status"].clone()), (403, json!("403")));
    let (s, _) = idp
        .send(
            reqwest::Method::DELETE,
            &format!("/Users/{}", other.id),
            None,
        )
        .await;
    assert_eq!(s, 403);
    let still = assetport::accounts::users::by_id(&app.state.db, &other.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!still.disabled);
    // DELETE disables: the account stays (its history with it), inactive.
    let (s, _) = idp
        .send(reqwest::Method::DELETE, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(s, 204);
    let (_, read) = idp
        .send(reqwest::Method::GET, &format!("/Users/{id}"), None)
        .await;
    assert_eq!(read["active"], false);
    // Revoked on /admin/sso: the provider is shut out.
    let tokens = expect_json(admin.get("/scim/tokens").await, 200).await;
    let tid = tokens["items"][0]["id"].as_str().unwrap();
    assert!(tokens["items"][0]["last_used_at"].is_string());
    assert_eq!(
        admin.delete(&format!("/scim/tokens/{tid}")).await.status(),
        204
    );
    let (s, _) = idp.send(reqwest::Method::GET, "/Users", None).await;
    assert_eq!(s, 401);
    // Members cannot make tokens.
    let member = app.member("m@example.com", &[]).await;
    assert_eq!(
        member
            .post("/scim/tokens", json!({ "name": "x" }))
            .await
            .status(),
        404
    );
}

async fn the_sso_page_makes_a_token_shown_once(app: TestApp) {
    app.admin().await;
    let b = app.browser();
    b.login_ok("admin@example.com").await;
    let csrf = b.csrf("/admin/sso").await;
    let r = b
        .post_form(
            "/admin/sso/scim-tokens",
            &[("csrf_token", &csrf), ("name", "Okta")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.page("/admin/sso").await;
    let start = html.find("scim_").expect("the token, once");
    let token: String = html[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let (_, again) = b.page("/admin/sso").await;
    assert!(!again.contains(&token), "shown once");
    assert!(again.contains("Okta"));
    let r = reqwest::Client::new()
        .get(app.url("/scim/v2/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn groups_and_their_members_follow_the_provider(app: TestApp) {
    let admin = app.admin().await;
    let made = admin
        .post_ok("/scim/tokens", json!({ "name": "Okta" }), 201)
        .await;
    let idp = Idp {
        base: app.url(""),
        token: made["token"].as_str().unwrap().to_string(),
        client: reqwest::Client::new(),
    };
    let mut ids = Vec::new();
    let mut apis = Vec::new();
    for who in ["ann@retail.test", "bob@retail.test"] {
        let (s, u) = idp
            .send(
                reqwest::Method::POST,
                "/Users",
                Some(json!({ "schemas": [USER], "userName": who })),
            )
            .await;
        assert_eq!(s, 201);
        let id = u["id"].as_str().unwrap().to_string();
        let account = assetport::accounts::users::by_id(&app.state.db, &id)
            .await
            .unwrap()
            .unwrap();
        apis.push(app.api_for(&account).await);
        ids.push(id);
    }
    let (s, g) = idp
        .send(
            reqwest::Method::POST,
            "/Groups",
            Some(json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Retail partners", "members": [{ "value": ids[0] }] })),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
    let gid = g["id"].as_str().unwrap().to_string();
    // The admin grants the provider's group a folder: its members see it.
    let folder = admin.folder(None, "Retail").await;
    admin.grant(&folder, &gid, true, true, false).await;
    let asset = admin.published(&folder, "hero.png", png(20, 20, 1)).await;
    let sees = |n: usize| {
        let api = &apis[n];
        let path = format!("/assets/{asset}");
        async move { api.get(&path).await.status().as_u16() }
    };
    assert_eq!((sees(0).await, sees(1).await), (200, 404));
    let patch = |ops: Value| {
        let idp = &idp;
        let path = format!("/Groups/{gid}");
        async move {
            idp.send(
                reqwest::Method::PATCH,
                &path,
                Some(json!({ "schemas": [PATCH], "Operations": ops })),
            )
            .await
        }
    };
    let (s, g) =
        patch(json!([{ "op": "add", "path": "members", "value": [{ "value": ids[1] }] }])).await;
    assert_eq!((s, g["members"].as_array().unwrap().len()), (200, 2));
    assert_eq!(sees(1).await, 200);
    let (s, g) =
        patch(json!([{ "op": "remove", "path": format!("members[value eq \"{}\"]", ids[0]) }]))
            .await;
    assert_eq!((s, g["members"].as_array().unwrap().len()), (200, 1));
    assert_eq!(
        sees(0).await,
        404,
        "removed from the group, out of the folder"
    );
    let (s, e) =
        patch(json!([{ "op": "add", "path": "members", "value": [{ "value": "nobody" }] }])).await;
    assert_eq!((s, e["scimType"].clone()), (400, json!("invalidValue")));
    let (s, list) = idp
        .send(
            reqwest::Method::GET,
            "/Groups?filter=displayName%20eq%20%22Retail%20partners%22",
            None,
        )
        .await;
    assert_eq!((s, list["totalResults"].clone()), (200, json!(1)));
    let (s, _) = idp
        .send(reqwest::Method::DELETE, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = idp
        .send(reqwest::Method::GET, &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(sees(1).await, 404, "the group's grant went with it");
}

on_both_backends!(
    groups_and_their_members_follow_the_provider,
    an_identity_provider_creates_deactivates_and_deletes_a_partner,
    the_sso_page_makes_a_token_shown_once,
);
