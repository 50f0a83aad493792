//! docs/deploy/nginx.conf, run as documented: nginx terminating TLS in front of two instances
//! on one PostgreSQL database and one S3 bucket (moto). Only addresses, ports, certificate and
//! log paths are swapped in; everything else is the file an operator copies.
mod common;

use std::net::{IpAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{sha256_hex, Api, Browser, PASSWORD};
use serde_json::json;
use sqlx::Row;

struct Nginx(Child);

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: a killed master leaves its workers running.
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Outside CI a missing nginx skips the test; in CI (which installs it) it fails it.
fn nginx_binary() -> Option<String> {
    for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"] {
        if Path::new(candidate).exists() {
            return Some(candidate.to_string());
        }
    }
    common::skip("deploy test: nginx is not installed (apt-get install nginx-light)");
    None
}

/// Replaces `from` (which must be in the documented file, so the test and the doc cannot
/// drift apart) by `to`.
fn swap(conf: &mut String, from: &str, to: &str) {
    assert!(conf.contains(from), "docs/deploy/nginx.conf lost {from:?}");
    *conf = conf.replace(from, to);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_the_documented_nginx() {
    let Some(nginx_bin) = nginx_binary() else {
        return;
    };
    let (http_port, https_port) = (free_port(), free_port());
    let public_url = format!("https://localhost:{https_port}");
    let behind_proxy = |c: &mut assetport::Config| {
        c.public_url = public_url.clone();
        c.public_url_from_bind = false;
        c.trusted_proxies = assetport::web::client::TrustedProxies::parse("127.0.0.1").unwrap();
    };
    let Some(a) = common::spawn_with(common::Backend::Postgres, behind_proxy).await else {
        return;
    };
    assert!(
        a.state.config.storage.starts_with("s3://"),
        "shared S3 storage"
    );
    let b = a.another_instance(behind_proxy).await;

    // A throwaway CA and a certificate for localhost signed by it.
    let dir = tempfile::tempdir().unwrap();
    let (ca, ca_key) = (dir.path().join("ca.pem"), dir.path().join("ca-key.pem"));
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let csr = dir.path().join("cert.csr");
    let ext = dir.path().join("ext.cnf");
    std::fs::write(&ext, "subjectAltName=DNS:localhost\n").unwrap();
    let openssl = |args: &[&std::ffi::OsStr]| {
        let ok = Command::new("openssl")
            .args(args)
            .stderr(Stdio::null())
            .status()
            .expect("openssl runs")
            .success();
        assert!(ok, "openssl {args:?}");
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let ec = [
        os("-newkey"),
        os("ec"),
        os("-pkeyopt"),
        os("ec_paramgen_curve:P-256"),
    ];
    let mut args = vec![os("req"), os("-x509"), os("-nodes"), os("-days"), os("2")];
    args.extend(ec.iter().cloned());
    args.extend([os("-subj"), os("/CN=assetport test CA"), os("-keyout")]);
    args.extend([ca_key.clone().into(), os("-out"), ca.clone().into()]);
    openssl(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    let mut args = vec![os("req"), os("-nodes")];
    args.extend(ec.iter().cloned());
    args.extend([os("-subj"), os("/CN=localhost"), os("-keyout")]);
    args.extend([key.clone().into(), os("-out"), csr.clone().into()]);
    openssl(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    let args = [
        os("x509"),
        os("-req"),
        os("-in"),
        csr.into(),
        os("-CA"),
        ca.clone().into(),
        os("-CAkey"),
        ca_key.into(),
        os("-CAcreateserial"),
        os("-days"),
        os("2"),
        os("-extfile"),
        ext.into(),
        os("-out"),
        cert.clone().into(),
    ];
    openssl(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    let mut conf = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deploy/nginx.conf"),
    )
    .unwrap();
    let d = dir.path().display();
    let addr = |base: &str| base.trim_start_matches("http://").to_string();
    swap(
        &mut conf,
        "/run/nginx-assetport.pid",
        &format!("{d}/nginx.pid"),
    );
    swap(
        &mut conf,
        "/var/log/nginx/assetport-error.log",
        &format!("{d}/error.log"),
    );
    swap(
        &mut conf,
        "/var/log/nginx/assetport-access.log",
        &format!("{d}/access.log"),
    );
    swap(&mut conf, "127.0.0.1:8081", &addr(&a.base));
    swap(&mut conf, "127.0.0.1:8082", &addr(&b.base));
    swap(
        &mut conf,
        "listen 80;",
        &format!("listen 127.0.0.1:{http_port};"),
    );
    swap(
        &mut conf,
        "listen 443 ssl",
        &format!("listen 127.0.0.1:{https_port} ssl"),
    );
    swap(
        &mut conf,
        "/etc/ssl/assetport/fullchain.pem",
        &cert.display().to_string(),
    );
    swap(
        &mut conf,
        "/etc/ssl/assetport/privkey.pem",
        &key.display().to_string(),
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, &conf).unwrap();
    let nginx = Nginx(
        Command::new(&nginx_bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .args(["-g", "daemon off;"])
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts"),
    );

    // The client connects from 127.0.0.2, so the address the instances log can only have come
    // through nginx's X-Forwarded-For; it also forges one of its own, which must be dropped.
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap())
        .local_address("127.0.0.2".parse::<IpAddr>().unwrap())
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(
            [(
                "x-forwarded-for".parse().unwrap(),
                "6.6.6.6".parse().unwrap(),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    let mut last = String::new();
    for _ in 0..100 {
        match client.get(format!("{public_url}/healthz")).send().await {
            Ok(r) => {
                last = r.status().to_string();
                break;
            }
            Err(e) => last = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last, "200 OK", "nginx answers over TLS");

    // /metrics is for Prometheus on the instances, not for the internet.
    let r = client
        .get(format!("{public_url}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // nginx's request id is the one the instance logs and answers with.
    let r = client
        .get(format!("{public_url}/healthz"))
        .send()
        .await
        .unwrap();
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(request_id.len(), 32, "nginx's $request_id: {request_id}");

    // Plain HTTP only redirects to HTTPS.
    let r = client
        .get(format!("http://localhost:{http_port}/library"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 301);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("https://localhost"), "{location}");

    // Signing in over HTTPS gives a Secure session cookie, and the audit log names the client.
    a.user("admin@example.com", assetport::accounts::users::Role::Admin)
        .await;
    let browser = Browser {
        base: public_url.clone(),
        client: client.clone(),
    };
    let r = browser.login("admin@example.com", PASSWORD).await;
    assert_eq!(r.status(), 303, "signed in through nginx");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_lowercase();
    assert!(cookie.contains("secure"), "{cookie}");
    assert!(r.headers().contains_key("strict-transport-security"));
    let ip: String = sqlx::query("SELECT ip FROM events WHERE kind = 'login'")
        .fetch_one(&a.state.db.pool)
        .await
        .unwrap()
        .get("ip");
    assert_eq!(
        ip, "127.0.0.2",
        "the client, not nginx and not the forged header"
    );

    // A 24 MiB upload streams through nginx to S3 and comes back whole and in ranges.
    let account = a
        .user("ops@example.com", assetport::accounts::users::Role::Admin)
        .await;
    let admin = Api {
        base: public_url.clone(),
        client: client.clone(),
        ..a.api_for(&account).await
    };
    let folder = admin.folder(None, "Launch").await;
    let bytes: Vec<u8> = (0..24 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let id = admin.published(&folder, "film.mov", bytes.clone()).await;
    let r = admin.get(&format!("/assets/{id}/original")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(sha256_hex(&r.bytes().await.unwrap()), sha256_hex(&bytes));
    let r = admin
        .get_with(
            &format!("/assets/{id}/original"),
            &[("range", "bytes=10000000-10000099")],
        )
        .await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        &r.bytes().await.unwrap()[..],
        &bytes[10_000_000..10_000_100]
    );

    // A share link works through nginx with its privacy headers intact.
    let link = admin.create_link(json!({ "asset_ids": [id] })).await;
    assert!(
        link.url.starts_with(&public_url),
        "links use the public URL"
    );
    let visitor = Browser {
        base: public_url.clone(),
        client: client.clone(),
    };
    let r = visitor.get(&link.path).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");

    // Both instances took requests.
    for _ in 0..10 {
        assert_eq!(admin.get(&format!("/assets/{id}")).await.status(), 200);
    }
    let log = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    for instance in [addr(&a.base), addr(&b.base)] {
        assert!(
            log.contains(&format!("upstream={instance}")),
            "{instance} served requests:\n{log}"
        );
    }
    assert!(
        log.contains(&format!("id={request_id}")),
        "the request id is in nginx's log"
    );
    let token = link.path.trim_start_matches("/s/");
    assert!(
        !log.contains(token),
        "share tokens stay out of the access log"
    );
    assert!(
        log.contains("\"GET /s/[token]\""),
        "link visits are logged, masked"
    );

    // One instance goes away: nginx sends everything to the other, nobody notices.
    b.stop().await;
    for _ in 0..10 {
        assert_eq!(admin.get(&format!("/assets/{id}")).await.status(), 200);
        assert_eq!(visitor.get(&link.path).await.status(), 200);
    }
    drop(nginx);
}
