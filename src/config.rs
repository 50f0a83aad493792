//! Configuration: defaults that need nothing installed, then `assetport.toml`, then environment
//! variables (SPEC §5). Loaded once into a typed struct that the app and the CLI share.
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::secret_string::SecretString;
use crate::web::client::TrustedProxies;

/// `Debug` is safe to log: every secret-bearing field is a [`SecretString`] and prints `***`.
/// (S3 credentials are not here: object_store reads the standard `AWS_*` variables itself.)
#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` or `postgres://…` (may carry a password).
    pub database_url: SecretString,
    /// `file://…` (later `s3://…`).
    pub storage: String,
    pub bind: String,
    /// The URL put into links and emails; `https://` turns on `Secure` cookies.
    pub public_url: String,
    /// No public URL was configured: it follows the address actually bound (so port 0 works).
    pub public_url_from_bind: bool,
    /// Shared by all instances; generated once into the data dir when unset.
    pub secret: Option<SecretString>,
    /// May carry the SMTP password (`smtps://user:pass@host`).
    pub smtp_url: Option<SecretString>,
    /// Where generated state lives (secret, outbox, default database and blobs).
    pub data_dir: PathBuf,
    /// Largest accepted upload body, in bytes.
    pub max_upload_bytes: u64,
    /// The longest a share link may last, in days (`ASSETPORT_MAX_LINK_DAYS`).
    pub max_link_days: i64,
    /// Sender of every email (`ASSETPORT_MAIL_FROM`).
    pub mail_from: String,
    /// Background job workers per instance (`ASSETPORT_JOB_WORKERS`); 0 runs none.
    pub job_workers: usize,
    /// The program run (as `<renderer> render …`) to decode uploads in a separate, limited
    /// process: this very binary unless `ASSETPORT_RENDERER` says otherwise (tests point it at
    /// the built `assetport`, since their own executable is the test harness).
    pub renderer: PathBuf,
    /// Load balancers whose `X-Forwarded-For` names the client (`ASSETPORT_TRUSTED_PROXIES`:
    /// addresses or CIDR ranges); none by default, so the header is ignored.
    pub trusted_proxies: TrustedProxies,
    /// When set, `GET /metrics` needs `Authorization: Bearer <this>` (`ASSETPORT_METRICS_TOKEN`).
    pub metrics_token: Option<SecretString>,
    /// Database connections this instance may hold (`ASSETPORT_DB_POOL`); unset: 8 for SQLite,
    /// 10 for PostgreSQL. With many instances, their sum must stay under the server's limit.
    pub db_pool: Option<u32>,
    /// The hour (UTC, 0–23) from which each day's digests go out (`ASSETPORT_DIGEST_HOUR`,
    /// default 7); `off` sends none on a schedule (admins can still send them from the jobs page).
    pub digest_hour: Option<u8>,
    /// Webhooks may be delivered to loopback, private, link-local and other non-public addresses
    /// (`ASSETPORT_WEBHOOKS_ALLOW_PRIVATE=true`); off by default, so an admin's endpoint cannot
    /// reach into the portal's own network (see `webhooks::guard`).
    pub webhooks_allow_private: bool,
    /// How far back a completed download makes its holder hear of a recall, in days
    /// (`ASSETPORT_RECALL_DAYS`, default 365).
    pub recall_days: i64,
    /// How long before an upload link with delivery slots ends its senders are reminded of
    /// slots still empty, in hours (`ASSETPORT_SLOT_REMINDER_HOURS`, default 48).
    pub slot_reminder_hours: i64,
    /// How long an invitation's set-password link works, in days (`ASSETPORT_INVITE_DAYS`,
    /// default 7).
    pub invite_days: i64,
    /// Identity providers from the file's `[[sso]]` tables (issue 20), saved at start; each
    /// one's client secret may instead come from `ASSETPORT_SSO_<ID>_CLIENT_SECRET`.
    pub sso: Vec<crate::sso::providers::ProviderInput>,
}

/// The optional file; every key mirrors an `ASSETPORT_*` variable.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<SecretString>,
    storage: Option<String>,
    bind: Option<String>,
    public_url: Option<String>,
    secret: Option<SecretString>,
    smtp_url: Option<SecretString>,
    data_dir: Option<PathBuf>,
    max_upload_bytes: Option<u64>,
    max_link_days: Option<i64>,
    mail_from: Option<String>,
    job_workers: Option<usize>,
    renderer: Option<PathBuf>,
    trusted_proxies: Option<String>,
    metrics_token: Option<SecretString>,
    db_pool: Option<u32>,
    digest_hour: Option<String>,
    webhooks_allow_private: Option<bool>,
    recall_days: Option<i64>,
    slot_reminder_hours: Option<i64>,
    invite_days: Option<i64>,
    sso: Option<Vec<crate::sso::providers::ProviderInput>>,
}

impl Config {
    /// Defaults rooted at `data_dir`; used by tests and as the base of `load`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Config {
        let data_dir = data_dir.into();
        Config {
            database_url: format!("sqlite://{}", data_dir.join("assetport.db").display()).into(),
            storage: format!("file://{}", data_dir.join("blobs").display()),
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            public_url_from_bind: true,
            secret: None,
            smtp_url: None,
            data_dir,
            max_upload_bytes: 50 * 1024 * 1024 * 1024,
            max_link_days: 90,
            mail_from: "assetport <noreply@localhost>".into(),
            job_workers: 2,
            renderer: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("assetport")),
            trusted_proxies: TrustedProxies::default(),
            metrics_token: None,
            db_pool: None,
            digest_hour: Some(7),
            webhooks_allow_private: false,
            recall_days: 365,
            slot_reminder_hours: 48,
            invite_days: 7,
            sso: Vec::new(),
        }
    }

    /// Reads `assetport.toml` (or `ASSETPORT_CONFIG`) if present, then the environment.
    pub fn load() -> anyhow::Result<Config> {
        let path = std::env::var("ASSETPORT_CONFIG").unwrap_or_else(|_| "assetport.toml".into());
        let file = if Path::new(&path).exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
            toml::from_str::<FileConfig>(&text).with_context(|| format!("parsing {path}"))?
        } else {
            FileConfig::default()
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let secret_env = |k: &str| env(k).map(SecretString::from);
        let data_dir = env("ASSETPORT_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("./data"));
        let mut c = Config::with_data_dir(data_dir);
        let pick = |e: Option<String>, f: Option<String>, d: String| e.or(f).unwrap_or(d);
        c.database_url = secret_env("ASSETPORT_DATABASE_URL")
            .or(file.database_url)
            .unwrap_or(c.database_url);
        c.storage = pick(env("ASSETPORT_STORAGE"), file.storage, c.storage);
        c.bind = pick(env("ASSETPORT_BIND"), file.bind, c.bind);
        // Unset, the public URL follows the bind address, so links printed at start-up work.
        let bound = format!("http://{}", c.bind);
        let configured = env("ASSETPORT_PUBLIC_URL").or(file.public_url);
        c.public_url_from_bind = configured.is_none();
        c.public_url = configured.unwrap_or(bound);
        c.secret = secret_env("ASSETPORT_SECRET").or(file.secret);
        c.sso = file.sso.unwrap_or_default();
        for p in &mut c.sso {
            let key = format!(
                "ASSETPORT_SSO_{}_CLIENT_SECRET",
                p.id.to_ascii_uppercase().replace('-', "_")
            );
            if let Some(s) = secret_env(&key) {
                p.client_secret = Some(s);
            }
        }
        c.smtp_url = secret_env("ASSETPORT_SMTP_URL").or(file.smtp_url);
        if let Some(v) = env("ASSETPORT_MAX_UPLOAD_BYTES") {
            c.max_upload_bytes = v.parse().context("ASSETPORT_MAX_UPLOAD_BYTES")?;
        } else if let Some(v) = file.max_upload_bytes {
            c.max_upload_bytes = v;
        }
        if let Some(v) = env("ASSETPORT_MAX_LINK_DAYS") {
            c.max_link_days = v.parse().context("ASSETPORT_MAX_LINK_DAYS")?;
        } else if let Some(v) = file.max_link_days {
            c.max_link_days = v;
        }
        if c.max_link_days < 1 {
            anyhow::bail!("ASSETPORT_MAX_LINK_DAYS must be at least 1");
        }
        c.mail_from = pick(env("ASSETPORT_MAIL_FROM"), file.mail_from, c.mail_from);
        if let Some(v) = env("ASSETPORT_JOB_WORKERS") {
            c.job_workers = v.parse().context("ASSETPORT_JOB_WORKERS")?;
        } else if let Some(v) = file.job_workers {
            c.job_workers = v;
        }
        if let Some(v) = env("ASSETPORT_RENDERER")
            .map(PathBuf::from)
            .or(file.renderer)
        {
            c.renderer = v;
        }
        if let Some(v) = env("ASSETPORT_TRUSTED_PROXIES").or(file.trusted_proxies) {
            c.trusted_proxies = TrustedProxies::parse(&v)?;
        }
        c.metrics_token = secret_env("ASSETPORT_METRICS_TOKEN").or(file.metrics_token);
        if let Some(v) = env("ASSETPORT_DB_POOL") {
            c.db_pool = Some(v.parse().context("ASSETPORT_DB_POOL")?);
        } else {
            c.db_pool = file.db_pool;
        }
        if let Some(v) = env("ASSETPORT_DIGEST_HOUR").or(file.digest_hour) {
            c.digest_hour = match v.trim() {
                "off" => None,
                h => Some(
                    h.parse::<u8>()
                        .ok()
                        .filter(|h| *h < 24)
                        .context("ASSETPORT_DIGEST_HOUR must be an hour 0-23 or off")?,
                ),
            };
        }
        if let Some(v) = env("ASSETPORT_WEBHOOKS_ALLOW_PRIVATE") {
            c.webhooks_allow_private = match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => anyhow::bail!("ASSETPORT_WEBHOOKS_ALLOW_PRIVATE must be true or false"),
            };
        } else if let Some(v) = file.webhooks_allow_private {
            c.webhooks_allow_private = v;
        }
        if let Some(v) = env("ASSETPORT_INVITE_DAYS") {
            c.invite_days = v.trim().parse().context("ASSETPORT_INVITE_DAYS")?;
        } else if let Some(v) = file.invite_days {
            c.invite_days = v;
        }
        if !(1..=90).contains(&c.invite_days) {
            anyhow::bail!("ASSETPORT_INVITE_DAYS must be between 1 and 90");
        }
        if let Some(v) = env("ASSETPORT_RECALL_DAYS") {
            c.recall_days = v.trim().parse().context("ASSETPORT_RECALL_DAYS")?;
        } else if let Some(v) = file.recall_days {
            c.recall_days = v;
        }
        if !(1..=3650).contains(&c.recall_days) {
            anyhow::bail!("ASSETPORT_RECALL_DAYS must be between 1 and 3650");
        }
        if let Some(v) = env("ASSETPORT_SLOT_REMINDER_HOURS") {
            c.slot_reminder_hours = v.trim().parse().context("ASSETPORT_SLOT_REMINDER_HOURS")?;
        } else if let Some(v) = file.slot_reminder_hours {
            c.slot_reminder_hours = v;
        }
        if !(1..=24 * 365).contains(&c.slot_reminder_hours) {
            anyhow::bail!("ASSETPORT_SLOT_REMINDER_HOURS must be between 1 and 8760");
        }
        if c.db_pool == Some(0) {
            anyhow::bail!("ASSETPORT_DB_POOL must be at least 1");
        }
        c.public_url = c.public_url.trim_end_matches('/').to_string();
        // The CSRF check compares Origins with it (scheme, host, port).
        if crate::web::csrf::Origin::parse(&c.public_url).is_none() {
            anyhow::bail!("ASSETPORT_PUBLIC_URL must be an http:// or https:// URL");
        }
        Ok(c)
    }

    /// Cookies get `Secure` only when the public URL is HTTPS (SPEC §2.6).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `{:?}` of the configuration (a startup log line, a panic message) shows no secret.
    #[test]
    fn debug_prints_no_secret() {
        let mut c = Config::with_data_dir("/tmp/d");
        c.database_url = "postgres://app:db-password-1@db/assetport".into();
        c.secret = Some("signing-secret-2".into());
        c.smtp_url = Some("smtps://mailer:smtp-password-3@mail.example.com".into());
        c.metrics_token = Some("metrics-token-4".into());
        let printed = format!("{c:?} {c:#?}");
        for secret in [
            "db-password-1",
            "signing-secret-2",
            "smtp-password-3",
            "metrics-token-4",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("database_url: ***"), "{printed}");
    }
}
