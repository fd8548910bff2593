//! E-mail to buyers through the operator's SMTP server (lettre 0.11, rustls):
//! queued in the transaction of its cause ([`enqueue_in`], only while SMTP
//! is set), sent by the scheduler ([`send_due`]) with the backoff of
//! `KEYSAT_EMAIL_RETRY_SCHEDULE`, dead-lettered (`failed`) after the last
//! attempt or at once when the server refuses for good (5xx).
//!
//! Every mail says what the DM says: its text comes from the same builders
//! (`messages.rs`, `buyer_notices.rs`, `refunds.rs`), as plain text with an
//! HTML alternative (askama, `templates/email/`) and, for a key, its `.lic`
//! file attached. No tracking pixel, no rewritten link.

use std::time::Duration;

use askama::Template;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

use crate::db::email::{Email, EmailKind, NewEmail};
use crate::db::{self, Tx};
use crate::domain::email::{Security, Smtp};
use crate::domain::now_unix;

use super::buyer_notices::{key_changed_text, lic_notes, until, KeyChange, RENEWAL_DUE};
use super::messages::{license_text, recovery_text, MAX_RECOVERED_KEYS};
use super::Delivery;
use crate::domain::license::lic_file;

/// E-mails taken per run.
const BATCH: i64 = 20;
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Queues an e-mail in the caller's transaction when e-mail is on (SMTP
/// set); otherwise nothing. Answers whether one was queued.
pub async fn enqueue_in(tx: &mut Tx, now: i64, m: NewEmail<'_>) -> Result<bool, sqlx::Error> {
    if db::email::smtp(&mut **tx).await?.is_none() {
        return Ok(false);
    }
    db::email::enqueue(tx, now, m).await?;
    Ok(true)
}

/// Queues the mail bringing a license's key (as issued, or `change`d) to `to`.
pub async fn enqueue_key(
    tx: &mut Tx,
    now: i64,
    license_id: Uuid,
    to: &str,
    change: Option<KeyChange>,
) -> Result<bool, sqlx::Error> {
    let notice = change.map(KeyChange::as_str);
    enqueue_in(tx, now, NewEmail { kind: EmailKind::License, to, license_id: Some(license_id), notice, text: None })
        .await
}

/// Queues a renewal reminder (its text built by `renewal_due_text`).
pub async fn enqueue_renewal_due(
    tx: &mut Tx,
    now: i64,
    license_id: Uuid,
    to: &str,
    text: &str,
) -> Result<bool, sqlx::Error> {
    let m = NewEmail {
        kind: EmailKind::License,
        to,
        license_id: Some(license_id),
        notice: Some(RENEWAL_DUE),
        text: Some(text),
    };
    enqueue_in(tx, now, m).await
}

/// Queues a refund or dispute notice (its text built by `buyer_notice_text`).
pub async fn enqueue_refund(
    tx: &mut Tx,
    now: i64,
    license_id: Option<Uuid>,
    to: &str,
    text: &str,
) -> Result<bool, sqlx::Error> {
    enqueue_in(tx, now, NewEmail { kind: EmailKind::Refund, to, license_id, notice: None, text: Some(text) }).await
}

/// A mail ready to go.
pub struct Mail {
    pub subject: String,
    pub text: String,
    /// `(file name, content)` of the `.lic` file.
    pub attachment: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "email/message.txt")]
struct PlainMail<'a> {
    text: &'a str,
    seller: &'a str,
}

/// A paragraph of the HTML alternative: a key (or a block of them) in a
/// monospace box, anything else as text.
struct Paragraph<'a> {
    text: &'a str,
}

impl Paragraph<'_> {
    fn is_code(&self) -> bool {
        self.text.starts_with("LIC1")
    }
}

#[derive(Template)]
#[template(path = "email/message.html")]
struct HtmlMail<'a> {
    subject: &'a str,
    paragraphs: Vec<Paragraph<'a>>,
    seller: &'a str,
}

/// The MIME message: plain text and HTML alternative, the `.lic` attached.
pub fn build(smtp: &Smtp, seller: &str, to: &str, mail: &Mail) -> Result<Message, String> {
    let from = Mailbox::new(
        Some(seller.to_string()),
        smtp.from.parse().map_err(|e| format!("the sender address '{}' is refused: {e}", smtp.from))?,
    );
    let to: Mailbox = to.parse().map_err(|e| format!("'{to}' is not an address mail can be sent to: {e}"))?;
    let plain = PlainMail { text: &mail.text, seller }.render().map_err(|e| e.to_string())?;
    let paragraphs = mail.text.split("\n\n").map(|text| Paragraph { text }).collect();
    let html = HtmlMail { subject: &mail.subject, paragraphs, seller }.render().map_err(|e| e.to_string())?;
    let body = MultiPart::alternative_plain_html(plain, html);
    let builder = Message::builder().from(from).to(to).subject(mail.subject.clone()).message_id(None);
    let built = match &mail.attachment {
        Some((name, content)) => {
            let kind = ContentType::parse("application/octet-stream").expect("a valid content type");
            let file = Attachment::new(name.clone()).body(content.clone(), kind);
            builder.multipart(MultiPart::mixed().multipart(body).singlepart(file))
        }
        None => builder.multipart(body),
    };
    built.map_err(|e| e.to_string())
}

/// A transport for the operator's server (a connection per send).
pub fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let builder = match smtp.security {
        Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        Security::Starttls => {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host).map_err(|e| e.to_string())?
        }
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host).map_err(|e| e.to_string())?,
    };
    let mut builder = builder.port(smtp.port).timeout(Some(SMTP_TIMEOUT));
    if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// Why a send failed, and whether trying again may help.
pub struct SendError {
    pub message: String,
    pub permanent: bool,
}

/// Sends one message; answers what the server said ("250 2.0.0 queued as …").
pub async fn send(transport: &AsyncSmtpTransport<Tokio1Executor>, message: Message) -> Result<String, SendError> {
    match transport.send(message).await {
        Ok(r) => Ok(format!("{} {}", r.code(), r.message().collect::<Vec<_>>().join(" ")).trim().to_string()),
        Err(e) => Err(SendError { message: format!("the SMTP server: {e}"), permanent: e.is_permanent() }),
    }
}

/// The test mail of `POST /v1/admin/email/test`, sent now.
pub async fn send_test(s: &Delivery, smtp: &Smtp, to: &str) -> Result<String, String> {
    let seller = s.seller_name();
    let mail = Mail {
        subject: format!("Test e-mail from {seller}"),
        text: format!(
            "This is a test e-mail from Keysat, the licensing service of {seller}. E-mail works: buyers who give \
             an e-mail address will get their license keys and notices this way."
        ),
        attachment: None,
    };
    let message = build(smtp, &seller, to, &mail)?;
    send(&transport(smtp)?, message).await.map_err(|e| e.message)
}

/// Sends every e-mail whose time has come (nothing while SMTP is off: they wait).
pub async fn send_due(s: &Delivery) {
    let Ok(_running) = s.email_run.try_lock() else {
        return; // the previous run is still going
    };
    let (smtp, due) = match load(s).await {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "reading due e-mails");
            return;
        }
    };
    let transport = match transport(&smtp) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "the SMTP settings cannot be used");
            return;
        }
    };
    for m in due {
        if let Err(e) = send_one(s, &smtp, &transport, &m).await {
            tracing::warn!(error = %e, email = %m.id, "recording an e-mail delivery");
        }
    }
}

async fn load(s: &Delivery) -> Result<Option<(Smtp, Vec<Email>)>, sqlx::Error> {
    let Some(smtp) = db::email::smtp(&s.db.read).await? else { return Ok(None) };
    let due = db::email::due(&s.db.read, now_unix(), BATCH).await?;
    Ok((!due.is_empty()).then_some((smtp, due)))
}

#[tracing::instrument(skip_all, fields(email = %m.id, kind = %m.kind, license = ?m.license_id))]
async fn send_one(
    s: &Delivery,
    smtp: &Smtp,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    m: &Email,
) -> Result<(), sqlx::Error> {
    let now = now_unix();
    let seller = s.seller_name();
    let Some(mail) = render(s, m).await? else {
        return db::email::mark_failed(&s.db.write, &m.id, now, "nothing to send any more", None).await;
    };
    let message = match build(smtp, &seller, &m.recipient, &mail) {
        Ok(message) => message,
        Err(e) => return db::email::mark_failed(&s.db.write, &m.id, now, &e, None).await,
    };
    match send(transport, message).await {
        Ok(reply) => {
            tracing::info!(email = %m.id, kind = %m.kind, %reply, "e-mail delivered");
            db::email::mark_delivered(&s.db.write, &m.id, now_unix(), &reply).await
        }
        Err(error) => {
            let attempts = u32::try_from(m.attempts + 1).unwrap_or(u32::MAX);
            let next = if error.permanent {
                None
            } else {
                s.email_retry.after(attempts).map(|d| now_unix() + d.as_secs() as i64)
            };
            if next.is_none() {
                tracing::warn!(email = %m.id, error = %error.message, "giving up on an e-mail");
            } else {
                tracing::debug!(email = %m.id, error = %error.message, "e-mail not delivered yet");
            }
            db::email::mark_failed(&s.db.write, &m.id, now_unix(), &error.message, next).await
        }
    }
}

/// The mail's subject, text and attachment; `None` when there is nothing to send any more.
async fn render(s: &Delivery, m: &Email) -> Result<Option<Mail>, sqlx::Error> {
    let sender = s.sender();
    let seller = &sender.name;
    let mail = |subject: String, text: String| Mail { subject, text, attachment: None };
    Ok(match (m.kind.as_str(), m.notice.as_deref(), &m.text) {
        ("license", Some(RENEWAL_DUE), Some(text)) => {
            Some(mail(format!("Your subscription from {seller}: time to renew"), text.clone()))
        }
        ("license", notice, _) => {
            let Some(id) = &m.license_id else { return Ok(None) };
            let Some(k) = db::nostr::key_line(&s.db.read, id).await? else { return Ok(None) };
            let slug = db::email::product_slug(&s.db.read, id).await?.unwrap_or_else(|| "license".to_string());
            let (subject, text) = match notice.and_then(KeyChange::parse) {
                Some(change) => (format!("Your new license key from {seller}"), key_changed_text(&sender, change, &k)),
                None => (format!("Your license key from {seller}"), license_text(&sender, &k)),
            };
            let standing = format!("Valid until: {}", until(k.expires_at));
            let notes = lic_notes(&sender, &k.product_name, k.invoice_id.as_deref(), standing);
            let file = lic_file(&k.license_key, &notes);
            Some(Mail { subject, text, attachment: Some((format!("{slug}.lic"), file)) })
        }
        ("recovery", _, _) => {
            let keys = db::email::keys_of_email(&s.db.read, &m.recipient, MAX_RECOVERED_KEYS).await?;
            if keys.is_empty() {
                return Ok(None);
            }
            Some(mail(format!("Your license keys from {seller}"), recovery_text(&sender, &keys, "address")))
        }
        (_, _, Some(text)) => Some(mail(format!("About your purchase from {seller}"), text.clone())),
        _ => None,
    })
}
