//! Outgoing email (SPEC §5): through SMTP when `ASSETPORT_SMTP_URL` is set, otherwise written as
//! `.eml` files into `data/outbox`, so a fresh install can "send" mail and a person can read it.
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
    from: Mailbox,
    /// The portal's name (as the sender's name), the footer every mail ends with and the
    /// admin's templates; refreshed from `db` like pages do, since mail is often sent by
    /// background jobs on an instance that serves no pages.
    brand: Arc<crate::brand::Cache>,
    db: crate::db::Db,
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
    /// A one-click unsubscribe address (digests): sent as `List-Unsubscribe` with
    /// `List-Unsubscribe-Post` (RFC 8058), so mail programs can offer their own button.
    pub unsubscribe: Option<&'a str>,
    /// Files sent along (a recall notice's thumbnails); none makes a plain text message.
    pub attachments: Vec<Attachment>,
}

/// A file attached to a mail.
#[derive(Clone, Debug)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

impl Mailer {
    /// `smtp_url` as lettre reads it: `smtp://host:port` (plain, `?tls=required` for STARTTLS)
    /// or `smtps://user:pass@host` (implicit TLS). Without it, mail goes to `outbox`.
    pub fn new(
        smtp_url: Option<&str>,
        outbox: PathBuf,
        from: &str,
        brand: Arc<crate::brand::Cache>,
        db: crate::db::Db,
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
            db,
        })
    }

    /// Sends one of the admin-editable kinds (`brand::mail`), filled with `vars` and the portal's
    /// name as `{portal}`.
    pub async fn send_kind(
        &self,
        to: &str,
        kind: &crate::brand::mail::Kind,
        vars: &[(&str, &str)],
        unsubscribe: Option<&str>,
    ) -> anyhow::Result<()> {
        self.send_kind_with(to, kind, vars, unsubscribe, Vec::new())
            .await
    }

    /// `send_kind`, with files attached.
    pub async fn send_kind_with(
        &self,
        to: &str,
        kind: &crate::brand::mail::Kind,
        vars: &[(&str, &str)],
        unsubscribe: Option<&str>,
        attachments: Vec<Attachment>,
    ) -> anyhow::Result<()> {
        let brand = self.brand.get(&self.db).await;
        let mut all = vars.to_vec();
        all.push(("portal", brand.name.as_str()));
        let (subject, body) = crate::brand::mail::render(&brand.mail_templates, kind, &all);
        self.send(Mail {
            to,
            subject: &subject,
            body,
            unsubscribe,
            attachments,
        })
        .await
    }

    pub async fn send(&self, mail: Mail<'_>) -> anyhow::Result<()> {
        let brand = self.brand.get(&self.db).await;
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
        let mut builder = Message::builder()
            .from(from)
            .to(mail.to.parse().context("recipient address")?)
            .subject(mail.subject);
        if let Some(url) = mail.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(url.to_string()))
                .header(ListUnsubscribePost);
        }
        let message = if mail.attachments.is_empty() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(body)
                .context("building the message")?
        } else {
            use lettre::message::{Attachment as Part, MultiPart, SinglePart};
            let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(body));
            for a in mail.attachments {
                let kind = ContentType::parse(&a.content_type)
                    .unwrap_or(ContentType::parse("application/octet-stream")?);
                parts = parts.singlepart(Part::new(a.filename).body(a.bytes, kind));
            }
            builder.multipart(parts).context("building the message")?
        };
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
