//! Alerts: what an admin must hear about a provisioning job — it entered quarantine, it was turned Off
//! after four weeks in quarantine, or a cycle staged more deletions than the accidental-deletion
//! threshold allows. The engine raises an alert in the same transaction as the job state that caused
//! it; the portal and the API list them; when the app's settings ask for it ("send an email when a
//! failure occurs"), the alert is also emailed to the notification address (see `notify`).
//!
//! Pure data (no I/O): the texts are composed here so that the engine, the API and the email say the
//! same thing, and so that they can be tested without a database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The id of an alert (a database sequence).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertId(pub i64);

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AlertKind {
    /// The job entered quarantine (or its quarantine reason changed).
    Quarantined,
    /// The job stayed in quarantine for more than four weeks and was turned Off.
    TurnedOff,
    /// A cycle would disable or delete more accounts than the threshold; nothing was sent.
    DeletionsStaged,
}

impl AlertKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Quarantined => "quarantined",
            AlertKind::TurnedOff => "turnedOff",
            AlertKind::DeletionsStaged => "deletionsStaged",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "quarantined" => Some(AlertKind::Quarantined),
            "turnedOff" => Some(AlertKind::TurnedOff),
            "deletionsStaged" => Some(AlertKind::DeletionsStaged),
            _ => None,
        }
    }
}

/// Where the alert's email is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EmailStatus {
    /// No email was asked for (notifications off, or no address).
    None,
    /// To be sent (again, after a failed attempt, at `email_next_at`).
    Pending,
    /// The mail server accepted it.
    Sent,
    /// Given up: the mail server refused it for good, or every attempt failed.
    Failed,
}

impl EmailStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::None => "none",
            EmailStatus::Pending => "pending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(EmailStatus::None),
            "pending" => Some(EmailStatus::Pending),
            "sent" => Some(EmailStatus::Sent),
            "failed" => Some(EmailStatus::Failed),
            _ => None,
        }
    }
}

/// How many times an alert's email is tried before it is given up.
pub const MAX_EMAIL_ATTEMPTS: u32 = 6;

/// The wait before attempt `attempts + 1` after `attempts` failed ones: 1, 2, 4, 8, 16 minutes.
pub fn email_retry_delay_ms(attempts: u32) -> i64 {
    60_000 * (1i64 << attempts.saturating_sub(1).min(10))
}

/// An alert as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Its id.
    pub id: AlertId,
    /// The app whose job raised it.
    pub app_id: String,
    /// What happened.
    pub kind: AlertKind,
    /// One line: the app and what happened.
    pub subject: String,
    /// What happened, why, and what to do (plain text).
    pub body: String,
    /// The notification address it goes to, when an email was asked for.
    pub recipient: Option<String>,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// Where its email is.
    pub email_status: EmailStatus,
    /// Attempts made to send it.
    pub email_attempts: u32,
    /// Why the last attempt failed (the mail server's answer; never a password).
    pub email_error: Option<String>,
    /// When the mail server accepted it.
    pub email_sent_at: Option<DateTime<Utc>>,
}

/// An alert to raise.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAlert {
    /// The app whose job raises it.
    pub app_id: String,
    /// What happened.
    pub kind: AlertKind,
    /// One line.
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// Where the email goes; `None`: no email.
    pub recipient: Option<String>,
}

/// The facts an alert is composed from.
#[derive(Clone, Debug)]
pub struct AlertFacts<'a> {
    /// The app's id.
    pub app_id: &'a str,
    /// The app's name.
    pub app_name: &'a str,
    /// The notification address, when "send an email when a failure occurs" is on.
    pub recipient: Option<&'a str>,
}

impl AlertFacts<'_> {
    fn alert(&self, kind: AlertKind, subject: String, body: String) -> NewAlert {
        NewAlert { app_id: self.app_id.to_string(), kind, subject, body, recipient: self.recipient.map(str::to_string) }
    }

    /// The job entered quarantine for `reason` (`detail` says why); its next attempt is at `next_run`.
    pub fn quarantined(&self, reason: &str, detail: &str, next_run: Option<DateTime<Utc>>) -> NewAlert {
        let next = next_run
            .map(|t| {
                format!(
                    "The next attempt is at {} UTC; attempts slow down (6 h, 12 h, 24 h, then daily) while the cause remains.\n",
                    t.format("%Y-%m-%d %H:%M")
                )
            })
            .unwrap_or_default();
        self.alert(
            AlertKind::Quarantined,
            format!("Provisioning for {} is in quarantine ({reason})", self.app_name),
            format!(
                "The provisioning job of {} was quarantined: {reason}.\n\n{detail}\n\n{next}\
                 Fix the cause (the admin credentials, the target, or the failures listed in the provisioning logs), \
                 then restart provisioning to try again at once.\n",
                self.app_name
            ),
        )
    }

    /// The job stayed in quarantine for more than four weeks and was turned Off.
    pub fn turned_off(&self, reason: &str, detail: &str) -> NewAlert {
        self.alert(
            AlertKind::TurnedOff,
            format!("Provisioning for {} was turned Off after 4 weeks in quarantine", self.app_name),
            format!(
                "The provisioning job of {} stayed in quarantine ({reason}) for more than 4 weeks and was turned Off.\n\n\
                 {detail}\n\nFix the cause, then Start or Restart provisioning.\n",
                self.app_name
            ),
        )
    }

    /// A cycle would disable or delete `staged` accounts, more than `threshold`; none was sent.
    pub fn deletions_staged(&self, staged: usize, threshold: u32) -> NewAlert {
        self.alert(
            AlertKind::DeletionsStaged,
            format!("Provisioning for {} is waiting: {staged} deletions need approval", self.app_name),
            format!(
                "A provisioning cycle of {} would disable or delete {staged} accounts, more than the \
                 accidental-deletion threshold of {threshold}. None of them was sent and the job is waiting.\n\n\
                 Review the staged deletions on the app's provisioning page, then allow them (exactly that set is sent) \
                 or reject them.\n",
                self.app_name
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(recipient: Option<&'static str>) -> AlertFacts<'static> {
        AlertFacts { app_id: "a1", app_name: "Contoso HR", recipient }
    }

    #[test]
    fn kinds_and_statuses_round_trip_their_stored_spelling() {
        for k in [AlertKind::Quarantined, AlertKind::TurnedOff, AlertKind::DeletionsStaged] {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
        for s in [EmailStatus::None, EmailStatus::Pending, EmailStatus::Sent, EmailStatus::Failed] {
            assert_eq!(EmailStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AlertKind::parse("Quarantined"), None);
    }

    #[test]
    fn a_quarantine_alert_names_the_app_the_reason_the_detail_and_the_next_attempt() {
        let next = DateTime::parse_from_rfc3339("2026-11-24T21:30:00Z").unwrap().with_timezone(&Utc);
        let a = facts(Some("ops@contoso.example")).quarantined(
            "EncounteredQuarantineException",
            "401 Unauthorized: the token was refused",
            Some(next),
        );
        assert_eq!(a.kind, AlertKind::Quarantined);
        assert_eq!(a.subject, "Provisioning for Contoso HR is in quarantine (EncounteredQuarantineException)");
        assert!(a.body.contains("401 Unauthorized: the token was refused"), "{}", a.body);
        assert!(a.body.contains("2026-11-24 21:30 UTC"), "{}", a.body);
        assert_eq!(a.recipient.as_deref(), Some("ops@contoso.example"));
        assert_eq!(a.app_id, "a1");
    }

    #[test]
    fn staged_deletions_and_turn_off_say_what_to_do() {
        let a = facts(None).deletions_staged(612, 500);
        assert!(a.subject.contains("612 deletions need approval"));
        assert!(a.body.contains("threshold of 500") && a.body.contains("allow them"), "{}", a.body);
        assert_eq!(a.recipient, None);
        let t = facts(None).turned_off("EncounteredQuarantineException", "401");
        assert!(t.subject.contains("turned Off") && t.body.contains("Start or Restart"));
    }

    #[test]
    fn email_retries_back_off_and_stop() {
        let d: Vec<i64> = (1..MAX_EMAIL_ATTEMPTS).map(email_retry_delay_ms).collect();
        assert_eq!(d, vec![60_000, 120_000, 240_000, 480_000, 960_000]);
        assert_eq!(email_retry_delay_ms(0), 60_000);
    }
}
