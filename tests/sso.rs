//! OpenID Connect sign-in (issue 20) against a real, certified provider: `oidc-provider` from
//! npm (tests/oidc), started on a free port per test. The browser's whole way goes over HTTP:
//! the portal's button → the provider's authorisation → its login and consent forms → the
//! portal's callback. Covered: just-in-time accounts and group mapping that follows the claim
//! at every sign-in (manual groups stay), the admin role mapping, linking an existing account
//! by its verified address, "SSO only" refusing a member's password but not an admin's,
//! RP-initiated logout ending both sessions, a flow started on one instance finishing on
//! another, and the bad inputs — wrong state, replays, the provider's refusal, an unverified
//! address, a disallowed domain, a foreign audience, an expired ID token, JIT off — each a
//! page in plain words, an `sso_login_failed` event and no account. Both databases.
mod common;
use assetport::accounts::users::Role;
use common::oidc::*;
use common::*;
use serde_json::{json, Value};
use sqlx::Row;

fn alice(groups: &[&str]) -> Value {
    json!({ "email": "alice@partner.test", "name": "Alice Doe", "groups": groups })
}

/// The provider as an admin registers it through the API, mapping two groups.
async fn register(admin: &Api, issuer: &str, extra: Value) -> Value {
    let mut body = json!({
        "name": "Partner ID",
        "group_map": { "retail": ["Retail"], "press": ["Press"] },
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    register_as(admin, "partner", issuer, body).await
}

/// The sign-in button on `base`'s page → the provider's authorisation address.
async fn press_button(b: &Browser, base: &str) -> String {
    let (_, html) = b.page("/login").await;
    assert!(html.contains("Sign in with Partner ID"), "{html}");
    start_at(b, base, "partner", "/collections").await
}

async fn role_of(app: &TestApp, email: &str) -> Role {
    account(app, email).await.role
}

async fn a_partner_signs_in_and_groups_follow_the_claim(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    admin.group("Press").await;
    let manual = admin.group("Manual").await;
    let Some(idp) = idp(&[&app.base], json!({ "alice": alice(&["retail"]) })).await else {
        return;
    };
    let p = register(&admin, &idp.issuer, json!({})).await;
    assert_eq!(p["client_secret_set"], true);
    assert!(!p.to_string().contains("assetport-test-secret"));
    // The secret is stored sealed, never in clear.
    let sealed: String = sqlx::query("SELECT client_secret_sealed FROM sso_providers")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
        .try_get("client_secret_sealed")
        .unwrap();
    assert!(!sealed.is_empty() && !sealed.contains("assetport-test-secret"));

    let b = app.browser();
    let auth = press_button(&b, &app.base).await;
    assert!(auth.starts_with(&idp.issuer), "{auth}");
    for part in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "response_type=code",
    ] {
        assert!(auth.contains(part), "{part} in {auth}");
    }
    let back = through_provider(&b, &idp, &auth, "alice").await;
    assert!(
        back.starts_with(&app.url("/sso/partner/callback?")),
        "{back}"
    );
    let r = b.client.get(&back).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    assert_eq!(
        location(&r),
        "/collections",
        "back where the person was going"
    );
    let (s, page) = who_is_signed_in(&b).await;
    assert_eq!(s, 200);
    assert!(page.contains("alice@partner.test"), "{page}");
    // Just in time: a member, in the mapped group.
    assert_eq!(role_of(&app, "alice@partner.test").await, Role::Member);
    assert_eq!(groups_of(&app, "alice@partner.test").await, vec!["Retail"]);
    assert_eq!(events(&app, "sso_account_created").await.len(), 1);
    assert_eq!(events(&app, "sso_login").await.len(), 1);

    // An admin adds her to a group by hand; the provider moves her from retail to press and
    // into the admins' group.
    let alice_id = assetport::accounts::users::by_email(&app.state.db, "alice@partner.test")
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = admin
        .put(&format!("/groups/{manual}/members/{alice_id}"), json!({}))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    idp.set_users(json!({ "alice": alice(&["press", "portal-admins"]) }));
    let b2 = app.browser();
    let r = sign_in(&b2, &idp, "alice").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        groups_of(&app, "alice@partner.test").await,
        vec!["Manual", "Press"],
        "mapped groups follow the claim; the manual one stays"
    );
    assert_eq!(role_of(&app, "alice@partner.test").await, Role::Admin);
    // And back: no mapped group, no admin value.
    idp.set_users(json!({ "alice": alice(&[]) }));
    let r = sign_in(&app.browser(), &idp, "alice").await;
    assert_eq!(r.status(), 303);
    assert_eq!(groups_of(&app, "alice@partner.test").await, vec!["Manual"]);
    assert_eq!(role_of(&app, "alice@partner.test").await, Role::Member);
    assert_eq!(events(&app, "sso_groups_applied").await.len(), 3);
    assert_eq!(app.count("users").await, 2, "still one account for her");

    // The users page says how she last signed in.
    let ab = app.browser();
    let admin_account = app.user("boss@example.com", Role::Admin).await;
    let _ = admin_account;
    ab.login_ok("boss@example.com").await;
    let (_, users) = ab.page("/admin/users").await;
    assert!(users.contains("· SSO"), "{users}");
}

async fn bad_inputs_make_no_account(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    admin.group("Press").await;
    let users = json!({
        "alice": alice(&["retail"]),
        "bob": { "email": "bob@partner.test", "email_verified": false, "name": "Bob" },
        "carol": { "email": "carol@elsewhere.test", "name": "Carol" },
        "dave": { "email": "dave@partner.test", "name": "Dave", "id_token": { "aud": "someone-else" } },
        "erin": { "email": "erin@partner.test", "name": "Erin", "id_token": { "exp_in": -120 } },
        "frank": { "email": "frank@partner.test", "name": "Frank" },
    });
    let Some(idp) = idp(&[&app.base], users).await else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    let accounts = app.count("users").await;
    let refused = |r: reqwest::Response, status: u16, says: &'static str| async move {
        assert_eq!(r.status().as_u16(), status);
        let html = r.text().await.unwrap();
        assert!(html.contains("Sign-in did not complete"), "{html}");
        assert!(html.contains(says), "{says} in {html}");
        assert!(html.contains("href=\"/login\""));
    };

    // A tampered state.
    let b = app.browser();
    let auth = press_button(&b, &app.base).await;
    let back = through_provider(&b, &idp, &auth, "alice").await;
    let tampered = back.replace("state=", "state=x");
    refused(
        b.client.get(&tampered).send().await.unwrap(),
        400,
        "expired or was already used",
    )
    .await;
    // The flow is spent by that try: the genuine callback is now refused too.
    refused(
        b.client.get(&back).send().await.unwrap(),
        400,
        "already used",
    )
    .await;

    // A callback replayed after a success: in the same browser and in another.
    let b = app.browser();
    let auth = press_button(&b, &app.base).await;
    let back = through_provider(&b, &idp, &auth, "alice").await;
    assert_eq!(b.client.get(&back).send().await.unwrap().status(), 303);
    refused(
        b.client.get(&back).send().await.unwrap(),
        400,
        "already used",
    )
    .await;
    let other = app.browser();
    refused(
        other.client.get(&back).send().await.unwrap(),
        400,
        "already used",
    )
    .await;
    // The used code with a fresh flow's state: the provider itself refuses the code.
    let fresh = press_button(&other, &app.base).await;
    let state = fresh
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .unwrap()
        .to_string();
    let code = back
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .unwrap()
        .to_string();
    let replay = app.url(&format!("/sso/partner/callback?code={code}&state={state}"));
    refused(
        other.client.get(&replay).send().await.unwrap(),
        403,
        "did not confirm",
    )
    .await;

    // The provider's own refusal (the person cancelled).
    let b = app.browser();
    let auth = press_button(&b, &app.base).await;
    let state = auth
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .unwrap()
        .to_string();
    let cancelled = app.url(&format!(
        "/sso/partner/callback?error=access_denied&state={state}"
    ));
    refused(
        b.client.get(&cancelled).send().await.unwrap(),
        403,
        "did not sign you in",
    )
    .await;

    let b = app.browser();
    refused(sign_in(&b, &idp, "bob").await, 403, "verified email").await;
    let b = app.browser();
    refused(sign_in(&b, &idp, "carol").await, 403, "cannot sign in here").await;
    let b = app.browser();
    refused(sign_in(&b, &idp, "dave").await, 403, "did not confirm").await;
    let b = app.browser();
    refused(sign_in(&b, &idp, "erin").await, 403, "did not confirm").await;
    // JIT off: nobody new.
    reconfigure(
        &admin,
        &idp.issuer,
        &["partner.test"],
        json!({ "jit": false }),
    )
    .await;
    let b = app.browser();
    refused(sign_in(&b, &idp, "frank").await, 403, "invite you").await;
    // An unknown provider.
    let (s, html) = app.browser().page("/sso/nobody/start").await;
    assert_eq!(s.as_u16(), 404);
    assert!(html.contains("does not exist"));

    // Only alice's one good sign-in made an account; every refusal left a reason behind.
    assert_eq!(app.count("users").await, accounts + 1);
    let failed = events(&app, "sso_login_failed").await;
    let all = failed.join("\n");
    for why in [
        "state does not match",
        "no sign-in in progress",
        "code exchange",
        "access_denied",
        "email not verified",
        "domain not allowed",
        "ID token",
        "JIT off",
        "unknown provider",
    ] {
        assert!(all.contains(why), "{why} in {all}");
    }
    assert!(
        failed.iter().filter(|d| d.contains("ID token")).count() >= 2,
        "foreign audience and expiry: {all}"
    );
    assert!(
        all.to_lowercase().contains("audience"),
        "the audience check named: {all}"
    );
    assert!(
        all.to_lowercase().contains("expired"),
        "expiry named: {all}"
    );
}

async fn sso_only_refuses_a_members_password_and_logout_ends_both_sessions(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    admin.group("Press").await;
    // A member and an admin of the partner's domain, both with passwords.
    app.user("alice@partner.test", Role::Member).await;
    app.user("it@partner.test", Role::Admin).await;
    let Some(idp) = idp(&[&app.base], json!({ "alice": alice(&["retail"]) })).await else {
        return;
    };
    register(&admin, &idp.issuer, json!({ "sso_only": true })).await;

    let b = app.browser();
    let r = b.login("alice@partner.test", PASSWORD).await;
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(html.contains("signs you in with Partner ID"), "{html}");
    assert!(
        html.contains("/sso/partner/start"),
        "the button is right there"
    );
    assert_eq!(who_is_signed_in(&b).await.0, 303, "not signed in");
    // A wrong password says nothing about SSO.
    let r = b.login("alice@partner.test", "wrong password here").await;
    assert_eq!(r.status(), 401);
    // The admin keeps the break-glass password.
    let ib = app.browser();
    assert_eq!(ib.login("it@partner.test", PASSWORD).await.status(), 303);

    // An invitation to an address of that domain sets no password: it makes the account with
    // the invitation's groups and sends the person on to the provider. (Of those groups, one
    // the provider maps follows the claim from the first sign-in on; the other stays.)
    let guests = admin.group("Guests").await;
    let press = admin.get("/groups").await;
    let press = expect_json(press, 200).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Press")
        .unwrap()["id"]
        .clone();
    admin
        .post_ok(
            "/invitations",
            json!({ "emails": ["carl@partner.test"], "groups": [press, guests], "role": "member" }),
            201,
        )
        .await;
    let invite = common::asks::invite_path(&app, "carl@partner.test", &[]).await;
    let cb = app.browser();
    let (_, page) = cb.page(&invite).await;
    assert!(page.contains("signs you in with Partner ID"), "{page}");
    assert!(!page.contains("new_password"), "no password to choose");
    let csrf = csrf_in(&page).unwrap();
    let r = cb
        .post_form(
            &invite,
            &[
                ("csrf_token", &csrf),
                ("name", "Carl"),
                ("new_password", "a password I chose myself"),
            ],
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        refresh_target(&r.text().await.unwrap()),
        "/sso/partner/start?next=/"
    );
    assert_eq!(
        who_is_signed_in(&cb).await.0,
        303,
        "not signed in by a password"
    );
    assert_eq!(
        cb.login("carl@partner.test", "a password I chose myself")
            .await
            .status(),
        401,
        "the typed password was not kept"
    );
    idp.set_users(json!({
        "alice": alice(&["retail"]),
        "carl": { "email": "carl@partner.test", "name": "Carl", "groups": [] },
    }));
    let r = sign_in(&cb, &idp, "carl").await;
    assert_eq!(r.status(), 303);
    assert_eq!(who_is_signed_in(&cb).await.0, 200);
    assert_eq!(groups_of(&app, "carl@partner.test").await, vec!["Guests"]);

    // Through the provider: the existing account is linked by its verified address.
    let r = sign_in(&b, &idp, "alice").await;
    assert_eq!(r.status(), 303);
    assert_eq!(who_is_signed_in(&b).await.0, 200);
    assert_eq!(events(&app, "sso_account_linked").await.len(), 2);
    assert_eq!(events(&app, "sso_account_created").await.len(), 0);
    assert_eq!(groups_of(&app, "alice@partner.test").await, vec!["Retail"]);

    // Logout: the portal's session ends, then the provider's (RP-initiated logout).
    let csrf = b.csrf("/account").await;
    let r = b.post_form("/logout", &[("csrf_token", &csrf)]).await;
    // A page that goes on by itself: a redirect answering the form would be blocked by the
    // pages' CSP (form-action 'self') in a browser.
    assert_eq!(r.status(), 200);
    let to = refresh_target(&r.text().await.unwrap());
    assert!(
        to.starts_with(&format!("{}/session/end", idp.issuer)),
        "{to}"
    );
    assert!(to.contains("id_token_hint="), "{to}");
    assert!(to.contains("post_logout_redirect_uri="), "{to}");
    assert_eq!(
        who_is_signed_in(&b).await.0,
        303,
        "the portal's session is over"
    );
    let confirm = b.client.get(&to).send().await.unwrap();
    assert_eq!(confirm.status(), 200);
    let page = confirm.text().await.unwrap();
    let action = absolute(&idp.issuer, &form_action(&page));
    let xsrf = page
        .split("name=\"xsrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = b
        .client
        .post(&action)
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(
        location(&r),
        app.url("/login"),
        "back to the portal's sign-in"
    );
    // The provider's session is over too: signing in asks for the login again.
    let auth = press_button(&b, &app.base).await;
    let mut url = auth;
    let html = loop {
        let r = b.client.get(&url).send().await.unwrap();
        if r.status().is_redirection() {
            url = absolute(&idp.issuer, &location(&r));
            continue;
        }
        break r.text().await.unwrap();
    };
    assert!(
        html.contains("name=\"login\""),
        "the provider asks again: {html}"
    );
}

async fn a_flow_started_on_one_instance_finishes_on_another(app: TestApp) {
    let admin = app.admin().await;
    admin.group("Retail").await;
    admin.group("Press").await;
    let other = app.another_instance(|_| {}).await;
    let Some(idp) = idp(
        &[&app.base, &other.base],
        json!({ "alice": alice(&["retail"]) }),
    )
    .await
    else {
        return;
    };
    register(&admin, &idp.issuer, json!({})).await;
    // Started on A; the load balancer sends the callback to B.
    let b = app.browser();
    let auth = press_button(&b, &app.base).await;
    let back = through_provider(&b, &idp, &auth, "alice").await;
    assert!(back.starts_with(&app.url("/sso/partner/callback")));
    let on_b = back.replacen(&app.base, &other.base, 1);
    let r = b.client.get(&on_b).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap_or_default());
    for base in [&app.base, &other.base] {
        let r = b
            .client
            .get(format!("{base}/account"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "signed in on {base}");
    }
    assert_eq!(groups_of(&app, "alice@partner.test").await, vec!["Retail"]);
    other.stop().await;
}

async fn providers_are_checked_and_kept_by_admins(app: TestApp) {
    let admin = app.admin().await;
    let partner = app.member("m@example.com", &[]).await;
    let base = json!({ "id": "okta", "name": "Okta", "issuer": "https://login.example.com",
                       "client_id": "c", "client_secret": "s3cret" });
    let bad = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (bad("issuer", json!("http://login.example.com")), "issuer"),
        (bad("issuer", json!("not a url")), "issuer"),
        (bad("id", json!("Bad Id")), "id"),
        (bad("name", json!("")), "name"),
        (
            bad("allowed_domains", json!(["not a domain"])),
            "allowed_domains",
        ),
        (
            bad("group_map", json!({ "x": ["No such group"] })),
            "group_map",
        ),
        (bad("sso_only", json!(true)), "sso_only"),
    ] {
        let e = admin.post_ok("/sso/providers", body, 422).await;
        assert!(
            e["message"].as_str().unwrap_or("").contains(field),
            "{field}: {e}"
        );
    }
    let e = admin
        .post_ok("/sso/providers", bad("unknown", json!(1)), 422)
        .await;
    assert!(e["error"].is_string());
    // Not an admin: the API answers as if there were nothing there.
    assert_eq!(
        partner.post("/sso/providers", base.clone()).await.status(),
        404
    );
    assert_eq!(app.count("sso_providers").await, 0, "nothing half-written");
    let made = admin.post_ok("/sso/providers", base.clone(), 201).await;
    assert_eq!(made["scopes"], json!(["openid", "email", "profile"]));
    assert_eq!(
        admin.post("/sso/providers", base.clone()).await.status(),
        409
    );
    // A change without a secret keeps the stored one.
    let mut change = base.clone();
    change["client_secret"] = json!("");
    change["name"] = json!("Okta SSO");
    change.as_object_mut().unwrap().remove("id");
    let r = admin.put("/sso/providers/okta", change).await;
    assert_eq!(r.status(), 200);
    let p = expect_json(admin.get("/sso/providers/okta").await, 200).await;
    assert_eq!(
        (p["name"].clone(), p["client_secret_set"].clone()),
        (json!("Okta SSO"), json!(true))
    );
    // The page lists it with its redirect address; the sign-in page offers it.
    let b = app.browser();
    app.user("boss@example.com", Role::Admin).await;
    b.login_ok("boss@example.com").await;
    let (_, html) = b.page("/admin/sso").await;
    assert!(html.contains(&app.url("/sso/okta/callback")), "{html}");
    assert!(!html.contains("s3cret"));
    let (_, login) = app.browser().page("/login").await;
    assert!(login.contains("Sign in with Okta SSO"));
    // A bad form comes back with the reason and saves nothing.
    let csrf = b.csrf("/admin/sso").await;
    let r = b
        .post_form(
            "/admin/sso/providers",
            &[
                ("csrf_token", &csrf),
                ("id", "two"),
                ("name", "Two"),
                ("issuer", "ftp://x"),
                ("client_id", "c"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.page("/admin/sso").await;
    assert!(html.contains("Not saved"), "{html}");
    assert_eq!(app.count("sso_providers").await, 1);
    let r = admin.delete("/sso/providers/okta").await;
    assert_eq!(r.status(), 204);
    let (_, login) = app.browser().page("/login").await;
    assert!(!login.contains("Sign in with"));
    assert_eq!(events(&app, "sso_provider_saved").await.len(), 2);
    assert_eq!(events(&app, "sso_provider_deleted").await.len(), 1);
}

/// A provider from `assetport.toml`'s `[[sso]]` is saved at start, shown, and not the page's
/// to change.
async fn a_provider_from_the_config_file_is_read_only(app: TestApp) {
    let admin = app.admin().await;
    let p = expect_json(admin.get("/sso/providers/corp").await, 200).await;
    assert_eq!(p["source"], "config");
    assert_eq!(p["client_secret_set"], true);
    let r = admin
        .put(
            "/sso/providers/corp",
            json!({ "name": "X", "issuer": "https://id.corp.example", "client_id": "c" }),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(admin.delete("/sso/providers/corp").await.status(), 409);
    assert!(
        app.count("user_groups").await >= 1,
        "its mapped group was made"
    );
    // Another instance starting with the same file saves nothing new.
    let other = app.another_instance(crate::corp).await;
    assert_eq!(events(&app, "sso_provider_saved").await.len(), 1);
    other.stop().await;
    // A changed file is saved (and recorded) by the next instance to start.
    let other = app
        .another_instance(|c| {
            crate::corp(c);
            c.sso[0].name = "Corp SSO".into();
        })
        .await;
    assert_eq!(events(&app, "sso_provider_saved").await.len(), 2);
    let p = expect_json(admin.get("/sso/providers/corp").await, 200).await;
    assert_eq!(p["name"], "Corp SSO");
    other.stop().await;
}

fn corp(c: &mut assetport::config::Config) {
    c.sso = vec![serde_json::from_value(json!({
        "id": "corp", "name": "Corp", "issuer": "https://id.corp.example",
        "client_id": "portal", "client_secret": "from-the-file",
        "group_map": { "designers": ["Design"] },
    }))
    .expect("provider")];
}

on_both_backends!(
    a_partner_signs_in_and_groups_follow_the_claim,
    bad_inputs_make_no_account,
    sso_only_refuses_a_members_password_and_logout_ends_both_sessions,
    a_flow_started_on_one_instance_finishes_on_another,
    providers_are_checked_and_kept_by_admins,
);

on_both_with!(
    config_file,
    crate::corp,
    a_provider_from_the_config_file_is_read_only
);
