//! Alerts: the store's claim and retry rules on SQLite and PostgreSQL, and their emails sent through a
//! real SMTP server (Python's `aiosmtpd`, which `make test` installs) by `notify::deliver_due`.

use provisio::alerts::{AlertFacts, AlertKind, EmailStatus, NewAlert};
use provisio::apps::NewApp;
use provisio::notify::{deliver_due, DeliveryReport, SmtpMailer};
use provisio::service::{apps, Actor};
use provisio::store::{alerts, now_ms, Store};
use provisio_testkit::SmtpSink;

mod common;
use common::TestDb;

async fn app(store: &Store, name: &str) -> String {
    apps::create_app(store, &Actor::cli(), NewApp { name: name.into(), template: None }).await.expect("app").id.to_string()
}

async fn raise(store: &Store, a: &NewAlert) -> provisio::alerts::AlertId {
    let mut tx = store.begin().await.unwrap();
    let id = alerts::insert(&mut tx, a).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn claims_are_exclusive_and_failures_back_off(store: &Store) {
    let app = app(store, "HR").await;
    let emailed = AlertFacts { app_id: &app, app_name: "HR", recipient: Some("ops@contoso.example") };
    let silent = AlertFacts { recipient: None, ..emailed.clone() };
    let first = raise(store, &emailed.quarantined("EncounteredQuarantineException", "401", None)).await;
    let second = raise(store, &emailed.deletions_staged(600, 500)).await;
    raise(store, &silent.turned_off("EncounteredQuarantineException", "401")).await;

    let listed = { alerts::list(&mut store.conn().await.unwrap(), &app, 50).await.unwrap() };
    let kinds: Vec<AlertKind> = listed.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, vec![AlertKind::TurnedOff, AlertKind::DeletionsStaged, AlertKind::Quarantined], "newest first");
    assert_eq!(listed[0].email_status, EmailStatus::None, "no recipient, no email");
    assert_eq!(listed[1].email_status, EmailStatus::Pending);

    let now = now_ms();
    let mut c = store.conn().await.unwrap();
    let a = alerts::claim_due(&mut c, "process-a", now, 60_000, 20).await.unwrap();
    assert_eq!(a.iter().map(|a| a.id).collect::<Vec<_>>(), vec![first, second], "only alerts with an email to send");
    assert!(alerts::claim_due(&mut c, "process-b", now, 60_000, 20).await.unwrap().is_empty(), "claimed by a live sender");
    // A sender that died: its claim expires and another process takes the alert.
    let b = alerts::claim_due(&mut c, "process-b", now + 61_000, 60_000, 1).await.unwrap();
    assert_eq!(b.iter().map(|a| a.id).collect::<Vec<_>>(), vec![first]);
    assert!(!alerts::mark_sent(&mut c, first, "process-a").await.unwrap(), "a lost claim records nothing");
    assert!(alerts::mark_sent(&mut c, first, "process-b").await.unwrap());

    // A transient failure: tried again after a minute; a permanent one is given up at once.
    assert_eq!(alerts::mark_failed(&mut c, second, "process-a", "421 try later", false).await.unwrap(), EmailStatus::Pending);
    assert!(alerts::claim_due(&mut c, "process-a", now_ms(), 60_000, 20).await.unwrap().is_empty(), "backing off");
    let again = alerts::claim_due(&mut c, "process-a", now_ms() + 61_000, 60_000, 20).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].email_attempts, again[0].email_error.as_deref()), (1, Some("421 try later")));
    assert_eq!(alerts::mark_failed(&mut c, second, "process-a", "550 no such user", true).await.unwrap(), EmailStatus::Failed);
    let listed = alerts::list(&mut c, &app, 50).await.unwrap();
    let by_id = |id| listed.iter().find(|a| a.id == id).unwrap();
    assert_eq!((by_id(first).email_status, by_id(first).email_attempts), (EmailStatus::Sent, 1));
    assert!(by_id(first).email_sent_at.is_some());
    assert_eq!((by_id(second).email_status, by_id(second).email_attempts), (EmailStatus::Failed, 2));
    assert!(alerts::claim_due(&mut c, "process-a", now_ms() + 3_600_000, 60_000, 20).await.unwrap().is_empty(), "nothing left to send");
}

dual_backend! {
    claims_are_exclusive_and_failures_back_off => claims_are_exclusive_and_failures_back_off_sqlite, claims_are_exclusive_and_failures_back_off_postgres;
}

#[tokio::test]
async fn alert_emails_go_through_a_real_smtp_server_and_are_retried_when_it_is_down() {
    let mut sink = SmtpSink::start().await.expect("aiosmtpd (make test installs it in the tool venv)");
    let db = TestDb::sqlite().await;
    let store = &db.store;
    let app = app(store, "Contoso HR").await;
    let facts = AlertFacts { app_id: &app, app_name: "Contoso HR", recipient: Some("ops@contoso.example") };
    let id = raise(store, &facts.quarantined("EncounteredQuarantineException", "401 Unauthorized from the target", None)).await;

    let mailer = SmtpMailer::new(&sink.url(), "Provisio <provisio@contoso.example>").unwrap();
    let report = deliver_due(store, &mailer, "process-a", Some("https://provisio.contoso.example")).await.unwrap();
    let after = alerts::list(&mut store.conn().await.unwrap(), &app, 5).await.unwrap();
    assert_eq!(report, DeliveryReport { sent: 1, retrying: 0, failed: 0 }, "{:?}", after[0].email_error);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    // As a mail reader shows it: folded headers unfolded, quoted-printable soft breaks and spaces decoded.
    let m = &messages[0].replace("\r\n", "\n").replace("\n ", " ").replace("=\n", "").replace("=20", " ").replace("=3D", "=");
    assert!(messages[0].contains("Content-Type: text/plain; charset=utf-8"), "{m}");
    assert!(m.contains("X-RcptTo: ops@contoso.example"), "{m}");
    assert!(m.contains("Subject: Provisioning for Contoso HR is in quarantine (EncounteredQuarantineException)"), "{m}");
    assert!(m.contains("401 Unauthorized from the target"), "{m}");
    assert!(m.contains(&format!("https://provisio.contoso.example/apps/{app}/provisioning")), "{m}");
    // Sent once: the next pass has nothing to do.
    assert_eq!(deliver_due(store, &mailer, "process-a", None).await.unwrap(), DeliveryReport::default());
    let listed = alerts::list(&mut store.conn().await.unwrap(), &app, 5).await.unwrap();
    assert_eq!((listed[0].id, listed[0].email_status), (id, EmailStatus::Sent));

    // The mail server is down: the email waits and says why; the password in the URL is never shown.
    sink.stop();
    raise(store, &facts.deletions_staged(700, 500)).await;
    let url = sink.url().replace("smtp://", "smtp://alerts:s3cret-pw@");
    let down = SmtpMailer::new(&url, "provisio@contoso.example").unwrap();
    let report = deliver_due(store, &down, "process-a", None).await.unwrap();
    assert_eq!(report, DeliveryReport { sent: 0, retrying: 1, failed: 0 });
    let listed = alerts::list(&mut store.conn().await.unwrap(), &app, 5).await.unwrap();
    let waiting = &listed[0];
    assert_eq!((waiting.kind, waiting.email_status, waiting.email_attempts), (AlertKind::DeletionsStaged, EmailStatus::Pending, 1));
    let error = waiting.email_error.clone().unwrap_or_default();
    assert!(error.starts_with("the mail server did not take the message"), "{error}");
    assert!(!error.contains("s3cret-pw"), "{error}");
    db.finish().await;
}
