//! Alert emails: the [`Mailer`] that sends one message, its SMTP implementation ([`SmtpMailer`], lettre
//! over tokio, STARTTLS or implicit TLS), and [`deliver_due`], which claims the alerts whose email is
//! due (see `store::alerts`), sends them, and records each outcome. Safe to run in every process that
//! shares the database: a claimed alert is sent by its claimer only.
//!
//! Secrets: the SMTP URL may hold a password; it is never part of an error, a log line or a stored
//! alert (errors carry the mail server's answer only).

use crate::alerts::{Alert, EmailStatus};
use crate::store::{self, now_ms, Store, StoreError};
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

/// Why a message was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MailError {
    /// What went wrong, as the mail server or the network said it (never a password).
    pub message: String,
    /// True when trying again cannot help (a 5xx answer, a malformed address).
    pub permanent: bool,
}

impl MailError {
    fn permanent(message: impl Into<String>) -> MailError {
        MailError { message: message.into(), permanent: true }
    }
}

/// Sends one plain-text message.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `body` to `to` with `subject`; `Ok` once the mail server accepted it.
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError>;
}

/// A [`Mailer`] over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

/// How long one SMTP exchange may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

impl SmtpMailer {
    /// A mailer for `url` sending as `from`.
    ///
    /// `url`: `smtp://host[:port]` (plain; add `?tls=required` for STARTTLS), `smtps://host[:port]`
    /// (implicit TLS), with `user:password@` for authentication. Errors name the setting and the
    /// problem, never the URL (it may hold a password).
    pub fn new(url: &str, from: &str) -> Result<SmtpMailer, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| MailError::permanent(format!("PROVISIO_SMTP_FROM: not an email address ({e}); use e.g. provisio@example.com")))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| {
                MailError::permanent(format!(
                    "PROVISIO_SMTP_URL: not a usable SMTP URL ({}); use smtp://host:port, smtp://host:587?tls=required or smtps://user:password@host",
                    e.to_string().replace(url, "<url>")
                ))
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(SmtpMailer { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|e| MailError::permanent(format!("the notification email '{to}' is not an address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| MailError::permanent(format!("the message could not be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(MailError { message: format!("the mail server did not take the message: {e}"), permanent: e.is_permanent() }),
        }
    }
}

/// What one [`deliver_due`] pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Emails the mail server accepted.
    pub sent: u32,
    /// Failed attempts that will be tried again.
    pub retrying: u32,
    /// Emails given up.
    pub failed: u32,
}

/// How long a claimed alert stays with its sender before another process may take it.
pub const CLAIM_MS: i64 = 120_000;

/// Claims the alerts whose email is due (at most 20), sends each through `mailer`, and records the
/// outcome (sent, tried again later with backoff, or given up). `portal_url`, when known, adds a
/// link to the app's provisioning page.
pub async fn deliver_due(store: &Store, mailer: &dyn Mailer, owner: &str, portal_url: Option<&str>) -> Result<DeliveryReport, StoreError> {
    let due = {
        let mut c = store.conn().await?;
        store::alerts::claim_due(&mut c, owner, now_ms(), CLAIM_MS, 20).await?
    };
    let mut report = DeliveryReport::default();
    for alert in due {
        let Some(to) = alert.recipient.clone() else { continue };
        let outcome = mailer.send(&to, &alert.subject, &email_body(&alert, portal_url)).await;
        let mut c = store.conn().await?;
        match outcome {
            Ok(()) => {
                store::alerts::mark_sent(&mut c, alert.id, owner).await?;
                report.sent += 1;
            }
            Err(e) => match store::alerts::mark_failed(&mut c, alert.id, owner, &e.message, e.permanent).await? {
                EmailStatus::Failed => {
                    tracing::warn!(alert = %alert.id, app = %alert.app_id, error = %e, "alert email given up");
                    report.failed += 1;
                }
                _ => {
                    tracing::info!(alert = %alert.id, app = %alert.app_id, error = %e, "alert email failed; will try again");
                    report.retrying += 1;
                }
            },
        }
    }
    Ok(report)
}

/// The email's text: the alert's body, then the link to the app's provisioning page.
pub fn email_body(alert: &Alert, portal_url: Option<&str>) -> String {
    let mut body = alert.body.clone();
    if let Some(base) = portal_url {
        body.push_str(&format!("\nOpen the app's provisioning page: {}/apps/{}/provisioning\n", base.trim_end_matches('/'), alert.app_id));
    }
    body.push_str("\n-- \nSent by Provisio because \"send an email when a failure occurs\" is on for this app.\n");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_name_the_variable_and_never_echo_the_url() {
        let e = SmtpMailer::new("ftp://user:hunter2@mail.example", "provisio@example.com").unwrap_err();
        assert!(e.message.starts_with("PROVISIO_SMTP_URL"), "{e}");
        assert!(!e.message.contains("hunter2"), "{e}");
        let e = SmtpMailer::new("smtp://127.0.0.1:25", "not an address").unwrap_err();
        assert!(e.message.starts_with("PROVISIO_SMTP_FROM"), "{e}");
        assert!(SmtpMailer::new("smtp://127.0.0.1:2525", "Provisio <provisio@example.com>").is_ok());
    }

    #[test]
    fn the_email_links_to_the_app_when_the_portal_url_is_known() {
        let alert = Alert {
            id: crate::alerts::AlertId(7),
            app_id: "a1".into(),
            kind: crate::alerts::AlertKind::Quarantined,
            subject: "s".into(),
            body: "Body.\n".into(),
            recipient: Some("ops@example.com".into()),
            created_at: chrono::Utc::now(),
            email_status: EmailStatus::Pending,
            email_attempts: 0,
            email_error: None,
            email_sent_at: None,
        };
        let b = email_body(&alert, Some("https://provisio.example/"));
        assert!(b.starts_with("Body.\n") && b.contains("https://provisio.example/apps/a1/provisioning"), "{b}");
        assert!(!email_body(&alert, None).contains("http"));
    }
}
