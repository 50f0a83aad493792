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
    /// Where the brand's logo is kept: it travels inside each mail's HTML part.
    storage: crate::storage::Storage,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// One message to one recipient: its text, and an HTML part made from it
/// (`brand::mail_html`), as `multipart/alternative`.
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: String,
    pub extras: Extras<'a>,
    /// The address the mail exists for, shown as a button in the HTML part: (label, url).
    pub button: Option<(&'a str, &'a str)>,
}

/// What a mail may carry besides its words.
#[derive(Default)]
pub struct Extras<'a> {
    /// A one-click unsubscribe address (digests): sent as `List-Unsubscribe` with
    /// `List-Unsubscribe-Post` (RFC 8058), so mail programs can offer their own button.
    pub unsubscribe: Option<&'a str>,
    /// Who answers a reply: the person who shared or decided, not the portal's address.
    pub reply_to: Option<Mailbox>,
    /// Pictures of the assets the mail names, shown in the HTML part (inline parts).
    pub pictures: Vec<Picture>,
    /// Files sent along.
    pub attachments: Vec<Attachment>,
}

/// `name <email>` as a mailbox for Reply-To, `None` if the address does not parse.
pub fn mailbox(name: &str, email: &str) -> Option<Mailbox> {
    let name = name.trim();
    Some(Mailbox::new(
        (!name.is_empty()).then(|| name.to_string()),
        email.parse().ok()?,
    ))
}

/// A picture shown inside a mail.
#[derive(Clone, Debug)]
pub struct Picture {
    pub caption: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
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
        storage: crate::storage::Storage,
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
            storage,
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
        let extras = Extras {
            unsubscribe,
            ..Extras::default()
        };
        self.send_kind_with(to, kind, vars, extras).await
    }

    /// `send_kind`, with a reply-to, pictures or files. The kind's `{link}`, when it has one,
    /// is the HTML part's button.
    pub async fn send_kind_with(
        &self,
        to: &str,
        kind: &crate::brand::mail::Kind,
        vars: &[(&str, &str)],
        extras: Extras<'_>,
    ) -> anyhow::Result<()> {
        let brand = self.brand.get(&self.db).await;
        let mut all = vars.to_vec();
        all.push(("portal", brand.name.as_str()));
        let (subject, body) = crate::brand::mail::render(&brand.mail_templates, kind, &all);
        let link = vars
            .iter()
            .find(|(k, v)| *k == "link" && v.starts_with("http"))
            .map(|(_, v)| *v);
        let label = crate::brand::mail_html::button_label(kind.key);
        self.send(Mail {
            to,
            subject: &subject,
            body,
            extras,
            button: link.map(|l| (label, l)),
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
        use lettre::message::{Attachment as Part, MultiPart, SinglePart};
        let extras = mail.extras;
        // The logo travels with the mail; a logo that cannot be read leaves the portal's name.
        let logo = match &brand.logo {
            Some(image) => self
                .logo(image)
                .await
                .map(|b| (b, image.content_type.clone())),
            None => None,
        };
        let pictures: Vec<(String, String)> = extras
            .pictures
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("picture{}", i + 1), p.caption.clone()))
            .collect();
        let html = crate::brand::mail_html::html(
            &brand,
            &mail.body,
            &crate::brand::mail_html::Layout {
                button: mail.button,
                logo_cid: logo.as_ref().map(|_| "logo"),
                pictures: &pictures,
            },
        );
        let mut text = mail.body;
        if !brand.mail_footer.is_empty() {
            text = format!("{}\n\n-- \n{}\n", text.trim_end(), brand.mail_footer);
        }
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(from)
            .to(mail.to.parse().context("recipient address")?)
            .subject(mail.subject)
            .message_id(Some(format!("<{}@{domain}>", crate::db::new_id())))
            .date_now();
        if let Some(r) = extras.reply_to {
            builder = builder.reply_to(r);
        }
        if let Some(url) = extras.unsubscribe {
            builder = builder
                .header(ListUnsubscribe(url.to_string()))
                .header(ListUnsubscribePost);
        }
        // The HTML and what it shows, related: no image is fetched from anywhere.
        let mut related = MultiPart::related().singlepart(SinglePart::html(html));
        if let Some((bytes, content_type)) = logo {
            let kind = ContentType::parse(&content_type)?;
            related = related.singlepart(Part::new_inline("logo".into()).body(bytes, kind));
        }
        for ((cid, _), p) in pictures.iter().zip(extras.pictures) {
            let kind = ContentType::parse(&p.content_type)?;
            related = related.singlepart(Part::new_inline(cid.clone()).body(p.bytes, kind));
        }
        let alternative = MultiPart::alternative()
            .singlepart(SinglePart::plain(text))
            .multipart(related);
        let message = if extras.attachments.is_empty() {
            builder.multipart(alternative)
        } else {
            let mut parts = MultiPart::mixed().multipart(alternative);
            for a in extras.attachments {
                let kind = ContentType::parse(&a.content_type)
                    .unwrap_or(ContentType::parse("application/octet-stream")?);
                parts = parts.singlepart(Part::new(a.filename).body(a.bytes, kind));
            }
            builder.multipart(parts)
        }
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

impl Mailer {
    /// The logo's bytes (a few hundred KiB at most: the branding page limits them).
    async fn logo(&self, image: &crate::brand::Image) -> Option<Vec<u8>> {
        use futures_util::TryStreamExt;
        let key = format!("brand/logo-{}", image.version);
        let mut body = self.storage.get(&key, None).await.ok()?;
        let mut out = Vec::new();
        while let Some(chunk) = body.try_next().await.ok()? {
            out.extend_from_slice(&chunk);
            if out.len() > 2 * 1024 * 1024 {
                return None;
            }
        }
        Some(out)
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
