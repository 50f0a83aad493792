//! Outgoing email (SPEC §5): through SMTP when `ASSETPORT_SMTP_URL` is set, otherwise written as
//! `.eml` files into `data/outbox`, so a fresh install can "send" mail and a person can read it.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
    /// The portal's name (as the sender's name) and the footer every mail ends with.
    brand: Arc<crate::brand::Cache>,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// One message to one recipient, plain text.
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: String,
}

impl Mailer {
    /// `smtp_url` as lettre reads it: `smtp://host:port` (plain, `?tls=required` for STARTTLS)
    /// or `smtps://user:pass@host` (implicit TLS). Without it, mail goes to `outbox`.
    pub fn new(
        smtp_url: Option<&str>,
        outbox: PathBuf,
        from: &str,
        brand: Arc<crate::brand::Cache>,
    ) -> anyhow::Result<Mailer> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("ASSETPORT_SMTP_URL")?
                    .build(),
            ),
            None => Transport::Outbox(outbox),
        };
        Ok(Mailer {
            transport: Arc::new(transport),
            from: from.parse().context("sender address")?,
            brand,
        })
    }

    pub async fn send(&self, mail: Mail<'_>) -> anyhow::Result<()> {
        let brand = self.brand.cached();
        let mut from = self.from.clone();
        // A renamed portal sends as itself, unless the operator named the sender explicitly.
        if brand.name != crate::brand::DEFAULT_NAME
            && from
                .name
                .as_deref()
                .is_none_or(|n| n == crate::brand::DEFAULT_NAME)
        {
            from.name = Some(brand.name.clone());
        }
        let mut body = mail.body;
        if !brand.mail_footer.is_empty() {
            body = format!("{}\n\n-- \n{}\n", body.trim_end(), brand.mail_footer);
        }
        let message = Message::builder()
            .from(from)
            .to(mail.to.parse().context("recipient address")?)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .context("building the message")?;
        match &*self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("SMTP delivery")?;
            }
            Transport::Outbox(dir) => write_eml(dir, &message.formatted()).await?,
        }
        Ok(())
    }
}

/// Written under a temporary name and renamed, so a reader never sees half a message.
async fn write_eml(dir: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("creating {}", dir.display()))?;
    let name = crate::db::new_id();
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, bytes)
        .await
        .context("writing mail")?;
    tokio::fs::rename(&tmp, dir.join(format!("{name}.eml")))
        .await
        .context("writing mail")?;
    Ok(())
}
