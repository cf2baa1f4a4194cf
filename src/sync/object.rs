//! Processing one directory object for one app: scope → match → create/update (or stage a
//! disable/delete), with every step explained. The cycle, on-demand provisioning and preview all call
//! [`process`]; in preview (`dry_run`) nothing that changes the target is sent.

use super::diff::{self, Exported};
use super::log::{LogAction, LogDetail, LogEntry, LogStatus, ModifiedProperty, Step};
use super::policy;
use crate::apps::ProvisioningSettings;
use crate::connector::{Connector, ConnectorError, ErrorKind, Exchange};
use crate::expr::{Env, Source, Value};
use crate::mapping::resolve::{resolve, OutcomeStatus, Phase, Resolved};
use crate::mapping::{matching, CompiledMapping, ObjectType};
use crate::model::{Group, User};
use crate::store::sync::Link;
use chrono::Utc;
use serde_json::Value as J;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// A directory object as the engine sees it.
#[derive(Clone, Debug)]
pub enum SourceObject {
    /// A user (soft-deleted ones too).
    User(Box<User>),
    /// A group.
    Group(Box<Group>),
    /// An object that no longer exists in the directory (hard-deleted).
    Gone {
        /// Its id.
        id: String,
        /// `user` or `group`.
        object_type: String,
    },
}

impl SourceObject {
    /// The directory id.
    pub fn id(&self) -> String {
        match self {
            SourceObject::User(u) => u.id.to_string(),
            SourceObject::Group(g) => g.id.to_string(),
            SourceObject::Gone { id, .. } => id.clone(),
        }
    }

    /// `user` or `group`.
    pub fn object_type(&self) -> &str {
        match self {
            SourceObject::User(_) => "user",
            SourceObject::Group(_) => "group",
            SourceObject::Gone { object_type, .. } => object_type,
        }
    }

    /// The object as an expression source (`None` when gone).
    pub fn as_source(&self) -> Option<&dyn Source> {
        source_of(self)
    }

    /// The display name (the UPN for users).
    pub fn display_name(&self, link: Option<&Link>) -> String {
        match self {
            SourceObject::User(u) => u.user_principal_name.clone(),
            SourceObject::Group(g) => g.display_name.clone(),
            SourceObject::Gone { id, .. } => link.map(|l| l.display_name.clone()).unwrap_or_else(|| id.clone()),
        }
    }
}

/// What the job knows when it processes an object.
pub struct ObjectContext<'a> {
    /// The app.
    pub app_id: &'a str,
    /// The cycle (or on-demand run).
    pub cycle_id: &'a str,
    /// The app's settings.
    pub settings: &'a ProvisioningSettings,
    /// The mapping for this object type.
    pub mapping: &'a CompiledMapping,
    /// The target paths whose values are Redact()ed in logs.
    pub redacted: &'a HashSet<String>,
    /// The target.
    pub connector: &'a dyn Connector,
    /// Preview: decide and explain, send nothing that changes the target.
    pub dry_run: bool,
    /// Log objects that are skipped, and every attribute mapping's explanation (on-demand and
    /// preview); cycles log only what did something, with the modified properties.
    pub log_skips: bool,
    /// Target ids of objects the job manages, by directory id, for references written at creation.
    pub known_targets: Option<&'a HashMap<String, String>>,
}

/// The result of processing one object.
#[derive(Debug, Default)]
pub struct ObjectResult {
    /// The link to write (`None`: leave it as it was).
    pub link: Option<Link>,
    /// Remove the link of this source id (the target account was deleted, or the source is gone and
    /// nothing is managed).
    pub unlink: Option<String>,
    /// The log entry, when the object did something, failed, or skips are logged.
    pub log: Option<LogEntry>,
    /// What was done.
    pub counts: super::job::Counts,
    /// A failure that stops the job (401/403, not a SCIM service).
    pub fatal: Option<ConnectorError>,
    /// The user's link changed state (created, matched, disabled, deleted): the memberships of its
    /// groups must be written again.
    pub membership_changed: bool,
    /// The action staged for the deprovisioning phase.
    pub staged: Option<String>,
}

struct Trace {
    steps: Vec<Step>,
    props: Vec<ModifiedProperty>,
    requests: Vec<Exchange>,
}

impl Trace {
    fn new() -> Trace {
        Trace { steps: Vec::new(), props: Vec::new(), requests: Vec::new() }
    }
}

fn entry(
    ctx: &ObjectContext<'_>,
    obj: &SourceObject,
    link: Option<&Link>,
    target_id: Option<String>,
    action: LogAction,
    status: LogStatus,
    t: Trace,
) -> LogEntry {
    LogEntry {
        id: super::log::new_entry_id(),
        app_id: ctx.app_id.to_string(),
        cycle_id: ctx.cycle_id.to_string(),
        at: Utc::now(),
        source_id: obj.id(),
        object_type: obj.object_type().to_string(),
        display_name: obj.display_name(link),
        target_id,
        action,
        status,
        error_code: None,
        detail: LogDetail { steps: t.steps, modified_properties: t.props, requests: t.requests, error: None, recommendation: None },
    }
}

/// Whether an object is in scope (the decision [`process`] explains).
pub fn in_scope(obj: &SourceObject, assigned: bool, mapping: &CompiledMapping) -> bool {
    scope(obj, assigned, mapping).0
}

/// The scope decision for an object: in scope or the reasons it is not.
fn scope(obj: &SourceObject, assigned: bool, mapping: &CompiledMapping) -> (bool, Step) {
    let out = |why: String| (false, Step::new("Scope", true, format!("out of scope: {why}")));
    let src: &dyn Source = match obj {
        SourceObject::Gone { .. } => return out("deleted from the directory".into()),
        SourceObject::User(u) => {
            if u.deleted_date_time.is_some() {
                return out("the user is in the recycle bin (soft-deleted)".into());
            }
            if !u.account_enabled {
                return out("the user is disabled in the directory".into());
            }
            u.as_ref()
        }
        SourceObject::Group(g) => g.as_ref(),
    };
    if !assigned {
        return out(format!("the {} is not assigned to the app (directly or through a group)", obj.object_type()));
    }
    let d = mapping.scope().evaluate(src);
    let details: Vec<String> = d.filters.iter().flat_map(|f| f.clauses.iter().map(|c| c.reason.clone())).collect();
    let mut step = Step::new("Scope", true, if d.in_scope { format!("assigned; {}", d.summary) } else { d.summary.clone() });
    step.details = details;
    (d.in_scope, step)
}

fn source_of(obj: &SourceObject) -> Option<&dyn Source> {
    match obj {
        SourceObject::User(u) => Some(u.as_ref()),
        SourceObject::Group(g) => Some(g.as_ref()),
        SourceObject::Gone { .. } => None,
    }
}

/// The desired attributes (references taken out), the references as directory ids, the create body
/// and the explanation lines.
struct Desired {
    attrs: BTreeMap<String, J>,
    refs: BTreeMap<String, Vec<String>>,
    body: J,
    /// Every attribute mapping's explanation: only built when it is shown (on-demand, preview, or a
    /// mapping failed); a cycle's successful objects do not need it.
    explained: Vec<String>,
    failures: Vec<String>,
    /// The create body carries the references (their targets were known).
    refs_sent: bool,
    /// The resolved object with its references (directory ids), kept while they are not in `body`, so
    /// that a create sent later can carry them once their targets exist.
    with_refs: Option<Resolved>,
}

impl Desired {
    /// Whether every reference's target is in `known` (false when there are none to send).
    fn refs_known(&self, known: &HashMap<String, String>) -> bool {
        self.with_refs.is_some() && refs_known(&self.refs, known)
    }

    /// Puts the references into the create body, translated with `known`.
    fn attach_refs(&mut self, known: &HashMap<String, String>) {
        if let Some(mut w) = self.with_refs.take() {
            w.map_references(&|id| known.get(id).cloned());
            self.body = w.to_scim_json();
            self.refs_sent = true;
        }
    }
}

/// Whether there are references and every one's target is in `known`.
fn refs_known(refs: &BTreeMap<String, Vec<String>>, known: &HashMap<String, String>) -> bool {
    !refs.is_empty() && refs.values().flatten().all(|id| known.contains_key(id))
}

/// The directory ids a reference value holds (one for a manager, several for members).
pub(crate) fn ref_ids(v: &Value) -> Vec<String> {
    match v {
        Value::Ref(s) | Value::Str(s) => vec![s.clone()],
        Value::Multi(v) => v.clone(),
        _ => Vec::new(),
    }
}

fn desired(
    src: &dyn Source,
    mapping: &CompiledMapping,
    phase: Phase,
    env: &mut dyn Env,
    known: Option<&HashMap<String, String>>,
    explain: bool,
) -> Desired {
    let mut r = resolve(src, mapping, phase, env);
    let explanation = std::mem::take(&mut r.explanation);
    let failures: Vec<String> = explanation.iter().filter(|o| matches!(o.status, OutcomeStatus::Failed(_))).map(|o| o.explain()).collect();
    let explained = if explain || !failures.is_empty() { explanation.iter().map(|o| o.explain()).collect() } else { Vec::new() };
    let refs: BTreeMap<String, Vec<String>> = r.references().map(|(path, v)| (path.clone(), ref_ids(v))).collect();
    // References whose targets already exist go into the create itself; the others wait (for a later
    // create of the same page, or for the references pass), and the resolved object is kept for them.
    let all_known = known.filter(|k| refs_known(&refs, k));
    let (body, refs_sent, with_refs) = match all_known {
        Some(k) => {
            r.map_references(&|id| k.get(id).cloned());
            let body = r.to_scim_json();
            r.take_references();
            (body, true, None)
        }
        None if refs.is_empty() => (r.to_scim_json(), false, None),
        None => {
            let full = r.clone();
            r.take_references();
            (r.to_scim_json(), false, Some(full))
        }
    };
    let attrs: BTreeMap<String, J> = r.json_attributes().into_iter().collect();
    Desired { attrs, refs, body, explained, failures, refs_sent, with_refs }
}

/// Turns a failure into escrow on the link (creating an unlinked row when there was none).
fn escrow(ctx: &ObjectContext<'_>, obj: &SourceObject, link: Option<&Link>, e: &ConnectorError) -> Link {
    let mut l = link.cloned().unwrap_or_else(|| Link {
        source_id: obj.id(),
        object_type: obj.object_type().to_string(),
        target_id: None,
        display_name: obj.display_name(None),
        state: "unlinked".into(),
        exported: Exported::default(),
        export_hash: Exported::default().hash(),
        refs_pending: false,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        staged_action: None,
    });
    l.attempts += 1;
    let base = Duration::from_secs(u64::from(ctx.settings.escrow_retry_seconds));
    l.next_attempt_at = if policy::escrow_expired(base, l.attempts as u32) {
        None
    } else {
        Some(Utc::now().timestamp_millis() + policy::escrow_delay(base, l.attempts as u32).as_millis() as i64)
    };
    l.last_error = Some(e.message.clone());
    l
}

fn failed(
    ctx: &ObjectContext<'_>,
    obj: &SourceObject,
    link: Option<&Link>,
    action: LogAction,
    mut t: Trace,
    e: ConnectorError,
) -> ObjectResult {
    if let Some(x) = &e.exchange {
        t.requests.push(x.clone());
    }
    t.steps.push(Step::new("Export", false, e.message.clone()));
    let mut log = entry(ctx, obj, link, link.and_then(|l| l.target_id.clone()), action, LogStatus::Failure, t);
    log.error_code = Some(e.code().to_string());
    log.detail.error = Some(e.message.clone());
    let l = escrow(ctx, obj, link, &e);
    let when = match l.next_attempt_at {
        Some(ms) => format!("it will be retried after {}.", crate::store::ms_to_dt(ms).to_rfc3339()),
        None => "escrow gave up after 28 days of retries: it is tried again when the object changes in the directory, \
                 at the next initial cycle or after a restart."
            .to_string(),
    };
    log.detail.recommendation = Some(format!("{} This operation was tried {} time(s); {when}", e.recommendation(), l.attempts));
    let fatal = e.quarantines().then(|| e.clone());
    ObjectResult {
        link: if fatal.is_some() { None } else { Some(l) },
        log: Some(log),
        counts: super::job::Counts { failed: 1, ..Default::default() },
        fatal,
        ..Default::default()
    }
}

/// Processes one object: decides, sends (unless `dry_run`), and explains.
pub async fn process(
    ctx: &ObjectContext<'_>,
    obj: &SourceObject,
    link: Option<&Link>,
    assigned: bool,
    env: &mut (dyn Env + Send),
) -> ObjectResult {
    match prepare(ctx, obj, link, assigned, None, env).await {
        Prepared::Done(r) => r,
        Prepared::Create(mut p) => {
            let sent = ctx.connector.create(ctx.mapping.object(), &p.take_body()).await;
            finish_create(ctx, obj, link, *p, sent, env).await
        }
    }
}

/// Where [`prepare`] left an object.
// `Done` holds the result by value as every other step returns it; a page holds at most a few
// hundred of these at once.
#[allow(clippy::large_enum_variant)]
pub enum Prepared {
    /// Processed (matched and updated, skipped, staged, failed…).
    Done(ObjectResult),
    /// Nothing in the target matches: the create to send (the caller sends it, alone or with others
    /// through [`Connector::create_many`], then calls [`finish_create`]).
    Create(Box<PendingCreate>),
}

/// A create decided by [`prepare`], not sent yet.
pub struct PendingCreate {
    trace: Trace,
    queries: Vec<matching::MatchQuery>,
    desired: Desired,
    object: ObjectType,
}

impl PendingCreate {
    /// The resource to POST (groups without members: those follow in the members pass), taken out:
    /// once sent, the create no longer needs it.
    pub fn take_body(&mut self) -> J {
        let mut body = std::mem::take(&mut self.desired.body);
        if self.object == ObjectType::Group {
            if let Some(m) = body.as_object_mut() {
                m.remove("members");
            }
        }
        body
    }

    /// The directory ids its references point to that its body does not carry yet.
    pub fn waiting_for(&self) -> Vec<&String> {
        if self.desired.refs_sent || self.desired.with_refs.is_none() {
            return Vec::new();
        }
        self.desired.refs.values().flatten().collect()
    }

    /// Puts the references into the body when every target is in `known`; whether it did.
    pub fn attach_refs(&mut self, known: &HashMap<String, String>) -> bool {
        if !self.desired.refs_sent && self.desired.refs_known(known) {
            self.desired.attach_refs(known);
        }
        self.desired.refs_sent
    }
}

/// Matching results found ahead (batched by the cycle), in the order of the object's matching queries
/// ([`matching::plan`]); queries past the end are sent one by one.
pub type Prematched = Vec<crate::connector::ConnResult<Option<crate::connector::TargetObject>>>;

/// Processes one object up to the create: scope, match (with `prematched` results when given),
/// update or adopt a matched account, stage a disable/delete — or returns the create to send.
pub async fn prepare(
    ctx: &ObjectContext<'_>,
    obj: &SourceObject,
    link: Option<&Link>,
    assigned: bool,
    prematched: Option<Prematched>,
    env: &mut (dyn Env + Send),
) -> Prepared {
    let mut t = Trace::new();
    let object = ctx.mapping.object();
    match obj {
        SourceObject::Gone { .. } => t.steps.push(Step::new("Import", true, "the object no longer exists in the directory (hard-deleted)")),
        _ => t.steps.push(Step::new("Import", true, format!("imported {} '{}' ({})", obj.object_type(), obj.display_name(link), obj.id()))),
    }
    let (in_scope, scope_step) = scope(obj, assigned, ctx.mapping);
    t.steps.push(scope_step);
    let linked = link.filter(|l| l.linked());

    if !in_scope {
        return Prepared::Done(deprovision(ctx, obj, link, linked, t));
    }
    // Linked: update what changed.
    if let Some(l) = linked {
        let target_id = l.target_id.clone().expect("linked");
        t.steps.push(Step::new("Match", true, format!("linked to target account {target_id} (cached id; no query sent)")));
        let d = desired(source_of(obj).expect("in scope means present"), ctx.mapping, Phase::Update, env, None, ctx.log_skips);
        return Prepared::Done(update(ctx, obj, l, target_id, d, LogAction::Update, t, false).await);
    }

    // Not linked: match, then adopt or create.
    let queries = match matching::plan(source_of(obj).expect("in scope means present"), ctx.mapping, env) {
        Ok(q) => q,
        Err(e) => {
            t.steps.push(Step::new("Match", false, e.message.clone()));
            let err = ConnectorError::new(ErrorKind::Rejected, format!("cannot match: {}", e.message));
            return Prepared::Done(failed(ctx, obj, link, LogAction::Other, t, err));
        }
    };
    let mut tried = Vec::new();
    let mut ahead = prematched.unwrap_or_default().into_iter();
    for q in &queries {
        let answer = match ahead.next() {
            Some(a) => a,
            None => ctx.connector.find(object, &q.target, &q.value).await,
        };
        match answer {
            Ok(found) => {
                t.requests.extend(found.exchanges);
                match found.value {
                    Some(obj_found) => {
                        tried.push(format!("{} → found {}", q.scim_filter(), obj_found.id));
                        t.steps
                            .push(Step::new("Match", true, format!("matched target account {} on {}", obj_found.id, q.target)).with(tried));
                        return Prepared::Done(adopt(ctx, obj, link, obj_found, t, env).await);
                    }
                    None => tried.push(format!("{} → no account", q.scim_filter())),
                }
            }
            Err(e) => {
                t.steps.push(Step::new("Match", false, format!("{} failed", q.scim_filter())).with(tried));
                return Prepared::Done(failed(ctx, obj, link, LogAction::Other, t, e));
            }
        }
    }
    t.steps.push(Step::new("Match", true, "no account in the target matches: it will be created").with(tried));
    if !ctx.mapping.mapping().actions.create {
        t.steps.push(Step::new("Export", true, "skipped: the mapping's target object actions do not allow Create"));
        return Prepared::Done(skip(ctx, obj, link, t));
    }
    let d = desired(source_of(obj).expect("in scope means present"), ctx.mapping, Phase::Create, env, ctx.known_targets, ctx.log_skips);
    if !d.failures.is_empty() {
        t.steps.push(Step::new("Map", false, "some attribute mappings failed").with(d.explained.clone()));
        let err = ConnectorError::new(ErrorKind::Rejected, format!("attribute mapping failed: {}", d.failures.join("; ")));
        return Prepared::Done(failed(ctx, obj, link, LogAction::Create, t, err));
    }
    t.steps.push(Step::new("Map", true, "attribute mappings evaluated").with(if ctx.log_skips { d.explained.clone() } else { Vec::new() }));
    t.props = d.attrs.iter().map(|(p, v)| diff::property(p, None, Some(v.clone()), ctx.redacted)).collect();
    if ctx.dry_run {
        t.steps.push(Step::new("Export", true, "preview: would create the account (POST)"));
        let mut r = ObjectResult { log: Some(entry(ctx, obj, link, None, LogAction::Create, LogStatus::Success, t)), ..Default::default() };
        r.counts.created = 1;
        return Prepared::Done(r);
    }
    Prepared::Create(Box::new(PendingCreate { trace: t, queries, desired: d, object }))
}

/// Completes a create sent for a [`PendingCreate`]: links the new account, or on a conflict matches
/// again and adopts the account that exists, or escrows the object.
pub async fn finish_create(
    ctx: &ObjectContext<'_>,
    obj: &SourceObject,
    link: Option<&Link>,
    p: PendingCreate,
    result: crate::connector::ConnResult<crate::connector::TargetObject>,
    env: &mut (dyn Env + Send),
) -> ObjectResult {
    let PendingCreate { trace: mut t, queries, desired: d, object } = p;
    match result {
        Ok(sent) => {
            t.requests.extend(sent.exchanges);
            let id = sent.value.id.clone();
            t.steps.push(Step::new("Export", true, format!("created target account {id}")));
            let refs_pending = (!d.refs.is_empty() && !d.refs_sent) || object == ObjectType::Group;
            let refs = if d.refs_sent { d.refs } else { BTreeMap::new() };
            let exported = Exported { attrs: d.attrs, refs, members: (object == ObjectType::Group).then(Vec::new) };
            let link = new_link(obj, Some(id.clone()), exported, refs_pending);
            ObjectResult {
                link: Some(link),
                log: Some(entry(ctx, obj, None, Some(id), LogAction::Create, LogStatus::Success, t)),
                counts: super::job::Counts { created: 1, ..Default::default() },
                membership_changed: object == ObjectType::User,
                ..Default::default()
            }
        }
        Err(e) if e.kind == ErrorKind::Conflict => {
            // The account exists (a lost response, or a retry after a timeout): match again and adopt it.
            if let Some(x) = &e.exchange {
                t.requests.push(x.clone());
            }
            for q in &queries {
                match ctx.connector.find(object, &q.target, &q.value).await {
                    Ok(found) => {
                        t.requests.extend(found.exchanges);
                        if let Some(o) = found.value {
                            t.steps.push(Step::new(
                                "Match",
                                true,
                                format!("create answered conflict; matched and adopted target account {} on {}", o.id, q.target),
                            ));
                            return adopt(ctx, obj, link, o, t, env).await;
                        }
                    }
                    Err(e2) => return failed(ctx, obj, link, LogAction::Create, t, e2),
                }
            }
            failed(ctx, obj, link, LogAction::Create, t, e)
        }
        Err(e) => failed(ctx, obj, link, LogAction::Create, t, e),
    }
}

fn new_link(obj: &SourceObject, target_id: Option<String>, exported: Exported, refs_pending: bool) -> Link {
    Link {
        source_id: obj.id(),
        object_type: obj.object_type().to_string(),
        target_id,
        display_name: obj.display_name(None),
        state: "active".into(),
        export_hash: exported.hash(),
        exported,
        refs_pending,
        attempts: 0,
        next_attempt_at: None,
        last_error: None,
        staged_action: None,
    }
}

fn skip(ctx: &ObjectContext<'_>, obj: &SourceObject, link: Option<&Link>, t: Trace) -> ObjectResult {
    let mut r = ObjectResult::default();
    r.counts.skipped = 1;
    if ctx.log_skips {
        r.log = Some(entry(ctx, obj, link, link.and_then(|l| l.target_id.clone()), LogAction::Skip, LogStatus::Skipped, t));
    }
    r
}

/// An account was matched: link it, and update what differs from what it holds.
async fn adopt(
    ctx: &ObjectContext<'_>,
    obj: &SourceObject,
    link: Option<&Link>,
    found: crate::connector::TargetObject,
    t: Trace,
    env: &mut (dyn Env + Send),
) -> ObjectResult {
    let d = desired(source_of(obj).expect("present"), ctx.mapping, Phase::Update, env, None, ctx.log_skips);
    let current = diff::read_paths(&found.resource, d.attrs.keys());
    let exported = Exported {
        attrs: current
            .iter()
            .filter(|(p, v)| d.attrs.get(*p).is_some_and(|w| diff::same_value(v, w)))
            .map(|(p, _)| (p.clone(), d.attrs[p].clone()))
            .collect(),
        refs: BTreeMap::new(),
        members: None,
    };
    let mut base = new_link(obj, Some(found.id.clone()), exported, false);
    base.attempts = link.map(|l| l.attempts).unwrap_or(0);
    update(ctx, obj, &base, found.id, d, LogAction::Update, t, true).await
}

/// Sends the changed attributes of a linked object.
#[allow(clippy::too_many_arguments)]
async fn update(
    ctx: &ObjectContext<'_>,
    obj: &SourceObject,
    l: &Link,
    target_id: String,
    d: Desired,
    action: LogAction,
    mut t: Trace,
    adopted: bool,
) -> ObjectResult {
    let object = ctx.mapping.object();
    if !d.failures.is_empty() {
        t.steps.push(Step::new("Map", false, "some attribute mappings failed").with(d.explained.clone()));
        let err = ConnectorError::new(ErrorKind::Rejected, format!("attribute mapping failed: {}", d.failures.join("; ")));
        return failed(ctx, obj, Some(l), action, t, err);
    }
    t.steps.push(Step::new("Map", true, "attribute mappings evaluated").with(if ctx.log_skips { d.explained.clone() } else { Vec::new() }));
    let (changes, props) = diff::changes(&l.exported.attrs, &d.attrs, ctx.redacted);
    let refs_changed = d.refs != l.exported.refs;
    let mut next = l.clone();
    next.state = "active".into();
    next.display_name = obj.display_name(Some(l));
    next.attempts = 0;
    next.next_attempt_at = None;
    next.last_error = None;
    next.staged_action = None;
    next.refs_pending = l.refs_pending || refs_changed || (object == ObjectType::Group && adopted);
    let reenabled = l.state == "disabled";
    let membership_changed = object == ObjectType::User && (adopted || reenabled);
    if changes.is_empty() {
        t.steps.push(Step::new("Export", true, "no attribute changed: nothing sent"));
        let changed_row = next != *l;
        let mut r = ObjectResult { link: (changed_row || adopted).then_some(next), membership_changed, ..Default::default() };
        if adopted {
            r.counts.updated = 1;
            r.log = Some(entry(ctx, obj, Some(l), Some(target_id), action, LogStatus::Success, t));
        } else if ctx.log_skips {
            r.log = Some(entry(ctx, obj, Some(l), Some(target_id), LogAction::Skip, LogStatus::Skipped, t));
        }
        return r;
    }
    if !ctx.mapping.mapping().actions.update {
        t.steps.push(Step::new("Export", true, "skipped: the mapping's target object actions do not allow Update"));
        let mut r = skip(ctx, obj, Some(l), t);
        r.link = adopted.then_some(next);
        return r;
    }
    t.props = props;
    if ctx.dry_run {
        t.steps.push(Step::new("Export", true, format!("preview: would update {} attribute(s)", changes.len())));
        let mut r =
            ObjectResult { log: Some(entry(ctx, obj, Some(l), Some(target_id), action, LogStatus::Success, t)), ..Default::default() };
        r.counts.updated = 1;
        return r;
    }
    let mut desired_body = d.body.clone();
    if let Some(m) = desired_body.as_object_mut() {
        m.insert("id".into(), J::String(target_id.clone()));
        m.remove("members");
    }
    match ctx.connector.update(object, &target_id, &changes, &desired_body).await {
        Ok(sent) => {
            t.requests.extend(sent.exchanges);
            t.steps.push(Step::new("Export", true, format!("updated {} attribute(s) of target account {target_id}", changes.len())));
            for (p, v) in d.attrs {
                next.exported.attrs.insert(p, v);
            }
            next.export_hash = next.exported.hash();
            ObjectResult {
                link: Some(next),
                log: Some(entry(ctx, obj, Some(l), Some(target_id), action, LogStatus::Success, t)),
                counts: super::job::Counts { updated: 1, ..Default::default() },
                membership_changed,
                ..Default::default()
            }
        }
        Err(e) if e.kind == ErrorKind::NotFound => {
            // Drift: the account was removed in the target. Forget the link; the next attempt recreates it.
            t.steps.push(Step::new("Export", false, format!("target account {target_id} no longer exists (drift); it will be recreated")));
            let mut r = failed(ctx, obj, Some(l), action, t, e);
            if let Some(x) = r.link.as_mut() {
                x.target_id = None;
                x.state = "unlinked".into();
                x.next_attempt_at = Some(Utc::now().timestamp_millis());
            }
            r
        }
        Err(e) => failed(ctx, obj, Some(l), action, t, e),
    }
}

/// Out of scope: stage a disable or delete for a linked object (sent in the deprovisioning phase).
fn deprovision(ctx: &ObjectContext<'_>, obj: &SourceObject, link: Option<&Link>, linked: Option<&Link>, mut t: Trace) -> ObjectResult {
    let gone = matches!(obj, SourceObject::Gone { .. });
    let Some(l) = linked else {
        // Never linked: nothing in the target is ours. Drop any escrow row.
        let mut r = skip(ctx, obj, link, t);
        r.unlink = link.map(|l| l.source_id.clone());
        return r;
    };
    let actions = &ctx.mapping.mapping().actions;
    let is_group = ctx.mapping.object() == ObjectType::Group;
    let wanted = if gone || is_group {
        actions.delete.then_some("delete")
    } else if l.state == "disabled" {
        None
    } else if ctx.settings.skip_out_of_scope_deletions {
        t.steps.push(Step::new(
            "Export",
            true,
            "skipped: SkipOutOfScopeDeletions is on, so accounts that leave scope are left as they are",
        ));
        return skip(ctx, obj, link, t);
    } else {
        actions.update.then_some("disable")
    };
    if !gone && is_group && ctx.settings.skip_out_of_scope_deletions {
        t.steps.push(Step::new("Export", true, "skipped: SkipOutOfScopeDeletions is on"));
        return skip(ctx, obj, link, t);
    }
    match wanted {
        Some(action) => {
            let mut next = l.clone();
            next.staged_action = Some(action.to_string());
            if gone {
                next.display_name = obj.display_name(Some(l));
            }
            ObjectResult { link: Some(next), staged: Some(action.to_string()), ..Default::default() }
        }
        None => {
            if l.state == "disabled" && !gone {
                return ObjectResult::default();
            }
            t.steps.push(Step::new("Export", true, "skipped: the mapping's target object actions do not allow this disable/delete"));
            let mut r = skip(ctx, obj, link, t);
            if gone {
                r.unlink = Some(obj.id());
            }
            r
        }
    }
}

/// Sends one staged disable or delete.
pub async fn run_staged(ctx: &ObjectContext<'_>, l: &Link) -> ObjectResult {
    let object = ctx.mapping.object();
    let obj = SourceObject::Gone { id: l.source_id.clone(), object_type: l.object_type.clone() };
    let mut t = Trace::new();
    let target_id = l.target_id.clone().unwrap_or_default();
    let action = l.staged_action.as_deref().unwrap_or("disable");
    let (log_action, res) = if action == "delete" {
        (LogAction::Delete, ctx.connector.delete(object, &target_id).await)
    } else {
        (LogAction::Disable, ctx.connector.disable(object, &target_id).await)
    };
    match res {
        Ok(sent) => {
            t.requests.extend(sent.exchanges);
            t.steps.push(Step::new(
                "Export",
                true,
                format!("{} target account {target_id}", if action == "delete" { "deleted" } else { "disabled" }),
            ));
            let mut r = ObjectResult {
                log: Some(entry(ctx, &obj, Some(l), Some(target_id), log_action, LogStatus::Success, t)),
                membership_changed: true,
                ..Default::default()
            };
            if action == "delete" {
                r.unlink = Some(l.source_id.clone());
                r.counts.deleted = 1;
            } else {
                let mut next = l.clone();
                next.state = "disabled".into();
                next.staged_action = None;
                next.exported.attrs.insert("active".into(), J::Bool(false));
                next.export_hash = next.exported.hash();
                r.link = Some(next);
                r.counts.disabled = 1;
            }
            r
        }
        Err(e) => {
            let mut r = failed(ctx, &obj, Some(l), log_action, t, e);
            if let Some(x) = r.link.as_mut() {
                x.staged_action = None;
            }
            r
        }
    }
}

/// A log entry for a held-back disable/delete.
pub fn staged_entry(ctx: &ObjectContext<'_>, l: &Link, threshold: u32, count: usize) -> LogEntry {
    let obj = SourceObject::Gone { id: l.source_id.clone(), object_type: l.object_type.clone() };
    let mut t = Trace::new();
    t.steps.push(Step::new(
        "Export",
        true,
        format!(
            "held back: this cycle would disable or delete {count} accounts, more than the accidental-deletion threshold of {threshold}; an admin must allow or reject the deletions"
        ),
    ));
    let mut e = entry(ctx, &obj, Some(l), l.target_id.clone(), LogAction::StagedDelete, LogStatus::Skipped, t);
    e.display_name = l.display_name.clone();
    e
}
