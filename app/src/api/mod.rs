//! Server functions: the portal's calls into the service layer. Each one authorizes through the
//! session and calls the same `provisio::service` function the JSON API calls. All are POST.

// Form-backed server functions take one argument per form field.
#![allow(clippy::too_many_arguments)]

pub mod apps;
pub mod logs;
pub mod mappings;
pub mod provisioning;

use leptos::prelude::*;
use provisio::model::{Admin, ApiToken, AuditEntry, FieldError, Group, Member, Page, Role, User};
use serde::{Deserialize, Serialize};

/// The signed-in admin, as the layout shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    /// User name.
    pub username: String,
    /// Role.
    pub role: Role,
}

/// A user with the groups it belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    /// The user.
    pub user: User,
    /// Direct group memberships as (id, name).
    pub member_of: Vec<(String, String)>,
}

/// A group with its first page of members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupDetail {
    /// The group.
    pub group: Group,
    /// Direct members.
    pub members: Page<Member>,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Context and error mapping for server functions.
    use crate::session::actor_from_session;
    use axum::extract::ConnectInfo;
    use leptos::prelude::*;
    use provisio::service::{Actor, ServiceError};
    use provisio::store::Store;
    use std::net::SocketAddr;
    use tower_sessions::Session;

    /// The client address, when the server knows it.
    pub async fn client_ip() -> Option<String> {
        leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok().map(|c| c.0.ip().to_string())
    }

    /// The store and the signed-in actor, or a 401 error.
    pub async fn ctx() -> Result<(Store, Actor), ServerFnError> {
        let store = use_context::<Store>().ok_or_else(|| ServerFnError::new("server misconfigured: no store"))?;
        let session = leptos_axum::extract::<Session>().await?;
        match actor_from_session(&store, &session, client_ip().await).await {
            Ok(Some(a)) => Ok((store, a)),
            Ok(None) => Err(err(ServiceError::Unauthorized("sign in first".into()))),
            Err(e) => Err(err(e)),
        }
    }

    /// Where the portal may send requests to targets: the key that opens app secrets, and whether
    /// private addresses are allowed (test targets).
    #[derive(Clone)]
    pub struct TargetAccess {
        /// Opens the apps' sealed secrets.
        pub secrets: provisio::crypto::SecretBox,
        /// `PROVISIO_ALLOW_PRIVATE_TARGETS`.
        pub allow_private: bool,
    }

    /// The store, the signed-in actor and the target access, or a 401 error.
    pub async fn target_ctx() -> Result<(Store, Actor, TargetAccess), ServerFnError> {
        let (store, actor) = ctx().await?;
        let access = use_context::<TargetAccess>().ok_or_else(|| ServerFnError::new("server misconfigured: no secret key"))?;
        Ok((store, actor, access))
    }

    /// Maps a service error to a server-function error, setting the HTTP status that means it.
    /// Validation and conflict errors keep their fields (see [`super::field_errors`]).
    pub fn err(e: ServiceError) -> ServerFnError {
        if let ServiceError::Store(inner) = &e {
            tracing::error!(error = %inner, "store error in server function");
        }
        // A plain (no-JS) form post must get leptos's redirect back to the page, which carries the
        // error; only programmatic calls get the status that means the error.
        let plain_form = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
            .unwrap_or(false);
        if !plain_form {
            if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                opts.set_status(axum::http::StatusCode::from_u16(e.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR));
            }
        }
        match &e {
            ServiceError::Validation(v) => ServerFnError::new(super::encode_field_errors(v)),
            ServiceError::Conflict(f) => ServerFnError::new(super::encode_field_errors(std::slice::from_ref(f))),
            _ => ServerFnError::new(e.public_message()),
        }
    }
}

/// Marks a server-function error message that carries field errors (as JSON after the mark).
const FIELD_ERRORS_MARK: &str = "fields:";

/// Encodes field errors into a server-function error message.
pub fn encode_field_errors(errors: &[FieldError]) -> String {
    format!("{FIELD_ERRORS_MARK}{}", serde_json::to_string(errors).unwrap_or_default())
}

/// The field errors a server function answered with (empty for other errors).
pub fn field_errors(e: &ServerFnError) -> Vec<FieldError> {
    match e {
        ServerFnError::ServerError(m) => m.strip_prefix(FIELD_ERRORS_MARK).and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Shows a server-function error as a person should read it.
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) if m.starts_with(FIELD_ERRORS_MARK) => {
            field_errors(e).iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; ")
        }
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

#[cfg(feature = "ssr")]
fn opt(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// The signed-in admin, or `None`.
#[server]
pub async fn current_admin() -> Result<Option<Me>, ServerFnError> {
    use crate::session::actor_from_session;
    let store = use_context::<provisio::store::Store>().ok_or_else(|| ServerFnError::new("no store"))?;
    let session = leptos_axum::extract::<tower_sessions::Session>().await?;
    let actor = actor_from_session(&store, &session, None).await.map_err(ssr::err)?;
    Ok(actor.map(|a| Me { username: a.name, role: a.role }))
}

/// Signs in; on success goes to `next` (a local path) or the home page.
#[server]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<(), ServerFnError> {
    let store = use_context::<provisio::store::Store>().ok_or_else(|| ServerFnError::new("no store"))?;
    let session = leptos_axum::extract::<tower_sessions::Session>().await?;
    let ip = ssr::client_ip().await;
    let admin = provisio::service::session::login(&store, &username, &password, ip.as_deref()).await.map_err(ssr::err)?;
    crate::session::establish(&session, &admin).await.map_err(ssr::err)?;
    let next = next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\')).unwrap_or_else(|| "/".into());
    leptos_axum::redirect(&next);
    Ok(())
}

/// Signs out (deletes the session on the server).
#[server]
pub async fn logout() -> Result<(), ServerFnError> {
    let session = leptos_axum::extract::<tower_sessions::Session>().await?;
    if let Ok((store, actor)) = ssr::ctx().await {
        let _ = provisio::service::session::logout(&store, &actor).await;
    }
    crate::session::end(&session).await;
    leptos_axum::redirect("/login");
    Ok(())
}

/// One page of users (or of the recycle bin).
#[server]
pub async fn list_users(
    search: Option<String>,
    department: Option<String>,
    enabled: Option<String>,
    after: Option<String>,
    deleted: bool,
) -> Result<Page<User>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let q = provisio::model::UserQuery {
        search,
        department,
        enabled: match enabled.as_deref() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        },
        deleted,
        top: Some(25),
        after,
    };
    provisio::service::directory::list_users(&store, &actor, &q).await.map_err(ssr::err)
}

/// A user as the suggestion lists offer it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserChoice {
    /// The user principal name (what the field takes).
    pub upn: String,
    /// The display name (shown beside it).
    pub name: String,
}

/// Up to 10 users whose name or user principal name starts with `prefix` (at least 2 characters),
/// for the fields that take a user.
#[server]
pub async fn suggest_users(prefix: String) -> Result<Vec<UserChoice>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    if prefix.trim().chars().count() < 2 {
        return Ok(Vec::new());
    }
    let q = provisio::model::UserQuery { search: Some(prefix.trim().to_string()), top: Some(10), ..Default::default() };
    let page = provisio::service::directory::list_users(&store, &actor, &q).await.map_err(ssr::err)?;
    Ok(page.items.into_iter().map(|u| UserChoice { upn: u.user_principal_name, name: u.display_name }).collect())
}

/// The departments in use.
#[server]
pub async fn list_departments() -> Result<Vec<String>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::directory::departments(&store, &actor).await.map_err(ssr::err)
}

/// A user and its groups.
#[server]
pub async fn get_user(id: String) -> Result<UserDetail, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let user = provisio::service::directory::get_user(&store, &actor, &id).await.map_err(ssr::err)?;
    let member_of = provisio::service::directory::member_of(&store, &actor, &id).await.map_err(ssr::err)?;
    Ok(UserDetail { user, member_of })
}

/// Creates (no `id`) or updates a user from the user form, then shows it. Empty fields clear values.
#[server]
pub async fn save_user(
    id: Option<String>,
    user_principal_name: String,
    display_name: String,
    given_name: String,
    surname: String,
    mail: String,
    department: String,
    job_title: String,
    company_name: String,
    employee_id: String,
    employee_type: String,
    office_location: String,
    city: String,
    country: String,
    usage_location: String,
    preferred_language: String,
    mobile_phone: String,
    manager: String,
    account_enabled: Option<String>,
) -> Result<(), ServerFnError> {
    use provisio::model::{ObjectRef, UserInput};
    let (store, actor) = ssr::ctx().await?;
    let manager = opt(manager);
    // The manager field takes a user id or a userPrincipalName.
    let manager_ref = match manager {
        None => None,
        Some(m) if provisio::model::UserId::parse(&m).is_ok() => Some(ObjectRef { id: m, display_name: None, user_principal_name: None }),
        Some(m) => {
            let found = provisio::service::directory::find_user_by_upn(&store, &actor, &m).await.map_err(ssr::err)?;
            match found {
                Some(u) => Some(ObjectRef { id: u.id.to_string(), display_name: None, user_principal_name: None }),
                None => return Err(ssr::err(provisio::service::ServiceError::invalid("manager", format!("no user '{m}'")))),
            }
        }
    };
    let input = UserInput {
        user_principal_name: Some(opt(user_principal_name)),
        display_name: Some(opt(display_name)),
        given_name: Some(opt(given_name)),
        surname: Some(opt(surname)),
        mail: Some(opt(mail)),
        department: Some(opt(department)),
        job_title: Some(opt(job_title)),
        company_name: Some(opt(company_name)),
        employee_id: Some(opt(employee_id)),
        employee_type: Some(opt(employee_type)),
        office_location: Some(opt(office_location)),
        city: Some(opt(city)),
        country: Some(opt(country)),
        usage_location: Some(opt(usage_location)),
        preferred_language: Some(opt(preferred_language)),
        mobile_phone: Some(opt(mobile_phone)),
        manager: Some(manager_ref),
        account_enabled: Some(Some(account_enabled.is_some())),
        ..Default::default()
    };
    let user = match id.and_then(opt) {
        Some(id) => provisio::service::directory::update_user(&store, &actor, &id, input).await,
        None => provisio::service::directory::create_user(&store, &actor, input).await,
    }
    .map_err(ssr::err)?;
    // A fresh `saved` value makes the page refetch the user even when it is already on `?saved=…`.
    leptos_axum::redirect(&format!("/users/{}?saved={}", user.id, user.updated_date_time.timestamp_millis()));
    Ok(())
}

/// Moves a user to the recycle bin.
#[server]
pub async fn delete_user(id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::directory::delete_user(&store, &actor, &id).await.map_err(ssr::err)?;
    leptos_axum::redirect("/recycle-bin");
    Ok(())
}

/// Restores a user from the recycle bin.
#[server]
pub async fn restore_user(id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::directory::restore_user(&store, &actor, &id).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/users/{id}?restored=1"));
    Ok(())
}

/// Deletes a user from the recycle bin for good.
#[server]
pub async fn purge_user(id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::directory::purge_user(&store, &actor, &id).await.map_err(ssr::err)?;
    leptos_axum::redirect("/recycle-bin");
    Ok(())
}

/// One page of groups.
#[server]
pub async fn list_groups(search: Option<String>, after: Option<String>) -> Result<Page<Group>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let q = provisio::model::GroupQuery { search, top: Some(25), after };
    provisio::service::directory::list_groups(&store, &actor, &q).await.map_err(ssr::err)
}

/// A group and a page of its members.
#[server]
pub async fn get_group(id: String, after: Option<String>) -> Result<GroupDetail, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let group = provisio::service::directory::get_group(&store, &actor, &id).await.map_err(ssr::err)?;
    let members = provisio::service::directory::list_members(&store, &actor, &id, Some(50), after.as_deref()).await.map_err(ssr::err)?;
    Ok(GroupDetail { group, members })
}

/// Creates (no `id`) or updates a group, then shows it.
#[server]
pub async fn save_group(
    id: Option<String>,
    display_name: String,
    description: String,
    mail_nickname: String,
    security_enabled: Option<String>,
) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let input = provisio::model::GroupInput {
        display_name: Some(opt(display_name)),
        description: Some(opt(description)),
        mail_nickname: Some(opt(mail_nickname)),
        security_enabled: Some(Some(security_enabled.is_some())),
    };
    let g = match id.and_then(opt) {
        Some(id) => provisio::service::directory::update_group(&store, &actor, &id, input).await,
        None => provisio::service::directory::create_group(&store, &actor, input).await,
    }
    .map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/groups/{}?saved=1", g.id));
    Ok(())
}

/// Deletes a group.
#[server]
pub async fn delete_group(id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::directory::delete_group(&store, &actor, &id).await.map_err(ssr::err)?;
    leptos_axum::redirect("/groups");
    Ok(())
}

/// Adds a member to a group; `member` is a user id, a group id or a userPrincipalName.
#[server]
pub async fn add_member(group_id: String, member: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let member = member.trim().to_string();
    let member_id = if uuid::Uuid::parse_str(&member).is_ok() || member.is_empty() {
        member
    } else {
        match provisio::service::directory::find_user_by_upn(&store, &actor, &member).await.map_err(ssr::err)? {
            Some(u) => u.id.to_string(),
            None => return Err(ssr::err(provisio::service::ServiceError::invalid("member", format!("no user '{member}'")))),
        }
    };
    provisio::service::directory::add_member(&store, &actor, &group_id, &member_id).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/groups/{group_id}?added=1"));
    Ok(())
}

/// Removes a member from a group.
#[server]
pub async fn remove_member(group_id: String, member_id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::directory::remove_member(&store, &actor, &group_id, &member_id).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/groups/{group_id}?removed=1"));
    Ok(())
}

/// One page of the audit log.
#[server]
pub async fn list_audit(
    actor_name: Option<String>,
    action: Option<String>,
    target_id: Option<String>,
    after: Option<String>,
) -> Result<Page<AuditEntry>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let q = provisio::model::AuditQuery { actor: actor_name, action, target_id, top: Some(50), after };
    provisio::service::admins::list_audit(&store, &actor, &q).await.map_err(ssr::err)
}

/// Admin accounts and API tokens.
#[server]
pub async fn list_admins_and_tokens() -> Result<(Vec<Admin>, Vec<ApiToken>), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let admins = provisio::service::admins::list_admins(&store, &actor).await.map_err(ssr::err)?;
    let tokens = provisio::service::admins::list_tokens(&store, &actor).await.map_err(ssr::err)?;
    Ok((admins, tokens))
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<Role, ServerFnError> {
    Role::parse(role).ok_or_else(|| ServerFnError::new(format!("role: '{role}' is not Administrator, ApplicationAdministrator or Reader")))
}

/// Creates an admin account.
#[server]
pub async fn create_admin(username: String, password: String, role: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::admins::create_admin(&store, &actor, &username, &password, parse_role(&role)?).await.map_err(ssr::err)?;
    leptos_axum::redirect("/admins?created=1");
    Ok(())
}

/// Changes an admin's role and enabled state.
#[server]
pub async fn update_admin(id: String, role: String, disabled: Option<String>) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::admins::update_admin(&store, &actor, &id, Some(parse_role(&role)?), Some(disabled.is_some()))
        .await
        .map_err(ssr::err)?;
    leptos_axum::redirect("/admins?saved=1");
    Ok(())
}

/// Deletes an admin account.
#[server]
pub async fn delete_admin(id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::admins::delete_admin(&store, &actor, &id).await.map_err(ssr::err)?;
    leptos_axum::redirect("/admins?deleted=1");
    Ok(())
}

/// Creates an API token and returns it (shown once).
#[server]
pub async fn create_token(name: String, role: String) -> Result<String, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let (_, token) = provisio::service::admins::create_token(&store, &actor, &name, parse_role(&role)?).await.map_err(ssr::err)?;
    Ok(token)
}

/// Revokes an API token.
#[server]
pub async fn revoke_token(id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::admins::revoke_token(&store, &actor, &id).await.map_err(ssr::err)?;
    leptos_axum::redirect("/admins?revoked=1");
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// CSV import (/users/import): upload and preview, run in the background, poll the progress.
// ---------------------------------------------------------------------------------------------------

use leptos::server_fn::codec::{MultipartData, MultipartFormData};

/// Where an import job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportState {
    /// Uploaded and previewed; not started.
    Ready,
    /// Rows are being written.
    Running,
    /// Every row was imported.
    Succeeded,
    /// Nothing was imported.
    Failed,
}

/// The progress of an import job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportProgress {
    /// Where the job stands.
    pub state: ImportState,
    /// Rows written so far.
    pub done: usize,
    /// Rows to write.
    pub total: usize,
    /// The outcome, once there is one.
    pub message: Option<String>,
}

/// One row of an import preview.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportRow {
    /// The row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The user's principal name.
    pub user_principal_name: String,
    /// The user's display name.
    pub display_name: String,
    /// Create, Update or Unchanged.
    pub action: String,
}

/// An uploaded file: what importing it would do, and how far the import got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportJobView {
    /// The uploaded file's name.
    pub file_name: String,
    /// Data rows in the file.
    pub total_rows: usize,
    /// Rows that create a user.
    pub creates: usize,
    /// Rows that change a user.
    pub updates: usize,
    /// Rows that match their user already.
    pub unchanged: usize,
    /// Every problem, each naming its row and column.
    pub errors: Vec<FieldError>,
    /// The first rows.
    pub rows: Vec<ImportRow>,
    /// The import's progress.
    pub progress: ImportProgress,
}

#[cfg(feature = "ssr")]
mod import_ssr {
    use leptos::prelude::*;

    /// The import jobs of this process.
    pub fn jobs() -> Result<crate::imports::ImportJobs, ServerFnError> {
        use_context::<crate::imports::ImportJobs>().ok_or_else(|| ServerFnError::new("server misconfigured: no import jobs"))
    }

    /// The error for an unknown, expired or foreign job.
    pub fn no_job() -> ServerFnError {
        super::ssr::err(provisio::service::ServiceError::NotFound { what: "import", id: "this upload".into() })
    }

    /// Plain (no JavaScript) form posts are answered with a redirect back to the form, the error encoded
    /// in the URL; an error status would stop the browser from following it. Keeps the status of calls
    /// made from JavaScript.
    pub fn form_friendly<T>(r: Result<T, ServerFnError>) -> Result<T, ServerFnError> {
        if r.is_err() {
            let plain_form = use_context::<axum::http::request::Parts>()
                .and_then(|p| p.headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|v| v.contains("text/html")))
                .unwrap_or(false);
            if plain_form {
                if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
                    opts.set_status(axum::http::StatusCode::FOUND);
                }
            }
        }
        r
    }

    /// Reads the `file` field of an upload, refusing files over the limit (the rest of the body is
    /// read and discarded, so the browser still gets the answer). Returns the file name and bytes.
    pub async fn read_upload(data: leptos::server_fn::codec::MultipartData) -> Result<(String, Vec<u8>), ServerFnError> {
        use provisio::service::import::MAX_IMPORT_BYTES;
        // Beyond this the connection is simply dropped.
        const DRAIN_LIMIT: usize = 8 * MAX_IMPORT_BYTES;
        let mut mp = data.into_inner().ok_or_else(|| ServerFnError::new("expected a multipart form"))?;
        let bad = |e: String| ServerFnError::new(format!("The upload could not be read: {e}"));
        let (mut name, mut bytes, mut seen, mut found) = (String::new(), Vec::new(), 0usize, false);
        while let Some(mut field) = mp.next_field().await.map_err(|e| bad(e.to_string()))? {
            let is_file = field.name() == Some("file");
            if is_file && !found {
                found = true;
                name = field.file_name().unwrap_or_default().to_string();
            }
            while let Some(chunk) = field.chunk().await.map_err(|e| bad(e.to_string()))? {
                seen += chunk.len();
                if seen > DRAIN_LIMIT {
                    return Err(too_large());
                }
                if is_file && seen <= MAX_IMPORT_BYTES {
                    bytes.extend_from_slice(&chunk);
                }
            }
        }
        if seen > MAX_IMPORT_BYTES {
            return Err(too_large());
        }
        if !found || (bytes.is_empty() && name.is_empty()) {
            return Err(ServerFnError::new("Choose a CSV file to upload."));
        }
        if bytes.is_empty() {
            return Err(ServerFnError::new(format!("The file '{name}' is empty.")));
        }
        Ok((name, bytes))
    }

    fn too_large() -> ServerFnError {
        let mb = provisio::service::import::MAX_IMPORT_BYTES / 1024 / 1024;
        ServerFnError::new(format!("The file is larger than {mb} MB: split it into several files and import them one by one."))
    }

    /// A 409 error with a message for people.
    pub fn conflict(message: &str) -> ServerFnError {
        if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(axum::http::StatusCode::CONFLICT);
        }
        ServerFnError::new(message)
    }

    /// Why an import wrote nothing, in at most a few thousand characters.
    pub fn failure_message(e: &provisio::service::ServiceError) -> String {
        const MAX: usize = 2000;
        let mut m = format!("Nothing was imported: {}", e.public_message());
        if m.len() > MAX {
            let cut = (0..=MAX).rev().find(|i| m.is_char_boundary(*i)).unwrap_or(0);
            m.truncate(cut);
            m.push_str(" …");
        }
        m
    }

    /// "Imported 3 users."
    pub fn imported_message(n: usize) -> String {
        if n == 1 {
            "Imported 1 user.".into()
        } else {
            format!("Imported {n} users.")
        }
    }
}

/// Uploads a CSV file (multipart field `file`, at most 20 MB) and checks it without writing anything,
/// then shows the preview at `/users/import?job=<id>`.
#[server(input = MultipartFormData)]
pub async fn upload_import(data: MultipartData) -> Result<(), ServerFnError> {
    import_ssr::form_friendly(
        async move {
            let (store, actor) = ssr::ctx().await?;
            actor.require_directory_write().map_err(ssr::err)?;
            let (name, bytes) = import_ssr::read_upload(data).await?;
            let preview = provisio::service::import::preview(&store, &actor, &bytes).await.map_err(ssr::err)?;
            let job = crate::imports::ImportJob::new(bytes, name, actor.name.clone(), preview);
            let id = import_ssr::jobs()?.insert(job);
            leptos_axum::redirect(&format!("/users/import?job={id}"));
            Ok(())
        }
        .await,
    )
}

/// An uploaded file's preview and progress.
#[server]
pub async fn import_job(job: String) -> Result<ImportJobView, ServerFnError> {
    let (_, actor) = ssr::ctx().await?;
    import_ssr::jobs()?.get(&job, &actor.name).map(|j| j.view()).ok_or_else(import_ssr::no_job)
}

/// The progress of an import.
#[server]
pub async fn import_status(job: String) -> Result<ImportProgress, ServerFnError> {
    let (_, actor) = ssr::ctx().await?;
    import_ssr::jobs()?.get(&job, &actor.name).map(|j| j.progress()).ok_or_else(import_ssr::no_job)
}

/// Starts importing an uploaded file in the background (every row in one transaction, or none), then
/// shows its progress at `/users/import?job=<id>`.
#[server]
pub async fn run_import(job: String) -> Result<(), ServerFnError> {
    import_ssr::form_friendly(
        async move {
            let (store, actor) = ssr::ctx().await?;
            actor.require_directory_write().map_err(ssr::err)?;
            let jobs = import_ssr::jobs()?;
            let csv = jobs.start(&job, &actor.name).map_err(import_ssr::conflict)?;
            let id = job.clone();
            tokio::spawn(async move {
                let (task_jobs, task_id) = (jobs.clone(), id.clone());
                // The import runs in its own task so that a panic still ends the job (as failed).
                let outcome = tokio::spawn(async move {
                    let progress = move |done: usize, total: usize| {
                        task_jobs.update(&task_id, |j| {
                            j.done = done;
                            j.total = total;
                        })
                    };
                    provisio::service::import::import(&store, &actor, &csv, &progress).await
                })
                .await;
                jobs.update(&id, |j| match outcome {
                    Ok(Ok(p)) => {
                        j.state = ImportState::Succeeded;
                        j.done = p.total_rows;
                        j.total = p.total_rows;
                        j.message = Some(import_ssr::imported_message(p.total_rows));
                        j.csv = Default::default();
                    }
                    Ok(Err(e)) => {
                        if let provisio::service::ServiceError::Store(inner) = &e {
                            tracing::error!(error = %inner, "store error in CSV import");
                        }
                        j.state = ImportState::Failed;
                        j.done = 0;
                        j.message = Some(import_ssr::failure_message(&e));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "CSV import task failed");
                        j.state = ImportState::Failed;
                        j.done = 0;
                        j.message = Some("Nothing was imported: the import stopped unexpectedly; it has been logged".into());
                    }
                });
            });
            leptos_axum::redirect(&format!("/users/import?job={job}"));
            Ok(())
        }
        .await,
    )
}

// ---------------------------------------------------------------------------------------------------
// Expression builder (/expressions): evaluate an attribute-mapping expression for a user.
// ---------------------------------------------------------------------------------------------------

/// Where an error in an expression's text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpressionPosition {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// First byte of the offending text.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
}

/// Why an expression gave no value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpressionProblem {
    /// What is wrong.
    pub message: String,
    /// Where, for an error in the text (none when evaluating failed).
    pub at: Option<ExpressionPosition>,
}

/// The user an expression was evaluated for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluatedUser {
    /// The user's id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// User principal name.
    pub user_principal_name: String,
}

/// What the expression builder shows after Evaluate: the service's evaluation, for the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpressionResult {
    /// The value, as JSON (null for no value); meaningful when `error` is `None`.
    pub value: serde_json::Value,
    /// The value's type (`String`, `Multi`, `Boolean`, …; `Any` for null).
    pub value_type: String,
    /// The value as Entra writes it as text; `None` for null.
    pub text: Option<String>,
    /// `IgnoreFlowIfNullOrEmpty` fired: the attribute would be left out of the flow.
    pub ignored: bool,
    /// The expression's static result type, when it compiled.
    pub returns: Option<String>,
    /// The source attributes the expression reads, with the user's values.
    pub attributes: Vec<(String, serde_json::Value)>,
    /// The expression pretty-printed, when it parsed.
    pub pretty: Option<String>,
    /// Why there is no value, if there is none.
    pub error: Option<ExpressionProblem>,
    /// The user it was evaluated for (none: every attribute was null).
    pub user: Option<EvaluatedUser>,
}

/// Checks and evaluates `expression` for `user` (a user principal name or id; empty for no user),
/// through the same service function as `POST /api/v1/expressions/evaluate`.
#[server]
pub async fn evaluate_expression(expression: String, user: Option<String>) -> Result<ExpressionResult, ServerFnError> {
    use provisio::service::{directory as dir, expressions, ServiceError};
    let (store, actor) = ssr::ctx().await?;
    let user = match user.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        None => None,
        Some(u) => {
            let found = if provisio::model::UserId::parse(u).is_ok() {
                Some(dir::get_user(&store, &actor, u).await.map_err(ssr::err)?)
            } else {
                dir::find_user_by_upn(&store, &actor, u).await.map_err(ssr::err)?
            };
            Some(found.ok_or_else(|| ssr::err(ServiceError::NotFound { what: "user", id: u.to_string() }))?)
        }
    };
    let ev = expressions::evaluate(&store, &actor, &expression, user.as_ref().map(|u| u.id)).await.map_err(ssr::err)?;
    let (value, error) = match ev.outcome {
        Ok(v) => (v, None),
        Err(e) => {
            let at = e.at.map(|p| ExpressionPosition { line: p.line, column: p.column, start: p.start, end: p.end });
            (
                expressions::Evaluated { value: provisio::expr::Value::Null, ignored: false },
                Some(ExpressionProblem { message: e.message, at }),
            )
        }
    };
    Ok(ExpressionResult {
        value: value.value.to_json(),
        value_type: value.value.type_of().to_string(),
        text: value.value.text().map(|t| t.into_owned()),
        ignored: value.ignored,
        returns: ev.returns.map(|t| t.to_string()),
        attributes: ev.attributes.into_iter().map(|(k, v)| (k, v.to_json())).collect(),
        pretty: ev.pretty,
        error,
        user: user.map(|u| EvaluatedUser {
            id: u.id.to_string(),
            display_name: u.display_name,
            user_principal_name: u.user_principal_name,
        }),
    })
}
