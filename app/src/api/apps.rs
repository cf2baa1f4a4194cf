//! Server functions of the Enterprise apps pages: the app list, the gallery, an app's overview, and
//! its users and groups. Each calls the same `provisio::service` function as the JSON API.

use leptos::prelude::*;
use provisio::apps::{App, Assignment, CredentialsView};
use provisio::model::Page;
use provisio::sync::job::JobStatus;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// One row of the app list: the app and its provisioning status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppRow {
    /// The app.
    pub app: App,
    /// Its provisioning job's status.
    pub status: JobStatus,
}

/// An app's overview: properties, the provisioning summary and whether credentials are set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    /// The app.
    pub app: App,
    /// Its provisioning job's status.
    pub status: JobStatus,
    /// Its admin credentials, without secrets.
    pub credentials: CredentialsView,
}

/// One page of apps (name prefix search), each with its job status.
#[server]
pub async fn list_apps(search: Option<String>, after: Option<String>) -> Result<Page<AppRow>, ServerFnError> {
    use provisio::service::{apps, provisioning};
    let (store, actor) = ssr::ctx().await?;
    let q = provisio::apps::AppQuery { search: search.filter(|s| !s.trim().is_empty()), top: Some(25), after };
    let page = apps::list_apps(&store, &actor, &q).await.map_err(ssr::err)?;
    let mut items = Vec::with_capacity(page.items.len());
    for app in page.items {
        let status = provisioning::status(&store, &actor, &app.id.to_string()).await.map_err(ssr::err)?;
        items.push(AppRow { app, status });
    }
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// Creates an app from a gallery entry (`template`) and opens its overview.
#[server]
pub async fn create_app(name: String, template: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let input = provisio::apps::NewApp { name, template: Some(template) };
    let app = provisio::service::apps::create_app(&store, &actor, input).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!("/apps/{}", app.id));
    Ok(())
}

/// An app (the frame of its blades needs only this; the overview adds status and credentials).
#[server]
pub async fn get_app(id: String) -> Result<App, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::apps::get_app(&store, &actor, &id).await.map_err(ssr::err)
}

/// An app's overview.
#[server]
pub async fn app_overview(id: String) -> Result<AppSummary, ServerFnError> {
    use provisio::service::{apps, provisioning};
    let (store, actor) = ssr::ctx().await?;
    let app = apps::get_app(&store, &actor, &id).await.map_err(ssr::err)?;
    let status = provisioning::status(&store, &actor, &id).await.map_err(ssr::err)?;
    let credentials = apps::get_provisioning(&store, &actor, &id).await.map_err(ssr::err)?.credentials;
    Ok(AppSummary { app, status, credentials })
}

/// Deletes an app once its name is typed to confirm, and goes back to the list.
#[server]
pub async fn delete_app(id: String, confirm: String) -> Result<(), ServerFnError> {
    use provisio::service::{apps, ServiceError};
    let (store, actor) = ssr::ctx().await?;
    let app = apps::get_app(&store, &actor, &id).await.map_err(ssr::err)?;
    if confirm.trim() != app.name {
        return Err(ssr::err(ServiceError::invalid("confirm", format!("type the app's name, '{}', to delete it", app.name))));
    }
    apps::delete_app(&store, &actor, &id).await.map_err(ssr::err)?;
    leptos_axum::redirect("/apps");
    Ok(())
}

/// A page of the users and groups assigned to an app (those matching `search`, when given).
#[server]
pub async fn list_assignments(id: String, after: Option<String>, search: Option<String>) -> Result<Page<Assignment>, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::apps::list_assignments(&store, &actor, &id, Some(25), after.as_deref(), search.as_deref()).await.map_err(ssr::err)
}

/// Assigns a user (by user principal name or id) or a group (by exact name or id) to an app, then
/// goes back to the app's Users and groups blade, which says whom it assigned.
#[server]
pub async fn assign_principal(id: String, principal: String) -> Result<Assignment, ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    let principal_id = super::provisioning::resolve_object(&store, &actor, "principal", &principal).await.map_err(ssr::err)?;
    let a = provisio::service::apps::assign(&store, &actor, &id, &principal_id).await.map_err(ssr::err)?;
    leptos_axum::redirect(&format!(
        "/apps/{id}/users?assigned={}",
        crate::components::encode(&format!("{} ({})", a.display_name, a.principal_type))
    ));
    Ok(a)
}

/// Removes a user or group from an app.
#[server]
pub async fn unassign_principal(id: String, principal_id: String) -> Result<(), ServerFnError> {
    let (store, actor) = ssr::ctx().await?;
    provisio::service::apps::unassign(&store, &actor, &id, &principal_id).await.map_err(ssr::err)
}

/// The gallery entries matching `search` (all of them without one), by name.
#[server]
pub async fn list_gallery(search: Option<String>) -> Result<Vec<provisio::gallery::GalleryEntry>, ServerFnError> {
    let _ = ssr::ctx().await?;
    let q = search.unwrap_or_default();
    Ok(provisio::gallery::search(q.trim()).into_iter().cloned().collect())
}

/// A gallery entry with its preconfigured mappings, for the create panel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GalleryDetail {
    /// The entry.
    pub entry: provisio::gallery::GalleryEntry,
    /// Its mappings and attribute lists.
    pub mappings: provisio::apps::AppMappings,
}

/// One gallery entry and its mappings.
#[server]
pub async fn gallery_entry(id: String) -> Result<GalleryDetail, ServerFnError> {
    use provisio::service::ServiceError;
    let _ = ssr::ctx().await?;
    let unknown = || ssr::err(ServiceError::NotFound { what: "gallery entry", id: id.clone() });
    let entry = provisio::gallery::get(&id).ok_or_else(unknown)?.clone();
    let mappings = provisio::gallery::mappings(&id).ok_or_else(unknown)?;
    Ok(GalleryDetail { entry, mappings })
}
