//! Attack pass on OpenID Connect sign-in (issue 20, part 2): what a hostile identity-provider
//! user, a second provider, a member, a careless admin or a browser carrying someone else's
//! callback can try, kept as regression tests. Each was written to fail if the portal were
//! vulnerable. A real `oidc-provider` (npm, tests/oidc) per test; over real HTTP on both
//! databases.
mod common;
use assetport::accounts::users::Role;
use common::oidc::*;
use common::*;
use serde_json::json;
use sqlx::Row;

// ---- the flow ---------------------------------------------------------------------------

/// `next` on `/sso/{id}/start` lands on a path of the portal, whatever it says.
async fn next_never_leaves_the_portal(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let Some(idp) = idp(
        &[&app.base],
        json!({ "alice": person("alice@partner.test", &[]) }),
    )
    .await
    else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    for (next, lands) in [
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\r\nLocation: https://evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/collections?x=1", "/collections?x=1"),
    ] {
        let b = app.browser();
        let auth = start_at(&b, &app.base, "partner", next).await;
        let back = through_provider(&b, &idp, &auth, "alice").await;
        let r = b.client.get(&back).send().await.unwrap();
        assert_eq!(r.status(), 303, "{next:?}");
        assert_eq!(location(&r), lands, "next = {next:?}");
    }
}

/// An attacker's callback (their code and state) opened in a victim's browser — one with no
/// flow, one with a flow of its own — signs nobody in (login CSRF); the session id changes at
/// sign-in, and the id from before it is worth nothing after (fixation).
async fn a_callback_carried_to_another_browser_signs_nobody_in(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let users = json!({
        "mallory": person("mallory@partner.test", &[]),
        "alice": person("alice@partner.test", &[]),
    });
    let Some(idp) = idp(&[&app.base], users).await else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    let attacker = app.browser();
    let back = callback_for(&attacker, &idp, "partner", "mallory").await;

    let victim = app.browser();
    assert_refused(victim.client.get(&back).send().await.unwrap(), 400).await;
    assert_not_signed_in(&victim, "a foreign callback, no flow").await;
    let victim = app.browser();
    let _own = start_at(&victim, &app.base, "partner", "/").await;
    assert_refused(victim.client.get(&back).send().await.unwrap(), 400).await;
    assert_not_signed_in(&victim, "a foreign callback, another flow").await;
    // The callback is good in the attacker's own session only (their flow is still there).
    let r = attacker.client.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(who_is_signed_in(&attacker)
        .await
        .1
        .contains("mallory@partner.test"));
    assert_eq!(events(&app, "sso_login").await.len(), 1);

    // Fixation: the cookie from before the sign-in is not the one after, and is not signed in.
    let b = app.browser();
    let r = b
        .client
        .get(app.url("/sso/partner/start"))
        .send()
        .await
        .unwrap();
    let before = session_cookie(&r).expect("a session cookie at start");
    let auth = location(&r);
    let back = through_provider(&b, &idp, &auth, "alice").await;
    let r = b.client.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let after = session_cookie(&r).expect("a new session cookie at sign-in");
    let value = |c: &str| c.split(';').next().unwrap().to_string();
    assert_ne!(value(&before), value(&after), "the session id changed");
    assert_eq!(who_is_signed_in(&b).await.0, 200);
    let fixed = Browser::at(&app.base, &[("cookie", &value(&before))]);
    assert_not_signed_in(&fixed, "the pre-sign-in session id").await;
}

/// A flow started for provider A cannot be finished at provider B's callback.
async fn a_flow_for_one_provider_does_not_finish_at_another(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let users = json!({ "alice": person("alice@partner.test", &[]) });
    let Some(idp) = idp_for(&[&app.base], &["partner", "other"], users).await else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    register_as(
        &admin,
        "other",
        &idp.issuer,
        json!({ "allowed_domains": [] }),
    )
    .await;
    let b = app.browser();
    let back = callback_for(&b, &idp, "partner", "alice").await;
    let moved = back.replace("/sso/partner/callback", "/sso/other/callback");
    assert_refused(b.client.get(&moved).send().await.unwrap(), 400).await;
    assert_not_signed_in(&b, "finished at another provider").await;
    assert!(events(&app, "sso_login_failed")
        .await
        .join("\n")
        .contains("another provider"));
    assert_eq!(app.count("sso_identities").await, 0);
}

// ---- which account ----------------------------------------------------------------------

/// Subjects are unique per issuer only: after a provider's issuer changes, the old issuer's
/// links must not let the new issuer's user of the same `sub` into the old account.
async fn a_new_issuer_does_not_inherit_the_old_issuers_links(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let Some(old) = idp(
        &[&app.base],
        json!({ "u1": person("alice@partner.test", &[]) }),
    )
    .await
    else {
        return;
    };
    let Some(new) = idp(
        &[&app.base],
        json!({ "u1": person("mallory@partner.test", &[]) }),
    )
    .await
    else {
        return;
    };
    register(&admin, &old.issuer, json!({})).await;
    let b = app.browser();
    assert_eq!(sign_in(&b, &old, "u1").await.status(), 303);
    assert!(who_is_signed_in(&b).await.1.contains("alice@partner.test"));
    // The admin moves the provider to another issuer (a new tenant, a migration).
    reconfigure(&admin, &new.issuer, &["partner.test"], json!({})).await;
    let m = app.browser();
    let r = sign_in(&m, &new, "u1").await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let (_, page) = who_is_signed_in(&m).await;
    assert!(
        !page.contains("alice@partner.test"),
        "the new issuer's u1 (mallory) is not alice"
    );
    assert!(page.contains("mallory@partner.test"), "{page}");
}

/// A provider that accepts any domain cannot take over an admin's account by its address: the
/// admin's domain must be one the provider is trusted for (its allowed domains).
async fn an_any_domain_provider_cannot_take_over_an_admin(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let users = json!({
        "fake-boss": person("admin@example.com", &[]),
        "fake-boss-caps": person("  Admin@EXAMPLE.com ", &[]),
        "m": person("member@example.com", &[]),
    });
    app.user("member@example.com", Role::Member).await;
    let Some(idp) = idp(&[&app.base], users).await else {
        return;
    };
    register(&admin, &idp.issuer, json!({ "allowed_domains": [] })).await;
    for login in ["fake-boss", "fake-boss-caps"] {
        let b = app.browser();
        assert_refused(sign_in(&b, &idp, login).await, 403).await;
        assert_not_signed_in(&b, "not the admin").await;
    }
    assert_eq!(app.count("sso_identities").await, 0);
    assert_eq!(account(&app, "admin@example.com").await.role, Role::Admin);
    // A member's account links as before.
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "m").await.status(), 303);
    assert!(who_is_signed_in(&b).await.1.contains("member@example.com"));
    // A provider trusted for the admin's domain may link it (admins use SSO too).
    reconfigure(&admin, &idp.issuer, &["example.com"], json!({})).await;
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "fake-boss-caps").await.status(), 303);
    assert!(who_is_signed_in(&b).await.1.contains("admin@example.com"));
}

/// A domain that an "SSO only" provider governs signs in through that provider only: another
/// provider (any domain allowed) neither links nor makes an account there, and so never moves
/// the governing provider's groups.
async fn a_governed_domain_signs_in_only_through_its_provider(app: TestApp) {
    let admin = app.admin().await;
    let retail = admin.group("Retail").await;
    let alice = app.user("alice@partner.test", Role::Member).await;
    assetport::accounts::groups::add_member(&app.state.db, &retail, &alice.id)
        .await
        .unwrap();
    let users = json!({
        "alice": person("alice@partner.test", &[]),
        "newbie": person("newbie@partner.test", &[]),
        "guest": person("guest@elsewhere.test", &[]),
    });
    let Some(idp) = idp_for(&[&app.base], &["corp", "social"], users).await else {
        return;
    };
    register_as(&admin, "corp", &idp.issuer, json!({ "sso_only": true })).await;
    register_as(
        &admin,
        "social",
        &idp.issuer,
        json!({ "allowed_domains": [] }),
    )
    .await;
    let users_before = app.count("users").await;
    for login in ["alice", "newbie"] {
        let b = app.browser();
        assert_refused(sign_in_with(&b, &idp, "social", login).await, 403).await;
        assert_not_signed_in(&b, "through the other provider").await;
    }
    assert_eq!(app.count("users").await, users_before, "nobody made");
    assert_eq!(app.count("sso_identities").await, 0, "nobody linked");
    assert_eq!(groups_of(&app, "alice@partner.test").await, vec!["Retail"]);
    // Other domains still use the other provider; the governing one still works.
    let b = app.browser();
    assert_eq!(
        sign_in_with(&b, &idp, "social", "guest").await.status(),
        303
    );
    let b = app.browser();
    idp.set_users(json!({ "alice": person("alice@partner.test", &["retail"]) }));
    assert_eq!(sign_in_with(&b, &idp, "corp", "alice").await.status(), 303);
    assert!(who_is_signed_in(&b).await.1.contains("alice@partner.test"));
}

/// Case and spaces in the claimed address, a subject whose address changes later (to another
/// account's, or out of the allowed domains), a disabled account.
async fn identity_edge_cases(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    app.user("alice@partner.test", Role::Member).await;
    app.user("bob@partner.test", Role::Member).await;
    let carol = app.user("carol@partner.test", Role::Member).await;
    let Some(idp) = idp(
        &[&app.base],
        json!({
            "s-alice": person("  ALICE@Partner.TEST ", &[]),
            "s-carol": person("carol@partner.test", &[]),
        }),
    )
    .await
    else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    // Case and spaces: the same address, the same account, no second one.
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "s-alice").await.status(), 303);
    assert!(who_is_signed_in(&b).await.1.contains("alice@partner.test"));
    let users = app.count("users").await;
    // The subject's address changes to bob's: the subject still means alice; bob is untouched.
    idp.set_users(json!({ "s-alice": person("bob@partner.test", &[]) }));
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "s-alice").await.status(), 303);
    let (_, page) = who_is_signed_in(&b).await;
    assert!(page.contains("alice@partner.test") && !page.contains("bob@partner.test"));
    let bob = account(&app, "bob@partner.test").await;
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM sso_identities WHERE user_id = $1",
            &bob.id
        )
        .await,
        0,
        "bob is not linked"
    );
    // Out of the allowed domains: refused, though linked.
    idp.set_users(json!({ "s-alice": person("alice@elsewhere.test", &[]) }));
    let b = app.browser();
    assert_refused(sign_in(&b, &idp, "s-alice").await, 403).await;
    assert_not_signed_in(&b, "domain no longer allowed").await;
    assert_eq!(app.count("users").await, users);

    // A disabled account: refused before and after being linked; no session.
    idp.set_users(json!({ "s-carol": person("carol@partner.test", &["retail"]) }));
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "s-carol").await.status(), 303);
    let r = admin
        .patch(&format!("/users/{}", carol.id), json!({ "disabled": true }))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_not_signed_in(&b, "disabling ended the SSO session").await;
    let b = app.browser();
    let html = assert_refused(sign_in(&b, &idp, "s-carol").await, 403).await;
    assert!(html.contains("disabled"), "{html}");
    assert_not_signed_in(&b, "disabled").await;
    assert!(events(&app, "sso_login_failed")
        .await
        .join("\n")
        .contains("account disabled"));
}

/// Many first sign-ins of one new identity at once, on two instances: one account, one link,
/// one membership, and every one of them signed in.
async fn parallel_first_sign_ins_make_one_account(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let other = app.another_instance(|_| {}).await;
    let Some(idp) = idp(
        &[&app.base, &other.base],
        json!({ "neo": person("neo@partner.test", &["retail"]) }),
    )
    .await
    else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    let users = app.count("users").await;
    let mut browsers = Vec::new();
    for i in 0..20 {
        let base = if i % 2 == 0 { &app.base } else { &other.base };
        let b = Browser::at(base, &[]);
        let back = callback_for(&b, &idp, "partner", "neo").await;
        browsers.push((b, back));
    }
    let results = futures_util::future::join_all(
        browsers
            .iter()
            .map(|(b, back)| async move { b.client.get(back).send().await.unwrap() }),
    )
    .await;
    for r in results {
        let s = r.status().as_u16();
        assert_eq!(s, 303, "{}", r.text().await.unwrap_or_default());
    }
    assert_eq!(app.count("users").await, users + 1, "one account");
    assert_eq!(
        count_where(
            &app,
            "SELECT COUNT(*) AS n FROM sso_identities WHERE subject = $1",
            "neo"
        )
        .await,
        1
    );
    assert_eq!(groups_of(&app, "neo@partner.test").await, vec!["Retail"]);
    assert_eq!(events(&app, "sso_account_created").await.len(), 1);
    for (b, _) in &browsers {
        assert_eq!(who_is_signed_in(b).await.0, 200);
    }
    other.stop().await;
}

/// Hostile claim values: a name with control characters and markup, 10 000 characters long; a
/// groups claim that is an object or a number; an address with markup.
async fn hostile_claims_are_tamed(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let long = format!(
        "Eve\u{7}\u{1b}[31m\r\n<script>alert(1)</script>{}",
        "A".repeat(10_000)
    );
    let users = json!({
        "eve": { "email": "eve@partner.test", "name": long, "groups": { "retail": true } },
        "num": { "email": "num@partner.test", "name": "\u{7}\u{8}", "groups": 42 },
        "tag": { "email": "<b>x</b>@partner.test", "name": "Tag" },
    });
    let Some(idp) = idp(&[&app.base], users).await else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "eve").await.status(), 303);
    let eve = account(&app, "eve@partner.test").await;
    assert!(eve.name.chars().count() <= 200, "{}", eve.name.len());
    assert!(!eve.name.chars().any(char::is_control), "{:?}", eve.name);
    assert!(groups_of(&app, "eve@partner.test").await.is_empty());
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "num").await.status(), 303);
    assert_eq!(account(&app, "num@partner.test").await.name, "num");
    assert!(groups_of(&app, "num@partner.test").await.is_empty());
    let b = app.browser();
    assert_refused(sign_in(&b, &idp, "tag").await, 403).await;

    let ab = app.browser();
    app.user("boss@example.com", Role::Admin).await;
    ab.login_ok("boss@example.com").await;
    let (_, users) = ab.page("/admin/users").await;
    assert!(users.contains("eve@partner.test"));
    assert!(!users.contains("<script>alert(1)"), "escaped");
    assert!(users.contains("&#60;script&#62;alert(1)"), "shown, escaped");
}

// ---- the admin's side -------------------------------------------------------------------

async fn the_provider_api_is_admin_only_and_never_tells_the_secret(app: TestApp) {
    let admin = app.admin().await;
    let member = app.member("m@example.com", &[]).await;
    let body = json!({ "id": "okta", "name": "Okta", "issuer": "https://login.example.com",
                       "client_id": "c", "client_secret": "TOP-s3cret-value" });
    admin.post_ok("/sso/providers", body.clone(), 201).await;
    for (m, path) in [
        (reqwest::Method::GET, "/sso/providers"),
        (reqwest::Method::GET, "/sso/providers/okta"),
        (reqwest::Method::PUT, "/sso/providers/okta"),
        (reqwest::Method::DELETE, "/sso/providers/okta"),
        (reqwest::Method::POST, "/sso/providers"),
    ] {
        let r = member.send(m.clone(), path, Some(body.clone())).await;
        assert_eq!(r.status(), 404, "member {m} {path}");
        let r = reqwest::Client::new()
            .request(m.clone(), admin.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            matches!(r.status().as_u16(), 401 | 404),
            "anonymous {m} {path}: {}",
            r.status()
        );
    }
    // Odd ids in the path. A NUL (which PostgreSQL's text cannot hold) is refused at the door
    // for every route (`web::nul`), not answered with a 500.
    for path in [
        "/sso/providers/okta%00",
        "/users/x%00",
        "/groups/x%00?y=%00",
    ] {
        let r = admin.get(path).await;
        assert_eq!(r.status(), 400, "{path}");
        assert_eq!(expect_json(r, 400).await["error"], "invalid_input");
    }
    for path in [
        "/sso/providers/..%2Fokta",
        "/sso/providers/%2e%2e",
        "/sso/providers/okta%2F..%2F..%2Fusers",
    ] {
        let r = admin.get(path).await;
        assert_eq!(r.status(), 404, "{path}");
        let r = admin.delete(path).await;
        assert!(matches!(r.status().as_u16(), 404 | 422), "{path}");
    }
    let r = admin
        .put(
            "/sso/providers/OKTA",
            json!({ "id": "okta2", "name": "x", "issuer": "https://login.example.com",
                    "client_id": "c" }),
        )
        .await;
    assert_eq!(r.status(), 422, "the id in the body cannot differ");
    // A huge body is refused, not parsed.
    let mut huge = body.clone();
    huge["id"] = json!("huge");
    huge["group_map"] = json!({ "x": vec!["y".repeat(100); 40_000] });
    // The server may answer 413 before it has read the whole body and close the connection,
    // so the client can also see its sending cut off; either way nothing is stored.
    // Its own client: the connection the server closes is not one the next requests reuse.
    let sent = reqwest::Client::new()
        .post(admin.url("/sso/providers"))
        .bearer_auth(&admin.token)
        .json(&huge)
        .send()
        .await;
    match sent {
        Ok(r) => assert!(
            matches!(r.status().as_u16(), 413 | 422),
            "huge body: {}",
            r.status()
        ),
        Err(e) => assert!(e.is_request() && !e.is_timeout(), "huge body: {e}"),
    }
    assert_eq!(app.count("sso_providers").await, 1);
    let r = admin.get("/sso/providers/huge").await;
    assert_eq!(r.status(), 404, "the huge provider was not made");
    // The secret is never told: API, page, events.
    let list = admin.get("/sso/providers").await.text().await.unwrap();
    let one = admin.get("/sso/providers/okta").await.text().await.unwrap();
    let sealed: String = sqlx::query("SELECT client_secret_sealed FROM sso_providers")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .try_get("client_secret_sealed")
        .unwrap();
    let b = app.browser();
    app.user("boss@example.com", Role::Admin).await;
    b.login_ok("boss@example.com").await;
    let (_, page) = b.page("/admin/sso").await;
    let all_events: Vec<String> = sqlx::query("SELECT detail FROM events")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>("detail").unwrap_or_default())
        .collect();
    for (what, text) in [
        ("list", list),
        ("get", one),
        ("page", page),
        ("events", all_events.join("\n")),
    ] {
        assert!(!text.contains("TOP-s3cret-value"), "{what}");
        assert!(!text.contains(&sealed), "{what} has the sealed value");
    }
}

/// A provider from `assetport.toml` is changed or deleted neither through the API nor the page,
/// nor shadowed by a new provider of the same id.
async fn a_config_provider_cannot_be_changed_or_deleted(app: TestApp) {
    let admin = app.admin().await;
    let change = json!({ "name": "Evil", "issuer": "https://evil.example", "client_id": "c",
                         "allowed_domains": [] });
    assert_eq!(admin.put("/sso/providers/corp", change).await.status(), 409);
    assert_eq!(
        admin
            .put(
                "/sso/providers/CORP",
                json!({ "name": "Evil",
        "issuer": "https://evil.example", "client_id": "c" })
            )
            .await
            .status(),
        409
    );
    assert_eq!(admin.delete("/sso/providers/corp").await.status(), 409);
    let r = admin
        .post(
            "/sso/providers",
            json!({ "id": "corp", "name": "Evil", "issuer": "https://evil.example",
                    "client_id": "c" }),
        )
        .await;
    assert_eq!(r.status(), 409);
    let b = app.browser();
    app.user("boss@example.com", Role::Admin).await;
    b.login_ok("boss@example.com").await;
    let csrf = b.csrf("/admin/sso").await;
    let r = b
        .post_form(
            "/admin/sso/providers/corp",
            &[
                ("csrf_token", &csrf),
                ("name", "Evil"),
                ("issuer", "https://evil.example"),
                ("client_id", "c"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = b
        .post_form("/admin/sso/providers/corp/delete", &[("csrf_token", &csrf)])
        .await;
    assert_eq!(r.status(), 303);
    let p = expect_json(admin.get("/sso/providers/corp").await, 200).await;
    assert_eq!(p["name"], "Corp");
    assert_eq!(p["issuer"], "https://id.corp.example");
    assert_eq!(p["source"], "config");
    assert_eq!(events(&app, "sso_provider_deleted").await.len(), 0);
}

fn corp(c: &mut assetport::config::Config) {
    c.sso = vec![serde_json::from_value(json!({
        "id": "corp", "name": "Corp", "issuer": "https://id.corp.example",
        "client_id": "portal", "client_secret": "from-the-file",
        "group_map": { "designers": ["Design"] },
    }))
    .expect("provider")];
}

/// The admin role mapping never demotes the last (active) admin — a disabled admin does not
/// count — and two admins signing in at once without the admin value leave one admin.
async fn the_last_admin_is_never_demoted_by_the_claim(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    // The API's admin is disabled later; two admins of the partner's domain remain.
    let it = app.user("it@partner.test", Role::Admin).await;
    let ops = app.user("ops@partner.test", Role::Admin).await;
    let Some(idp) = idp(
        &[&app.base],
        json!({
            "it": person("it@partner.test", &[]),
            "ops": person("ops@partner.test", &[]),
        }),
    )
    .await
    else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    let first = app.user("first@example.com", Role::Admin).await;
    let api = app.api_for(&first).await;
    let admin_id = account(&app, "admin@example.com").await.id;
    let r = api
        .patch(&format!("/users/{admin_id}"), json!({ "disabled": true }))
        .await;
    assert!(r.status().is_success());
    let r = api
        .patch(&format!("/users/{}", first.id), json!({ "role": "member" }))
        .await;
    assert_eq!(r.status(), 409, "no self-demotion");
    // Leave `it` and `ops` (and `first`) as admins; now `first` goes too (by another admin).
    let ops_api = app.api_for(&ops).await;
    let r = ops_api
        .patch(&format!("/users/{}", first.id), json!({ "disabled": true }))
        .await;
    assert!(r.status().is_success());

    // Both sign in at once, several times, with no admin value: one admin always stays.
    for round in 0..6 {
        let mut pending = Vec::new();
        for login in ["it", "ops"] {
            let b = app.browser();
            let back = callback_for(&b, &idp, "partner", login).await;
            pending.push((b, back));
        }
        let rs = futures_util::future::join_all(
            pending
                .iter()
                .map(|(b, back)| async move { b.client.get(back).send().await.unwrap() }),
        )
        .await;
        for r in rs {
            assert_eq!(r.status(), 303);
        }
        let admins = assetport::accounts::users::count_admins(&app.state.db)
            .await
            .unwrap();
        assert_eq!(admins, 1, "round {round}: exactly one active admin left");
        // Make both admins again for the next round.
        for id in [&it.id, &ops.id] {
            sqlx::query("UPDATE users SET role = 'admin' WHERE id = $1")
                .bind(id.to_string())
                .execute(&app.state.db.pool)
                .await
                .unwrap();
        }
    }
    // Alone: the last admin stays one whatever the claim says.
    sqlx::query("UPDATE users SET role = 'member' WHERE id = $1")
        .bind(ops.id.to_string())
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "it").await.status(), 303);
    assert_eq!(account(&app, "it@partner.test").await.role, Role::Admin);
}

// ---- SSO only, logout -------------------------------------------------------------------

/// An "SSO only" member cannot get a password sign-in by the side doors: a reset link followed
/// by the new password, an invitation's acceptance.
async fn sso_only_has_no_side_door(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    app.user("alice@partner.test", Role::Member).await;
    let Some(idp) = idp(&[&app.base], json!({})).await else {
        return;
    };
    register(&admin, &idp.issuer, json!({ "sso_only": true })).await;
    // Forgot password → a new one → still refused.
    let b = app.browser();
    let csrf = b.csrf("/forgot").await;
    let r = b
        .post_form(
            "/forgot",
            &[("csrf_token", &csrf), ("email", "alice@partner.test")],
        )
        .await;
    assert!(r.status().is_success() || r.status().is_redirection());
    let mail = eventually("a reset mail", || async {
        app.outbox()
            .iter()
            .map(|m| mail_text(m))
            .find(|m| m.contains("alice@partner.test") && m.contains("/reset/"))
    })
    .await;
    let link = reset_path(&mail);
    let csrf = b.csrf(&link).await;
    let r = b
        .client
        .post(b.url(&link))
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("new_password", "a brand new password"),
            ("confirm_password", "a brand new password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    let r = b.login("alice@partner.test", "a brand new password").await;
    assert_eq!(r.status(), 403, "SSO only, new password or not");
    assert_not_signed_in(&b, "after a reset").await;

    // An invitation into the governed domain: accepting it does not sign in by password.
    let r = admin
        .post(
            "/invitations",
            json!({ "emails": ["newbie@partner.test"], "role": "member" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let path = eventually("the invitation", || async {
        app.outbox()
            .iter()
            .map(|m| mail_text(m))
            .filter(|m| m.lines().any(|l| l == "To: newbie@partner.test"))
            .find_map(|m| {
                m.lines()
                    .map(str::trim)
                    .find(|l| l.contains("/invite/"))
                    .map(path_of)
            })
    })
    .await;
    let nb = app.browser();
    let csrf = nb.csrf(&path).await;
    let r = nb
        .post_form(
            &path,
            &[
                ("csrf_token", &csrf),
                ("name", "Newbie"),
                ("new_password", "a brand new password"),
                ("confirm_password", "a brand new password"),
            ],
        )
        .await;
    // The account is made and the page goes on to the provider; no session yet.
    assert_eq!(r.status(), 200);
    let next = refresh_target(&r.text().await.unwrap());
    assert!(next.starts_with("/sso/"), "{next}");
    assert_not_signed_in(&nb, "an invitation into an SSO-only domain").await;
    let r = nb
        .login("newbie@partner.test", "a brand new password")
        .await;
    assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
    assert_not_signed_in(&nb, "the invitation's password").await;
}

/// Logout after an SSO sign-in goes to the provider with the portal's own `/login` as the way
/// back (nothing from the request); without SSO, to `/login`.
async fn logout_goes_nowhere_else(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    let Some(idp) = idp(
        &[&app.base],
        json!({ "alice": person("alice@partner.test", &[]) }),
    )
    .await
    else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    let b = app.browser();
    assert_eq!(sign_in(&b, &idp, "alice").await.status(), 303);
    let csrf = b.csrf("/account").await;
    let r = b
        .client
        .post(app.url("/logout?post_logout_redirect_uri=https://evil.example&next=//evil"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("post_logout_redirect_uri", "https://evil.example"),
            ("next", "https://evil.example"),
        ])
        .send()
        .await
        .unwrap();
    // A page that goes on to the provider by itself (see tests/sso.rs).
    assert_eq!(r.status(), 200);
    let to = refresh_target(&r.text().await.unwrap());
    assert!(
        to.starts_with(&format!("{}/session/end?", idp.issuer)),
        "{to}"
    );
    assert!(!to.contains("evil"), "{to}");
    let url = reqwest::Url::parse(&to).unwrap();
    let back: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "post_logout_redirect_uri")
        .map(|(_, v)| v.to_string())
        .collect();
    assert_eq!(back, vec![app.url("/login")]);
    // Without a CSRF token: no logout at all.
    let b2 = app.browser();
    assert_eq!(sign_in(&b2, &idp, "alice").await.status(), 303);
    let r = b2.post_form("/logout", &[]).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    assert_eq!(who_is_signed_in(&b2).await.0, 200);
    // A password session logs out to /login.
    let pb = app.browser();
    app.user("p@example.com", Role::Member).await;
    pb.login_ok("p@example.com").await;
    let csrf = pb.csrf("/account").await;
    let r = pb.post_form("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/login");
}

on_both_backends!(
    next_never_leaves_the_portal,
    a_callback_carried_to_another_browser_signs_nobody_in,
    a_flow_for_one_provider_does_not_finish_at_another,
    a_new_issuer_does_not_inherit_the_old_issuers_links,
    an_any_domain_provider_cannot_take_over_an_admin,
    a_governed_domain_signs_in_only_through_its_provider,
    identity_edge_cases,
    parallel_first_sign_ins_make_one_account,
    hostile_claims_are_tamed,
    the_provider_api_is_admin_only_and_never_tells_the_secret,
    the_last_admin_is_never_demoted_by_the_claim,
    sso_only_has_no_side_door,
    logout_goes_nowhere_else,
);

on_both_with!(
    config_file,
    crate::corp,
    a_config_provider_cannot_be_changed_or_deleted
);
