//! CSV import of users: parse, validate every row (reporting row, column and reason), preview, and
//! import all rows in one transaction, or none.
//!
//! The header names columns by their API names (`userPrincipalName`, `displayName`, …, case-insensitive);
//! `manager` holds the manager's userPrincipalName (in the directory or earlier/later in the file);
//! `otherMails` and `businessPhones` separate values with `;`; `extension_<name>` columns set extension
//! attributes. A row whose userPrincipalName exists updates that user; otherwise it creates one.

use super::directory::{create_user_in, update_user_in};
use super::{Actor, Result, ServiceError};
use crate::model::{FieldError, ObjectRef, UserDraft, UserId, UserInput};
use crate::store::{users, Store};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The largest file accepted.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// The most rows accepted in one file.
pub const MAX_IMPORT_ROWS: usize = 100_000;
/// How many rows a preview lists.
pub const PREVIEW_ROWS: usize = 50;

pub use crate::model::IMPORT_COLUMNS as COLUMNS;

/// What importing a row will do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RowAction {
    /// A new user.
    Create,
    /// An existing user changes.
    Update,
    /// An existing user already matches.
    Unchanged,
}

/// One row of a preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRow {
    /// The row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The user's principal name.
    pub user_principal_name: String,
    /// The user's display name.
    pub display_name: String,
    /// What importing it will do.
    pub action: RowAction,
}

/// What an import would do (or did).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportPreview {
    /// Data rows in the file.
    pub total_rows: usize,
    /// Rows that create a user.
    pub creates: usize,
    /// Rows that change a user.
    pub updates: usize,
    /// Rows that match their user already.
    pub unchanged: usize,
    /// Every problem, each naming `row N, column C`.
    pub errors: Vec<FieldError>,
    /// The first rows, for display.
    pub rows: Vec<PreviewRow>,
}

struct ParsedRow {
    row: usize,
    input: UserInput,
    manager_upn: Option<String>,
}

fn cell_field(row: usize, col: &str) -> String {
    format!("row {row}, column {col}")
}

fn canonical_column(h: &str) -> Option<String> {
    let t = h.trim().trim_start_matches('\u{feff}');
    if let Some(rest) = t.strip_prefix("extension_").or_else(|| t.strip_prefix("extension.")) {
        return Some(format!("extension_{rest}"));
    }
    COLUMNS.iter().find(|c| c.eq_ignore_ascii_case(t)).map(|c| c.to_string())
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "y" | "enabled" => Some(true),
        "false" | "no" | "0" | "n" | "disabled" => Some(false),
        _ => None,
    }
}

/// Parses a CSV file into row inputs, collecting every problem.
fn parse(csv_bytes: &[u8]) -> (Vec<ParsedRow>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    if csv_bytes.len() > MAX_IMPORT_BYTES {
        errors.push(FieldError::new("file", format!("is larger than {} MB", MAX_IMPORT_BYTES / 1024 / 1024)));
        return (rows, errors);
    }
    if std::str::from_utf8(csv_bytes).is_err() {
        errors.push(FieldError::new("file", "is not UTF-8 text; save the CSV as UTF-8"));
        return (rows, errors);
    }
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(csv_bytes);
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            errors.push(FieldError::new("row 1", format!("cannot read the header: {e}")));
            return (rows, errors);
        }
    };
    let mut cols = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        match canonical_column(h) {
            Some(c) if cols.contains(&c) => errors.push(FieldError::new(cell_field(1, h), "the column appears twice")),
            Some(c) => cols.push(c),
            None => {
                let hint = COLUMNS.iter().find(|c| strsim_close(c, h)).map(|c| format!("; did you mean '{c}'?")).unwrap_or_default();
                errors.push(FieldError::new(cell_field(1, &format!("{}", i + 1)), format!("unknown column '{h}'{hint}")));
                cols.push(String::new());
            }
        }
    }
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        errors.push(FieldError::new("row 1", "the file is empty; the first row must name the columns"));
        return (rows, errors);
    }
    if !cols.iter().any(|c| c == "userPrincipalName") {
        errors.push(FieldError::new("row 1", "the column userPrincipalName is required"));
    }
    if !errors.is_empty() {
        return (rows, errors);
    }
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        if i >= MAX_IMPORT_ROWS {
            errors.push(FieldError::new(format!("row {row}"), format!("a file may hold at most {MAX_IMPORT_ROWS} users")));
            break;
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let msg = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("has {len} fields but the header has {expected_len}")
                    }
                    _ => format!("cannot be read: {e}"),
                };
                errors.push(FieldError::new(format!("row {row}"), msg));
                continue;
            }
        };
        let mut input = UserInput::default();
        let mut ext = BTreeMap::new();
        let mut manager_upn = None;
        for (col, val) in cols.iter().zip(rec.iter()) {
            let v = if val.is_empty() { None } else { Some(val.to_string()) };
            let list = || v.as_ref().map(|s| s.split(';').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect::<Vec<_>>());
            match col.as_str() {
                "userPrincipalName" => input.user_principal_name = Some(v),
                "displayName" => input.display_name = Some(v),
                "givenName" => input.given_name = Some(v),
                "surname" => input.surname = Some(v),
                "mail" => input.mail = Some(v),
                "otherMails" => input.other_mails = Some(list()),
                "mailNickname" => input.mail_nickname = Some(v),
                "department" => input.department = Some(v),
                "jobTitle" => input.job_title = Some(v),
                "companyName" => input.company_name = Some(v),
                "employeeId" => input.employee_id = Some(v),
                "employeeType" => input.employee_type = Some(v),
                "officeLocation" => input.office_location = Some(v),
                "city" => input.city = Some(v),
                "country" => input.country = Some(v),
                "usageLocation" => input.usage_location = Some(v),
                "preferredLanguage" => input.preferred_language = Some(v),
                "mobilePhone" => input.mobile_phone = Some(v),
                "businessPhones" => input.business_phones = Some(list()),
                "accountEnabled" => match v.as_deref().map(parse_bool) {
                    None => {}
                    Some(Some(b)) => input.account_enabled = Some(Some(b)),
                    Some(None) => errors.push(FieldError::new(cell_field(row, col), format!("'{val}' is not true or false"))),
                },
                "manager" => manager_upn = v,
                "id" => {}
                other => {
                    if let Some(name) = other.strip_prefix("extension_") {
                        ext.insert(name.to_string(), v);
                    }
                }
            }
        }
        if !ext.is_empty() {
            input.extension_attributes = Some(ext);
        }
        rows.push(ParsedRow { row, input, manager_upn });
    }
    if rows.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("file", "has a header but no users"));
    }
    (rows, errors)
}

/// True when two names differ by case, one edit, or a swap: enough for "did you mean".
fn strsim_close(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.trim().to_ascii_lowercase());
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}

/// One row to write: its number, the existing user (id and draft) or none, the new draft, and the
/// userPrincipalName of a manager defined in the file (set once every row is written).
type Step = (usize, Option<(UserId, UserDraft)>, UserDraft, Option<String>);

struct Plan {
    preview: ImportPreview,
    /// For each row, what to write.
    steps: Vec<Step>,
}

/// Validates every row against the rules and the directory, without writing.
async fn plan(conn: &mut sqlx::AnyConnection, csv_bytes: &[u8]) -> Result<Plan> {
    let (rows, mut errors) = parse(csv_bytes);
    let mut preview = ImportPreview { total_rows: rows.len(), ..Default::default() };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let file_upns: HashMap<String, usize> =
        rows.iter().filter_map(|r| r.input.user_principal_name.clone().flatten().map(|u| (u.trim().to_lowercase(), r.row))).collect();
    let mut steps = Vec::new();
    for r in rows {
        let upn = r.input.user_principal_name.clone().flatten().unwrap_or_default().trim().to_lowercase();
        if !upn.is_empty() {
            if let Some(first) = seen.insert(upn.clone(), r.row) {
                errors.push(FieldError::new(cell_field(r.row, "userPrincipalName"), format!("'{upn}' already appears in row {first}")));
                continue;
            }
        }
        let existing = if upn.is_empty() { None } else { users::find_by_upn(conn, &upn).await? };
        if existing.as_ref().is_some_and(|u| u.deleted_date_time.is_some()) {
            errors
                .push(FieldError::new(cell_field(r.row, "userPrincipalName"), format!("'{upn}' is in the recycle bin; restore it first")));
            continue;
        }
        let base = existing.as_ref().map(UserDraft::from_user).unwrap_or_else(UserDraft::new_user);
        let mut input = r.input;
        // The manager is resolved separately: keep the current one unless the file names one.
        let manager = r.manager_upn.clone();
        if let Some(m) = &manager {
            let ml = m.to_lowercase();
            if ml == upn {
                errors.push(FieldError::new(cell_field(r.row, "manager"), "a user cannot be their own manager"));
                continue;
            }
            if !file_upns.contains_key(&ml) {
                match users::find_by_upn(conn, &ml).await? {
                    Some(mu) if mu.deleted_date_time.is_none() => {
                        input.manager = Some(Some(ObjectRef { id: mu.id.to_string(), display_name: None, user_principal_name: None }))
                    }
                    _ => {
                        errors.push(FieldError::new(cell_field(r.row, "manager"), format!("no user '{m}' in the directory or this file")));
                        continue;
                    }
                }
            }
        }
        // A manager defined in the file is set after every row is written; it changes nothing when
        // it is already this user's manager.
        let in_file_manager = manager.filter(|m| file_upns.contains_key(&m.to_lowercase()));
        let in_file_manager_id = match &in_file_manager {
            Some(m) if existing.is_some() => users::find_by_upn(conn, m).await?.map(|mu| mu.id),
            _ => None,
        };
        match base.apply(input) {
            Ok(d) => {
                let manager_settled = in_file_manager.is_none() || (in_file_manager_id.is_some() && d.manager_id == in_file_manager_id);
                let action = match &existing {
                    None => RowAction::Create,
                    Some(u) if UserDraft::from_user(u) == d && manager_settled => RowAction::Unchanged,
                    Some(_) => RowAction::Update,
                };
                match action {
                    RowAction::Create => preview.creates += 1,
                    RowAction::Update => preview.updates += 1,
                    RowAction::Unchanged => preview.unchanged += 1,
                }
                if preview.rows.len() < PREVIEW_ROWS {
                    preview.rows.push(PreviewRow {
                        row: r.row,
                        user_principal_name: d.user_principal_name.clone(),
                        display_name: d.display_name.clone(),
                        action,
                    });
                }
                steps.push((r.row, existing.map(|u| (u.id, UserDraft::from_user(&u))), d, in_file_manager));
            }
            Err(errs) => errors.extend(errs.into_iter().map(|e| FieldError::new(cell_field(r.row, &e.field), e.message))),
        }
    }
    preview.errors = errors;
    Ok(Plan { preview, steps })
}

/// Validates a file and says what importing it would do. Writes nothing.
pub async fn preview(store: &Store, actor: &Actor, csv_bytes: &[u8]) -> Result<ImportPreview> {
    actor.require_directory_write()?;
    let mut conn = store.conn().await?;
    Ok(plan(&mut conn, csv_bytes).await?.preview)
}

/// Imports a file: every row, in one transaction, or nothing if any row has a problem (then the error
/// lists every problem). `progress(done, total)` is called as rows are written.
pub async fn import(
    store: &Store,
    actor: &Actor,
    csv_bytes: &[u8],
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<ImportPreview> {
    actor.require_directory_write()?;
    let mut tx = store.begin().await?;
    let plan = plan(&mut tx, csv_bytes).await?;
    if !plan.preview.errors.is_empty() {
        return Err(ServiceError::Validation(plan.preview.errors));
    }
    let total = plan.steps.len();
    let mut ids: HashMap<String, UserId> = HashMap::new();
    let mut later_managers = Vec::new();
    for (i, (row, existing, draft, in_file_manager)) in plan.steps.into_iter().enumerate() {
        let res = match existing {
            Some((id, before)) => update_user_in(&mut tx, actor, id, &before, &draft).await.map(|_| id),
            None => create_user_in(&mut tx, actor, &draft).await,
        };
        let id = res.map_err(|e| with_row(e, row))?;
        ids.insert(draft.user_principal_name.to_lowercase(), id);
        if let Some(m) = in_file_manager {
            later_managers.push((row, id, draft, m));
        }
        if i % 100 == 0 || i + 1 == total {
            progress(i + 1, total);
        }
    }
    for (row, id, draft, m) in later_managers {
        let mid = ids.get(&m.to_lowercase()).copied();
        let mut after = draft.clone();
        after.manager_id = mid;
        update_user_in(&mut tx, actor, id, &draft, &after).await.map_err(|e| with_row(e, row))?;
    }
    crate::store::audit::append(
        &mut tx,
        &actor.audit(
            "user.import",
            "user",
            None,
            None,
            serde_json::json!({"rows": total, "creates": plan.preview.creates, "updates": plan.preview.updates}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(plan.preview)
}

fn with_row(e: ServiceError, row: usize) -> ServiceError {
    match e {
        ServiceError::Validation(v) => {
            ServiceError::Validation(v.into_iter().map(|f| FieldError::new(cell_field(row, &f.field), f.message)).collect())
        }
        ServiceError::Conflict(f) => ServiceError::Validation(vec![FieldError::new(cell_field(row, &f.field), f.message)]),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_column_is_named_with_a_hint() {
        let (_, errs) = parse(b"userPrincipalName,departmnt\na@b.io,Sales\n");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "row 1, column 2");
        assert!(errs[0].message.contains("did you mean 'department'"), "{}", errs[0].message);
    }

    #[test]
    fn ragged_row_and_bad_bool_are_reported_by_row() {
        let (rows, errs) = parse(b"userPrincipalName,accountEnabled\na@b.io,true\nb@b.io\nc@b.io,maybe\n");
        assert_eq!(rows.len(), 2);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["row 3", "row 4, column accountEnabled"]);
    }

    #[test]
    fn lists_and_extensions_are_parsed() {
        let (rows, errs) = parse(b"UserPrincipalName,otherMails,extension_costCenter\na@b.io,x@b.io; y@b.io,42\n");
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(rows[0].input.other_mails, Some(Some(vec!["x@b.io".to_string(), "y@b.io".to_string()])));
        assert_eq!(rows[0].input.extension_attributes.as_ref().unwrap()["costCenter"], Some("42".to_string()));
    }

    #[test]
    fn empty_and_binary_files_are_refused() {
        assert_eq!(parse(b"").1[0].field, "row 1");
        assert_eq!(parse(&[0xff, 0xfe, 0x00]).1[0].field, "file");
        assert_eq!(parse(b"userPrincipalName\n").1[0].message, "has a header but no users");
    }
}
