//! Attack pass on issue 20 (invitations and SCIM provisioning): what a hostile invitee, a
//! member, a careless admin or a misbehaving identity provider can try, kept as regression
//! tests. Over real HTTP on both databases.
mod common;
use common::asks::invite_path;
use common::*;
use reqwest::{header, Method};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PW: &str = "a long enough password";

/// Posts the acceptance form with a form token taken from `/login` (a valid session token,
/// not the invitation page's), plus any `extra` fields.
async fn post_accept(b: &Browser, path: &str, extra: &[(&str, &str)]) -> reqwest::Response {
    let csrf = b.csrf("/login").await;
    let mut fields = vec![
        ("csrf_token", csrf.as_str()),
        ("name", "Someone"),
        ("new_password", PW),
        ("confirm_password", PW),
    ];
    fields.extend_from_slice(extra);
    b.post_form(path, &fields).await
}

async fn user_row(app: &TestApp, email: &str) -> Option<assetport::accounts::users::Account> {
    assetport::accounts::users::by_email(&app.state.db, email)
        .await
        .unwrap()
}

/// A SCIM call: status, content type and body (JSON, or Null).
async fn scim(
    app_base: &str,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<(&str, String)>,
) -> (u16, String, Value) {
    let mut r = reqwest::Client::new().request(method, format!("{app_base}/scim/v2{path}"));
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, t);
    }
    if let Some((ct, b)) = body {
        r = r.header(header::CONTENT_TYPE, ct).body(b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await.unwrap();
    (
        status,
        ct,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Asserts an answer is a SCIM error of `status` (RFC 7644 §3.12) in `application/scim+json`.
fn scim_error(what: &str, got: &(u16, String, Value), status: u16) {
    assert_eq!(got.0, status, "{what}: {:?}", got.2);
    assert!(
        got.1.starts_with("application/scim+json"),
        "{what}: content type {:?}",
        got.1
    );
    assert_eq!(got.2["schemas"][0], ERROR, "{what}: {}", got.2);
    assert_eq!(got.2["status"], status.to_string(), "{what}: {}", got.2);
    assert!(got.2["detail"].is_string(), "{what}: {}", got.2);
}

async fn scim_token(api: &Api) -> String {
    let made = api
        .post_ok("/scim/tokens", json!({ "name": "IdP" }), 201)
        .await;
    format!("Bearer {}", made["token"].as_str().unwrap())
}

// ---------------------------------------------------------------------------------------------
// Invitations
// ---------------------------------------------------------------------------------------------

/// Withdrawn, replaced (re-sent) and used links are 410 and make nothing, also by a direct POST
/// with a valid session form token; one invitation's link makes only its own account; posting
/// `role=admin` to a member invitation makes a member; a group the provider deleted before the
/// acceptance is skipped.
async fn dead_links_make_nothing_and_the_invitee_cannot_escalate(app: TestApp) {
    let admin = app.admin().await;
    let token = scim_token(&admin).await;
    let group = admin.group("Short-lived").await;
    let keep = admin.group("Kept").await;
    admin
        .post_ok(
            "/invitations",
            json!({ "emails": ["ann@x.test"], "groups": [group, keep], "role": "member" }),
            201,
        )
        .await;
    let sent = admin
        .post_ok("/invitations", json!({ "emails": ["bob@x.test"] }), 201)
        .await;
    let bob_id = sent["items"][0]["id"].as_str().unwrap().to_string();
    let ann_first = invite_path(&app, "ann@x.test", &[]).await;
    let bob_link = invite_path(&app, "bob@x.test", &[]).await;
    let users_before = app.count("users").await;

    // Withdrawn: GET and POST are 410; nothing made.
    assert_eq!(
        admin
            .delete(&format!("/invitations/{bob_id}"))
            .await
            .status(),
        204
    );
    let b = app.browser();
    assert_eq!(b.get(&bob_link).await.status(), 410);
    assert_eq!(post_accept(&b, &bob_link, &[]).await.status(), 410);
    assert!(user_row(&app, "bob@x.test").await.is_none());

    // Re-sent: the first link is dead for POSTs too.
    let ann_id = expect_json(admin.get("/invitations").await, 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "ann@x.test")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    expect_json(
        admin
            .post(&format!("/invitations/{ann_id}/resend"), json!({}))
            .await,
        200,
    )
    .await;
    let ann_link = invite_path(&app, "ann@x.test", std::slice::from_ref(&ann_first)).await;
    assert_eq!(post_accept(&b, &ann_first, &[]).await.status(), 410);
    // A made-up token, an over-long one, and one with a tail: 410, no 500.
    for bogus in [
        "/invite/invite_nope".to_string(),
        format!("/invite/{}", "a".repeat(5000)),
        format!("{ann_link}x"),
    ] {
        assert_eq!(b.get(&bogus).await.status(), 410, "{}", &bogus[..40]);
        assert_eq!(post_accept(&b, &bogus, &[]).await.status(), 410);
    }
    assert_eq!(app.count("users").await, users_before);

    // The provider deletes one of Ann's groups before she accepts.
    let (s, _, _) = scim(
        &app.base,
        Some(&token),
        Method::DELETE,
        &format!("/Groups/{group}"),
        None,
    )
    .await;
    assert_eq!(s, 204);

    // Ann tries to make herself an admin and to pick her own address and groups.
    let r = post_accept(
        &b,
        &ann_link,
        &[
            ("role", "admin"),
            ("email", "admin2@x.test"),
            ("username", "admin2@x.test"),
            ("groups", "everything"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let ann = user_row(&app, "ann@x.test").await.expect("ann's account");
    assert_eq!(ann.role, assetport::accounts::users::Role::Member);
    assert!(user_row(&app, "admin2@x.test").await.is_none());
    let groups = assetport::accounts::groups::of_user(&app.state.db, &ann.id)
        .await
        .unwrap();
    assert_eq!(
        groups,
        vec!["Kept".to_string()],
        "the deleted group skipped"
    );
    assert_eq!(
        assetport::accounts::groups::members(&app.state.db, &keep)
            .await
            .unwrap()
            .len(),
        1
    );
    // Used: 410 for anyone, including the person who used it; nothing more made.
    assert_eq!(
        post_accept(&app.browser(), &ann_link, &[]).await.status(),
        410
    );
    assert_eq!(post_accept(&b, &ann_link, &[]).await.status(), 410);
    assert_eq!(app.count("users").await, users_before + 1);
    // Ann's link never served Bob's (withdrawn) invitation.
    assert!(user_row(&app, "bob@x.test").await.is_none());
}

/// Hostile input to the invite API and the users page's box: too many addresses, header
/// injection in addresses, control characters and huge names; hostile names escaped.
async fn hostile_invitation_input_is_refused_or_harmless(app: TestApp) {
    let admin = app.admin().await;
    let many: Vec<String> = (0..501).map(|n| format!("p{n}@x.test")).collect();
    let r = admin.post("/invitations", json!({ "emails": many })).await;
    assert_eq!(r.status(), 422);
    assert_eq!(app.count("invitations").await, 0);
    for email in [
        "a@x.test\r\nBcc: victim@y.test",
        "a@x.test\nBcc: victim@y.test",
        "Evil <a@x.test>",
        "a@x.test, b@y.test",
        "a\u{0}@x.test",
    ] {
        let r = admin
            .post("/invitations", json!({ "emails": [email] }))
            .await;
        assert_eq!(r.status(), 422, "{email:?}");
    }
    for name in ["Evil\r\nBcc: victim@y.test", "bell\u{7}", "nul\u{0}"] {
        let r = admin
            .post(
                "/invitations",
                json!({ "emails": ["ctl@x.test"], "name": name }),
            )
            .await;
        assert_eq!(r.status(), 422, "a name with control characters: {name:?}");
    }
    assert_eq!(app.count("invitations").await, 0);
    assert!(app.outbox().is_empty(), "nothing was mailed");

    // A huge name is cut to 200 characters; a scripting name is escaped on the invite page
    // and in the account it becomes.
    let r = admin
        .post(
            "/invitations",
            json!({ "emails": ["huge@x.test"], "name": "N".repeat(10_000) }),
        )
        .await;
    let j = expect_json(r, 201).await;
    assert_eq!(j["items"][0]["name"].as_str().unwrap().chars().count(), 200);
    let xss = "<script>alert(1)</script>\"'";
    admin
        .post_ok(
            "/invitations",
            json!({ "emails": ["xss@x.test"], "name": xss }),
            201,
        )
        .await;
    let link = invite_path(&app, "xss@x.test", &[]).await;
    let b = app.browser();
    let (s, html) = b.page(&link).await;
    assert_eq!(s, 200);
    assert!(
        !html.contains("<script>alert(1)"),
        "escaped on the invite page"
    );
    let csrf = b.csrf(&link).await;
    let r = b
        .post_form(
            &link,
            &[
                ("csrf_token", &csrf),
                ("name", xss),
                ("new_password", PW),
                ("confirm_password", PW),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.browser();
    page.login_ok("admin@example.com").await;
    let (_, users) = page.page("/admin/users").await;
    assert!(users.contains("xss@x.test"));
    assert!(
        !users.contains("<script>alert(1)"),
        "escaped on the users page"
    );

    // The users page's box: a header-injection line and a scripting "name" are refused
    // (nothing sent); a CSV line with a formula is stored as text.
    let csrf = page.csrf("/admin/users").await;
    let before = app.count("invitations").await;
    for text in [
        "<script>alert(1)</script> <s@x.test>",
        "Evil <e@x.test>\r\nBcc: victim@y.test",
        "e@x.test\u{7}",
    ] {
        let r = page
            .post_form(
                "/admin/invitations",
                &[("csrf_token", &csrf), ("emails", text), ("role", "member")],
            )
            .await;
        assert_eq!(r.status(), 303);
        // "Bcc: victim@y.test" is a line of its own: never an address invited.
        assert!(
            !app.outbox().iter().any(|m| m.contains("victim@y.test")),
            "{text:?}"
        );
    }
    let invited: Vec<String> = expect_json(admin.get("/invitations").await, 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap().to_string())
        .collect();
    assert!(!invited.iter().any(|e| e.contains("victim")), "{invited:?}");
    assert_eq!(app.count("invitations").await, before, "{invited:?}");
    // A role the form does not know is refused, not read as member or admin.
    let r = page
        .post_form(
            "/admin/invitations",
            &[
                ("csrf_token", &csrf),
                ("emails", "role@x.test"),
                ("role", "superadmin"),
            ],
        )
        .await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert!(!invited.contains(&"role@x.test".to_string()));
}

/// Members reach neither the invitation API nor the users page's invitation forms.
async fn members_cannot_invite_resend_or_withdraw(app: TestApp) {
    let admin = app.admin().await;
    let sent = admin
        .post_ok("/invitations", json!({ "emails": ["p@x.test"] }), 201)
        .await;
    let id = sent["items"][0]["id"].as_str().unwrap().to_string();
    let member = app.member("m@x.test", &[]).await;
    for r in [
        member.get("/invitations").await,
        member
            .post(
                "/invitations",
                json!({ "emails": ["q@x.test"], "role": "admin" }),
            )
            .await,
        member
            .post(&format!("/invitations/{id}/resend"), json!({}))
            .await,
        member.delete(&format!("/invitations/{id}")).await,
    ] {
        assert!(matches!(r.status().as_u16(), 403 | 404), "{}", r.status());
    }
    let b = app.browser();
    b.login_ok("m@x.test").await;
    let csrf = b.csrf("/account").await;
    for (path, fields) in [
        (
            "/admin/invitations".to_string(),
            vec![
                ("csrf_token", csrf.as_str()),
                ("emails", "q@x.test"),
                ("role", "admin"),
            ],
        ),
        (
            format!("/admin/invitations/{id}/resend"),
            vec![("csrf_token", csrf.as_str())],
        ),
        (
            format!("/admin/invitations/{id}/withdraw"),
            vec![("csrf_token", csrf.as_str())],
        ),
    ] {
        let r = b.post_form(&path, &fields).await;
        assert!(
            matches!(r.status().as_u16(), 403 | 404),
            "{path}: {}",
            r.status()
        );
    }
    let list = expect_json(admin.get("/invitations").await, 200).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["state"], "pending");
    assert_eq!(app.outbox().len(), 1, "nothing re-sent");
}

/// An account with the invited address made meanwhile (CLI, another admin, SCIM): accepting
/// is 409 with the form again, nothing is made, and the invitation stays pending (the claim is
/// put back) so the admin sees it and can withdraw it — then the link is 410.
async fn accepting_after_the_address_got_an_account_is_409(app: TestApp) {
    let admin = app.admin().await;
    let sent = admin
        .post_ok("/invitations", json!({ "emails": ["late@x.test"] }), 201)
        .await;
    let id = sent["items"][0]["id"].as_str().unwrap().to_string();
    let link = invite_path(&app, "late@x.test", &[]).await;
    let token = scim_token(&admin).await;
    let (s, _, _) = scim(
        &app.base,
        Some(&token),
        Method::POST,
        "/Users",
        Some((
            "application/scim+json",
            json!({ "schemas": [USER], "userName": "late@x.test" }).to_string(),
        )),
    )
    .await;
    assert_eq!(s, 201);
    let users = app.count("users").await;
    let b = app.browser();
    let r = post_accept(&b, &link, &[]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("already exists"));
    assert_eq!(app.count("users").await, users);
    // The SCIM-made account kept its unknown password: the invitee did not take it over.
    assert_ne!(app.browser().login("late@x.test", PW).await.status(), 303);
    let list = expect_json(admin.get("/invitations").await, 200).await;
    assert_eq!(list["items"][0]["state"], "pending");
    assert_eq!(app.browser().get(&link).await.status(), 200);
    assert_eq!(
        admin.delete(&format!("/invitations/{id}")).await.status(),
        204
    );
    assert_eq!(post_accept(&b, &link, &[]).await.status(), 410);
    assert_eq!(app.count("users").await, users);
}

/// A hundred submissions of one link at once, spread over two instances: one account.
async fn parallel_accepts_over_two_instances_make_one_account(app: TestApp) {
    let admin = app.admin().await;
    admin
        .post_ok("/invitations", json!({ "emails": ["race@x.test"] }), 201)
        .await;
    let link = invite_path(&app, "race@x.test", &[]).await;
    let other = app.another_instance(|_| {}).await;
    let b = app.browser();
    let csrf = b.csrf(&link).await;
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("name", "Race"),
        ("new_password", PW),
        ("confirm_password", PW),
    ];
    let tries = (0..100).map(|n| {
        let url = if n % 2 == 0 {
            app.url(&link)
        } else {
            other.url(&link)
        };
        b.client.post(url).form(&fields).send()
    });
    let answers = futures_util::future::join_all(tries).await;
    let statuses: Vec<u16> = answers
        .iter()
        .map(|r| r.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    // 410 for the spent link; 403 for a try that reached the server after the winner's
    // sign-in had replaced the shared session (its form token went with it).
    assert!(
        statuses.iter().all(|s| matches!(s, 303 | 410 | 403)),
        "{statuses:?}"
    );
    assert_eq!(app.count("users").await, 2);
    other.stop().await;
}

// ---------------------------------------------------------------------------------------------
// SCIM
// ---------------------------------------------------------------------------------------------

/// No, garbage, revoked tokens and tokens of admins demoted or disabled since: 401 in SCIM's
/// shape. The token comes back to life only with its admin.
async fn scim_tokens_die_with_their_admin(app: TestApp) {
    let admin = app.admin().await;
    let second = app
        .user(
            "second@example.com",
            assetport::accounts::users::Role::Admin,
        )
        .await;
    let second_api = app.api_for(&second).await;
    let token = scim_token(&second_api).await;
    let base = app.base.clone();
    let ok = scim(&base, Some(&token), Method::GET, "/Users", None).await;
    assert_eq!(ok.0, 200);
    let bare = token.trim_start_matches("Bearer ").to_string();
    for (what, auth) in [
        ("none", None),
        ("empty", Some("Bearer ".to_string())),
        ("garbage", Some("Bearer scim_garbage".to_string())),
        ("huge", Some(format!("Bearer {}", "x".repeat(4000)))),
        (
            "basic",
            Some(format!("Basic {}", b64(&format!("x:{bare}")))),
        ),
        ("no scheme", Some(bare.clone())),
        ("an API token", Some(format!("Bearer {}", admin.token))),
    ] {
        let got = scim(&base, auth.as_deref(), Method::GET, "/Users", None).await;
        scim_error(what, &got, 401);
        let got = scim(
            &base,
            auth.as_deref(),
            Method::POST,
            "/Users",
            Some((
                "application/scim+json",
                json!({ "userName": "x@x.test" }).to_string(),
            )),
        )
        .await;
        scim_error(what, &got, 401);
    }
    assert!(user_row(&app, "x@x.test").await.is_none());

    // The token's admin is demoted: 401; promoted again: it works.
    let path = format!("/users/{}", second.id);
    assert!(admin
        .patch(&path, json!({ "role": "member" }))
        .await
        .status()
        .is_success());
    scim_error(
        "demoted",
        &scim(&base, Some(&token), Method::GET, "/Users", None).await,
        401,
    );
    let got = scim(
        &base,
        Some(&token),
        Method::POST,
        "/Users",
        Some((
            "application/scim+json",
            json!({ "userName": "y@x.test" }).to_string(),
        )),
    )
    .await;
    scim_error("demoted", &got, 401);
    assert!(user_row(&app, "y@x.test").await.is_none());
    assert!(admin
        .patch(&path, json!({ "role": "admin" }))
        .await
        .status()
        .is_success());
    assert_eq!(
        scim(&base, Some(&token), Method::GET, "/Users", None)
            .await
            .0,
        200
    );
    // Disabled: 401.
    assert!(admin
        .patch(&path, json!({ "disabled": true }))
        .await
        .status()
        .is_success());
    scim_error(
        "disabled",
        &scim(&base, Some(&token), Method::GET, "/Users", None).await,
        401,
    );
    assert!(admin
        .patch(&path, json!({ "disabled": false }))
        .await
        .status()
        .is_success());
    assert_eq!(
        scim(&base, Some(&token), Method::GET, "/Users", None)
            .await
            .0,
        200
    );
    // Revoked: 401.
    let tokens = expect_json(admin.get("/scim/tokens").await, 200).await;
    let tid = tokens["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        admin.delete(&format!("/scim/tokens/{tid}")).await.status(),
        204
    );
    scim_error(
        "revoked",
        &scim(&base, Some(&token), Method::GET, "/Users", None).await,
        401,
    );
}

/// A provider cannot make or turn anyone into an admin, and cannot lock out the admin whose
/// token it holds; a refused PATCH changes nothing at all.
async fn scim_cannot_escalate_or_lock_out_its_admin(app: TestApp) {
    let admin = app.admin().await;
    let token = scim_token(&admin).await;
    let base = app.base.clone();
    let send = |m: Method, p: String, b: Value| {
        let base = base.clone();
        let token = token.clone();
        async move {
            scim(
                &base,
                Some(&token),
                m,
                &p,
                Some(("application/scim+json", b.to_string())),
            )
            .await
        }
    };
    let (s, _, u) = send(
        Method::POST,
        "/Users".into(),
        json!({ "schemas": [USER], "userName": "boss@x.test", "roles": ["admin"],
                 "role": "admin", "roles_": [{ "value": "admin", "primary": true }],
                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "role": "admin" } }),
    )
    .await;
    assert_eq!(s, 201, "{u}");
    let id = u["id"].as_str().unwrap().to_string();
    let boss = user_row(&app, "boss@x.test").await.unwrap();
    assert_eq!(boss.role, assetport::accounts::users::Role::Member);
    for ops in [
        json!([{ "op": "replace", "path": "role", "value": "admin" }]),
        json!([{ "op": "replace", "path": "roles", "value": [{ "value": "admin" }] }]),
        json!([{ "op": "replace", "value": { "role": "admin" } }]),
        json!([{ "op": "add", "path": "userName", "value": "admin@example.com" }]),
        // A valid change first, then a refused one: nothing may change.
        json!([{ "op": "replace", "path": "externalId", "value": "sneaky" },
               { "op": "replace", "path": "role", "value": "admin" }]),
        json!([{ "op": "replace", "path": "displayName", "value": "Renamed" },
               { "op": "replace", "path": "role", "value": "admin" }]),
    ] {
        let got = send(
            Method::PATCH,
            format!("/Users/{id}"),
            json!({ "schemas": [PATCH], "Operations": ops }),
        )
        .await;
        scim_error(&ops.to_string(), &got, 400);
    }
    let (s, _, read) = scim(
        &base,
        Some(&token),
        Method::GET,
        &format!("/Users/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        read["externalId"],
        Value::Null,
        "a refused PATCH changed nothing"
    );
    assert_eq!(read["displayName"], "boss");
    let boss = user_row(&app, "boss@x.test").await.unwrap();
    assert_eq!(boss.role, assetport::accounts::users::Role::Member);

    // The token's own admin (any admin): provisioning manages partners only, so disabling by
    // PATCH or DELETE is a SCIM 403, and leaves the admin and their token working.
    let me = admin.user_id.clone();
    let got = send(
        Method::PATCH,
        format!("/Users/{me}"),
        json!({ "schemas": [PATCH], "Operations": [{ "op": "replace", "path": "externalId", "value": "x" }, { "op": "replace", "path": "active", "value": false }] }),
    )
    .await;
    scim_error("self-disable by PATCH", &got, 403);
    assert_ne!(got.2["scimType"], "uniqueness", "{}", got.2);
    let got = scim(
        &base,
        Some(&token),
        Method::DELETE,
        &format!("/Users/{me}"),
        None,
    )
    .await;
    scim_error("self-disable by DELETE", &got, 403);
    assert_ne!(got.2["scimType"], "uniqueness", "{}", got.2);
    let (s, _, read) = scim(
        &base,
        Some(&token),
        Method::GET,
        &format!("/Users/{me}"),
        None,
    )
    .await;
    assert_eq!((s, read["active"].clone()), (200, json!(true)));
    assert_eq!(
        read["externalId"],
        Value::Null,
        "the refused PATCH changed nothing"
    );
    assert_eq!(admin.get("/account").await.status(), 200);
}

/// Filters, paging and user names an attacker picks: no injection, no 500, SCIM errors.
async fn scim_filters_paging_and_names_are_sane(app: TestApp) {
    let admin = app.admin().await;
    let token = scim_token(&admin).await;
    let base = app.base.clone();
    let get = |p: &str| {
        let (base, token, p) = (base.clone(), token.clone(), p.to_string());
        async move { scim(&base, Some(&token), Method::GET, &p, None).await }
    };
    for q in [
        "filter=userName%20eq%20%22x%5C%22%20or%201%3D1%22",
        "filter=userName%20eq%20%22%22%20or%20%221%22%3D%221%22",
        "filter=userName%20eq%20%22admin%40example.com%27%20OR%20%271%27%3D%271%22",
        "filter=userName%20eq%20%22%25%22",
    ] {
        let (s, ct, j) = get(&format!("/Users?{q}")).await;
        assert_eq!(s, 200, "{q}: {j}");
        assert!(ct.starts_with("application/scim+json"));
        assert_eq!(j["totalResults"], 0, "{q}: {j}");
    }
    for q in [
        "filter=userName%20ne%20%22x%22",
        "filter=userName%20eq%20x",
        "filter=userName",
        "filter=",
        "filter=password%20eq%20%22x%22",
    ] {
        let got = get(&format!("/Users?{q}")).await;
        scim_error(q, &got, 400);
        assert_eq!(got.2["scimType"], "invalidFilter", "{q}");
    }
    let (s, _, j) = get("/Users?count=100000000&startIndex=-5").await;
    assert_eq!(s, 200);
    assert_eq!(j["startIndex"], 1);
    assert_eq!(j["Resources"].as_array().unwrap().len(), 1);
    let (s, _, j) = get("/Users?count=-1").await;
    assert_eq!((s, j["Resources"].as_array().unwrap().len()), (200, 0));
    let (s, _, j) = get("/Users?startIndex=9223372036854775807").await;
    assert_eq!((s, j["Resources"].as_array().unwrap().len()), (200, 0));
    for q in [
        "count=abc",
        "startIndex=1.5",
        "count=99999999999999999999999",
    ] {
        scim_error(q, &get(&format!("/Users?{q}")).await, 400);
    }
    // userName must be an address.
    for name in [
        "bob",
        "bob@",
        "@x.test",
        "b ob@x.test",
        "bob@x.test\r\nX: y",
        "",
    ] {
        let got = scim(
            &base,
            Some(&token),
            Method::POST,
            "/Users",
            Some((
                "application/scim+json",
                json!({ "schemas": [USER], "userName": name }).to_string(),
            )),
        )
        .await;
        scim_error(name, &got, 400);
        assert_eq!(got.2["scimType"], "invalidValue", "{name:?}");
    }
    // Hostile display names: control characters are refused, huge ones too.
    for name in ["a\r\nb", "x".repeat(10_000).as_str()] {
        let got = scim(
            &base,
            Some(&token),
            Method::POST,
            "/Users",
            Some((
                "application/scim+json",
                json!({ "userName": "n@x.test", "displayName": name }).to_string(),
            )),
        )
        .await;
        scim_error("name", &got, 400);
    }
    assert_eq!(app.count("users").await, 1);
}

/// Every answer under /scim/v2 is `application/scim+json` in SCIM's shape: malformed JSON,
/// wrong types, a missing content type, unknown paths and methods.
async fn scim_errors_are_always_scim_shaped(app: TestApp) {
    let admin = app.admin().await;
    let token = scim_token(&admin).await;
    let base = app.base.clone();
    let (s, _, u) = scim(
        &base,
        Some(&token),
        Method::POST,
        "/Users",
        Some((
            "application/scim+json",
            json!({ "userName": "ok@x.test" }).to_string(),
        )),
    )
    .await;
    assert_eq!(s, 201);
    let uid = u["id"].as_str().unwrap().to_string();
    let (s, _, g) = scim(
        &base,
        Some(&token),
        Method::POST,
        "/Groups",
        Some((
            "application/scim+json",
            json!({ "schemas": [GROUP], "displayName": "G" }).to_string(),
        )),
    )
    .await;
    assert_eq!(s, 201);
    let gid = g["id"].as_str().unwrap().to_string();
    for (path, method) in [
        ("/Users".to_string(), Method::POST),
        (format!("/Users/{uid}"), Method::PATCH),
        ("/Groups".to_string(), Method::POST),
        (format!("/Groups/{gid}"), Method::PATCH),
    ] {
        for body in [
            "{",
            "",
            "null",
            "[]",
            "{\"userName\": 5, \"displayName\": 5, \"Operations\": 5}",
        ] {
            let got = scim(
                &base,
                Some(&token),
                method.clone(),
                &path,
                Some(("application/scim+json", body.to_string())),
            )
            .await;
            scim_error(&format!("{method} {path} {body:?}"), &got, 400);
        }
        let got = scim(
            &base,
            Some(&token),
            method.clone(),
            &path,
            Some(("text/plain", "{}".to_string())),
        )
        .await;
        assert!(got.0 == 415 || got.0 == 400, "{method} {path}: {}", got.0);
        scim_error(&format!("{method} {path} text/plain"), &got, got.0);
    }
    for (method, path) in [
        (Method::GET, "/Nope".to_string()),
        (Method::GET, "/Users/nope/more".to_string()),
        (Method::GET, "/ServiceProviderConfigX".to_string()),
        (Method::GET, format!("/Groups/{}", "z".repeat(3000))),
    ] {
        let got = scim(&base, Some(&token), method.clone(), &path, None).await;
        scim_error(&format!("{method} {path:.40}"), &got, 404);
    }
    // A method the resource does not have.
    let got = scim(
        &base,
        Some(&token),
        Method::PUT,
        &format!("/Users/{uid}"),
        Some((
            "application/scim+json",
            json!({ "userName": "ok@x.test" }).to_string(),
        )),
    )
    .await;
    scim_error("PUT /Users/{id}", &got, 405);
    // Removing a member who is not in the group, or who does not exist: no 500.
    for ops in [
        json!([{ "op": "remove", "path": format!("members[value eq \"{uid}\"]") }]),
        json!([{ "op": "remove", "path": "members[value eq \"nobody\"]" }]),
        json!([{ "op": "remove", "path": "members", "value": [{ "value": "nobody" }] }]),
    ] {
        let (s, ct, g) = scim(
            &base,
            Some(&token),
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some((
                "application/scim+json",
                json!({ "schemas": [PATCH], "Operations": ops }).to_string(),
            )),
        )
        .await;
        assert_eq!(s, 200, "{ops}: {g}");
        assert!(ct.starts_with("application/scim+json"));
        assert_eq!(g["members"].as_array().unwrap().len(), 0);
    }
    for ops in [
        json!([{ "op": "remove", "path": "members[value eq nobody]" }]),
        json!([{ "op": "remove", "path": "members[" }]),
        json!([{ "op": "add", "path": "members", "value": "nobody" }]),
    ] {
        let got = scim(
            &base,
            Some(&token),
            Method::PATCH,
            &format!("/Groups/{gid}"),
            Some((
                "application/scim+json",
                json!({ "schemas": [PATCH], "Operations": ops }).to_string(),
            )),
        )
        .await;
        scim_error(&ops.to_string(), &got, 400);
    }
}

/// A hundred creations of one userName at once over two instances: one 201, the rest 409
/// `uniqueness`; one account.
async fn parallel_scim_creates_make_one_account(app: TestApp) {
    let admin = app.admin().await;
    let token = scim_token(&admin).await;
    let other = app.another_instance(|_| {}).await;
    let body = json!({ "schemas": [USER], "userName": "twin@x.test" }).to_string();
    let tries = (0..100).map(|n| {
        let base = if n % 2 == 0 {
            app.base.clone()
        } else {
            other.base.clone()
        };
        let (token, body) = (token.clone(), body.clone());
        async move {
            scim(
                &base,
                Some(&token),
                Method::POST,
                "/Users",
                Some(("application/scim+json", body)),
            )
            .await
        }
    });
    let answers = futures_util::future::join_all(tries).await;
    let created = answers.iter().filter(|a| a.0 == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    for a in answers.iter().filter(|a| a.0 != 201) {
        scim_error("a losing create", a, 409);
        assert_eq!(a.2["scimType"], "uniqueness");
    }
    assert_eq!(app.count("users").await, 2);
    other.stop().await;
}

/// Twenty invitations of one address at once (a double-clicked form, two instances): at most
/// one live link, so withdrawing "the" invitation really shuts the door.
async fn parallel_invitations_of_one_address_leave_one_live_link(app: TestApp) {
    let admin = app.admin().await;
    let other = app.another_instance(|_| {}).await;
    let tries = (0..20).map(|n| {
        let url = if n % 2 == 0 {
            admin.url("/invitations")
        } else {
            other.url("/api/v1/invitations")
        };
        admin
            .client
            .post(url)
            .bearer_auth(&admin.token)
            .json(&json!({ "emails": ["dup@x.test"] }))
            .send()
    });
    let answers = futures_util::future::join_all(tries).await;
    let statuses: Vec<u16> = answers
        .iter()
        .map(|r| r.as_ref().unwrap().status().as_u16())
        .collect();
    let made = statuses.iter().filter(|s| **s == 201).count();
    // The unique index on open invitations: exactly one wins.
    assert_eq!(made, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 201 | 409)),
        "{statuses:?}"
    );
    assert_eq!(app.count("invitations").await, made as i64);
    other.stop().await;
    // Mails go to each instance's own outbox: count what was sent by its event.
    let sent = app
        .count("events WHERE kind = 'invitation_sent' AND detail = 'dup@x.test'")
        .await;
    assert_eq!(sent, made as i64, "sent once per live invitation");
    let r = admin
        .post("/invitations", json!({ "emails": ["dup@x.test"] }))
        .await;
    assert_eq!(r.status(), 409);
}

on_both_backends!(
    parallel_invitations_of_one_address_leave_one_live_link,
    dead_links_make_nothing_and_the_invitee_cannot_escalate,
    hostile_invitation_input_is_refused_or_harmless,
    members_cannot_invite_resend_or_withdraw,
    accepting_after_the_address_got_an_account_is_409,
    parallel_accepts_over_two_instances_make_one_account,
    scim_tokens_die_with_their_admin,
    scim_cannot_escalate_or_lock_out_its_admin,
    scim_filters_paging_and_names_are_sane,
    scim_errors_are_always_scim_shaped,
    parallel_scim_creates_make_one_account,
);
