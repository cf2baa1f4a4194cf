//! Alerts (table `alerts`): raised inside the transaction of the job state that caused them, listed
//! per app, and handed to the email sender through a claim that expires, so that processes sharing
//! the database never send one alert twice at once and a sender that died leaves nothing stuck.

use super::{ms_to_dt, now_ms, Result, StoreError};
use crate::alerts::{email_retry_delay_ms, Alert, AlertId, AlertKind, EmailStatus, NewAlert, MAX_EMAIL_ATTEMPTS};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "id, app_id, kind, subject, body, recipient, created_at, email_status, email_attempts, email_error, email_sent_at";

fn decode(r: &AnyRow) -> Result<Alert> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("email_status")?;
    Ok(Alert {
        id: AlertId(r.try_get("id")?),
        app_id: r.try_get("app_id")?,
        kind: AlertKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("alert kind '{kind}'")))?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        recipient: r.try_get("recipient")?,
        created_at: ms_to_dt(r.try_get("created_at")?),
        email_status: EmailStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("alert email status '{status}'")))?,
        email_attempts: r.try_get::<i64, _>("email_attempts")?.max(0) as u32,
        email_error: r.try_get("email_error")?,
        email_sent_at: r.try_get::<Option<i64>, _>("email_sent_at")?.map(ms_to_dt),
    })
}

/// Raises an alert (inside the caller's transaction); its email is pending when it has a recipient.
pub async fn insert(conn: &mut AnyConnection, a: &NewAlert) -> Result<AlertId> {
    let now = now_ms();
    let status = if a.recipient.is_some() { EmailStatus::Pending } else { EmailStatus::None };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO alerts (app_id, kind, subject, body, recipient, created_at, email_status, email_attempts, email_next_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,0,$8) RETURNING id",
    )
    .bind(a.app_id.clone())
    .bind(a.kind.as_str())
    .bind(a.subject.clone())
    .bind(a.body.clone())
    .bind(a.recipient.clone())
    .bind(now)
    .bind(status.as_str())
    .bind(a.recipient.as_ref().map(|_| now))
    .fetch_one(conn)
    .await?;
    Ok(AlertId(id))
}

/// An app's alerts, newest first, at most `limit`.
pub async fn list(conn: &mut AnyConnection, app_id: &str, limit: i64) -> Result<Vec<Alert>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM alerts WHERE app_id = $1 ORDER BY id DESC LIMIT $2"))
        .bind(app_id.to_string())
        .bind(limit.clamp(1, 500))
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode).collect()
}

/// Claims up to `limit` alerts whose email is due (pending, its time come, not claimed by a live
/// sender) for `owner` until `now + claim_ms`, and returns them. Two processes never hold the same
/// alert: the claim is one conditional UPDATE per alert.
pub async fn claim_due(conn: &mut AnyConnection, owner: &str, now: i64, claim_ms: i64, limit: i64) -> Result<Vec<Alert>> {
    let candidates: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM alerts WHERE email_status = 'pending' AND email_next_at <= $1 \
         AND (claimed_until IS NULL OR claimed_until < $1) ORDER BY id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut claimed = Vec::new();
    for id in candidates {
        let row = sqlx::query(&format!(
            "UPDATE alerts SET claimed_by = $1, claimed_until = $2 WHERE id = $3 AND email_status = 'pending' \
             AND (claimed_until IS NULL OR claimed_until < $4) RETURNING {COLUMNS}"
        ))
        .bind(owner.to_string())
        .bind(now + claim_ms)
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(r) = row {
            claimed.push(decode(&r)?);
        }
    }
    Ok(claimed)
}

/// Records that the mail server accepted the alert's email (only while `owner` holds the claim).
pub async fn mark_sent(conn: &mut AnyConnection, id: AlertId, owner: &str) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE alerts SET email_status = 'sent', email_attempts = email_attempts + 1, email_sent_at = $1, email_error = NULL, \
         claimed_by = NULL, claimed_until = NULL WHERE id = $2 AND claimed_by = $3",
    )
    .bind(now_ms())
    .bind(id.0)
    .bind(owner.to_string())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Records a failed attempt: tried again later with backoff, or given up when `permanent` or after
/// [`MAX_EMAIL_ATTEMPTS`]. Returns the status it is left in.
pub async fn mark_failed(conn: &mut AnyConnection, id: AlertId, owner: &str, error: &str, permanent: bool) -> Result<EmailStatus> {
    let attempts: Option<i64> = sqlx::query_scalar("SELECT email_attempts FROM alerts WHERE id = $1 AND claimed_by = $2")
        .bind(id.0)
        .bind(owner.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(attempts) = attempts else { return Ok(EmailStatus::Pending) };
    let attempts = attempts.max(0) as u32 + 1;
    let status = if permanent || attempts >= MAX_EMAIL_ATTEMPTS { EmailStatus::Failed } else { EmailStatus::Pending };
    let error: String = error.chars().take(1000).collect();
    sqlx::query(
        "UPDATE alerts SET email_status = $1, email_attempts = $2, email_error = $3, email_next_at = $4, \
         claimed_by = NULL, claimed_until = NULL WHERE id = $5 AND claimed_by = $6",
    )
    .bind(status.as_str())
    .bind(i64::from(attempts))
    .bind(error)
    .bind(now_ms() + email_retry_delay_ms(attempts))
    .bind(id.0)
    .bind(owner.to_string())
    .execute(conn)
    .await?;
    Ok(status)
}
