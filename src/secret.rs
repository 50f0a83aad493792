//! The secret that signs link cookies and the like. Every instance must use the same one
//! (SPEC §5), so unless `ASSETPORT_SECRET` sets it, it lives in the database: the first
//! instance to start generates it, the others read it. An older install's secret file in the
//! data dir is adopted, so cookies it signed stay valid.
use crate::config::Config;
use crate::db::{self, Db};
use crate::secret_string::SecretString;

const SETTING: &str = "secret";

pub async fn shared(config: &Config, db: &Db) -> anyhow::Result<SecretString> {
    if let Some(s) = &config.secret {
        return Ok(s.clone());
    }
    if let Some(s) = db::get_setting(db, SETTING).await? {
        return Ok(s.into());
    }
    let candidate = match std::fs::read_to_string(config.data_dir.join("secret")) {
        Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
        _ => crate::token::random_hex(32),
    };
    // Instances starting together race here: the first insert wins and everyone reads it.
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(SETTING)
        .bind(&candidate)
        .execute(&db.pool)
        .await?;
    db::get_setting(db, SETTING)
        .await?
        .map(SecretString::from)
        .ok_or_else(|| anyhow::anyhow!("the shared secret could not be stored"))
}
