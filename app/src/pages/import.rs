//! CSV import of users: upload a file, check the preview, import every row (or none), watch the
//! progress. Every step works without JavaScript; with it, the progress updates by itself.

use crate::api::{error_text, import_job, import_status, ImportJobView, ImportProgress, ImportState, RunImport, UploadImport};
use crate::components::{may_write, ActionError, ErrorBox, IfWriter, MeResource};
use leptos::prelude::*;
use leptos::server_fn::error::ServerFnUrlError;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use provisio::model::IMPORT_COLUMNS as COLUMNS;

/// How often the progress is asked for while an import runs (with JavaScript).
const POLL_MS: u64 = 500;

/// Reloads a running import's page every 2 seconds when JavaScript is off.
const NO_JS_REFRESH: &str = r#"<meta http-equiv="refresh" content="2"><p><a href="">Refresh</a> to see how far the import got.</p>"#;

/// `1 user`, `3 users`.
fn users(n: usize) -> String {
    if n == 1 {
        "1 user".into()
    } else {
        format!("{n} users")
    }
}

/// The import page: upload form, preview of an uploaded file (`?job=`), and the import's progress.
#[component]
pub fn ImportPage() -> impl IntoView {
    let q = use_query_map();
    let job = move || q.read().get("job").filter(|j| !j.is_empty());
    let me = use_context::<MeResource>();
    let writer = Resource::new(|| (), move |_| may_write(me));
    let run = ServerAction::<RunImport>::new();
    let detail = Resource::new(job, |job| async move {
        match job {
            Some(j) => import_job(j).await.map(Some),
            None => Ok(None),
        }
    });

    // An upload that failed comes back here with the error in the URL (plain form post).
    let upload_error = move || {
        let q = q.read();
        match (q.get_str("__path"), q.get_str("__err")) {
            (Some(path), Some(err)) if path == UploadImport::PATH => Some(error_text(&ServerFnUrlError::<ServerFnError>::decode_err(err))),
            _ => None,
        }
    };

    view! {
        <div class="page-head">
            <h1>"Import users"</h1>
            <div class="actions">
                <a class="button" href="/users">
                    "Back to users"
                </a>
            </div>
        </div>
        <p class="lead">
            "Create and update users from a CSV file. The file is checked first and nothing is written until you confirm; if any row has a problem, nothing is imported."
        </p>
        {move || upload_error().map(|m| view! { <ErrorBox message=m /> })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let writer = writer.await;
                match (job(), detail.await) {
                    (Some(job), Ok(Some(detail))) => {
                        let progress = detail.progress.clone();
                        view! {
                            <ActionError action=run />
                            <Preview detail run writer job=job.clone() />
                            <ImportProgressPanel job progress />
                        }
                        .into_any()
                    }
                    (_, Err(e)) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
        <IfWriter fallback=|| {
            view! {
                <p class="notice" role="status">
                    "Your role can read the directory but not import users."
                </p>
            }
        }>
            <section class="upload">
                <h2>{move || if job().is_some() { "Upload another file" } else { "Upload a CSV file" }}</h2>
                <form
                    method="post"
                    enctype="multipart/form-data"
                    action=UploadImport::url()
                    class="form-grid"
                    data-testid="upload-form"
                >
                    <label>
                        "CSV file (UTF-8, at most 20 MB)"
                        <input type="file" name="file" accept=".csv,text/csv" required data-testid="import-file" />
                    </label>
                    <div class="form-actions">
                        <button type="submit" class="primary" data-testid="upload-import">
                            "Upload and check"
                        </button>
                    </div>
                </form>
            </section>
        </IfWriter>
        <FormatHelp />
    }
}

/// A started import's progress bar and status (an island: it asks for the progress every
/// [`POLL_MS`] while the import runs, and stops when it ends or the page is left).
#[island]
fn ImportProgressPanel(job: String, progress: ImportProgress) -> impl IntoView {
    let progress = RwSignal::new(progress);
    let anchor = NodeRef::<leptos::html::Div>::new();
    let fetch = move || {
        let job = job.clone();
        leptos::task::spawn_local(async move {
            if let Ok(p) = import_status(job).await {
                progress.try_set(p);
            }
        });
    };
    poll_while_running(progress, fetch, anchor);
    view! {
        <div node_ref=anchor>
            {move || view! { <Progress progress=progress.get() /> }}
        </div>
    }
}

/// While the import runs, calls `fetch` every [`POLL_MS`] (in the browser only; effects do not run on
/// the server). Stops when it ends or the island has left the page (the portal swaps pages in place).
fn poll_while_running(progress: RwSignal<ImportProgress>, fetch: impl Fn() + Clone + 'static, anchor: NodeRef<leptos::html::Div>) {
    let handle = StoredValue::new(None::<IntervalHandle>);
    Effect::new(move |_| {
        let running = progress.with(|p| p.state == ImportState::Running);
        match (running, handle.get_value()) {
            (true, None) => {
                let fetch = fetch.clone();
                let h = set_interval_with_handle(
                    move || {
                        if anchor.get_untracked().is_some_and(|el| !el.is_connected()) {
                            if let Some(h) = handle.get_value() {
                                h.clear();
                            }
                            return;
                        }
                        fetch();
                    },
                    std::time::Duration::from_millis(POLL_MS),
                )
                .ok();
                handle.set_value(h);
            }
            (false, Some(h)) => {
                h.clear();
                handle.set_value(None);
            }
            _ => {}
        }
    });
}

/// What importing an uploaded file would do: counts, problems, the first rows, and the import button.
#[component]
fn Preview(detail: ImportJobView, run: ServerAction<RunImport>, writer: bool, job: String) -> impl IntoView {
    let ImportJobView { file_name, total_rows, creates, updates, unchanged, errors, rows, progress } = detail;
    let has_errors = !errors.is_empty();
    let ready = progress.state == ImportState::Ready;
    let error_rows = errors
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td class="nowrap">{e.field}</td>
                    <td>{e.message}</td>
                </tr>
            }
        })
        .collect_view();
    let shown = rows.len();
    let first_rows = rows
        .into_iter()
        .map(|r| {
            let class = match r.action.as_str() {
                "Create" => "badge ok",
                "Update" => "badge warn",
                _ => "badge",
            };
            view! {
                <tr>
                    <td>{r.row}</td>
                    <td>{r.user_principal_name}</td>
                    <td>{r.display_name}</td>
                    <td>
                        <span class=class>{r.action}</span>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="import-preview" data-testid="import-preview">
            <h2>"Check " <span class="file-name">{file_name}</span></h2>
            <div class="stats">
                <div class="stat" data-testid="import-creates">
                    <strong>{creates}</strong>
                    <span>"to create"</span>
                </div>
                <div class="stat" data-testid="import-updates">
                    <strong>{updates}</strong>
                    <span>"to update"</span>
                </div>
                <div class="stat" data-testid="import-unchanged">
                    <strong>{unchanged}</strong>
                    <span>"unchanged"</span>
                </div>
            </div>
            {if has_errors {
                view! {
                    <h3>"Problems"</h3>
                    <table class="list errors" data-testid="import-errors">
                        <thead>
                            <tr>
                                <th>"Row/column"</th>
                                <th>"Problem"</th>
                            </tr>
                        </thead>
                        <tbody>{error_rows}</tbody>
                    </table>
                    <p class="error" role="alert" data-testid="import-blocked">
                        "Nothing was imported: fix the rows above and upload again."
                    </p>
                }
                    .into_any()
            } else if ready && writer {
                view! {
                    <ActionForm action=run attr:class="inline" attr:data-testid="run-import-form">
                        <input type="hidden" name="job" value=job />
                        <button type="submit" class="primary" data-testid="run-import">
                            "Import "
                            {users(total_rows)}
                        </button>
                    </ActionForm>
                }
                    .into_any()
            } else {
                ().into_any()
            }}
            {(shown > 0)
                .then(|| {
                    let caption = if shown < total_rows {
                        format!("The first {shown} of {total_rows} rows")
                    } else {
                        "The rows".to_string()
                    };
                    view! {
                        <h3>{caption}</h3>
                        <table class="list" data-testid="import-rows">
                            <thead>
                                <tr>
                                    <th>"Row"</th>
                                    <th>"User principal name"</th>
                                    <th>"Display name"</th>
                                    <th>"Action"</th>
                                </tr>
                            </thead>
                            <tbody>{first_rows}</tbody>
                        </table>
                    }
                })}
        </section>
    }
}

/// The progress bar and status line of a started import.
#[component]
fn Progress(progress: ImportProgress) -> impl IntoView {
    let ImportProgress { state, done, total, message } = progress;
    let max = total.max(1);
    match state {
        ImportState::Ready => ().into_any(),
        ImportState::Running => view! {
            <section class="import-progress" aria-live="polite">
                <progress data-testid="import-progress" max=max value=done>
                    {done} " / " {total}
                </progress>
                <p data-testid="import-status" class="muted">
                    "Importing… " {done} " of " {total} " rows written."
                </p>
                // Without JavaScript the page reloads itself while the import runs. (Set as HTML: with
                // JavaScript, noscript content is plain text, which hydration must not walk.)
                <noscript inner_html=NO_JS_REFRESH />
            </section>
        }
        .into_any(),
        ImportState::Succeeded => view! {
            <section class="import-progress" aria-live="polite">
                <progress data-testid="import-progress" max=max value=max>
                    {total} " / " {total}
                </progress>
                <p class="notice" role="status" data-testid="import-status">
                    {message.unwrap_or_else(|| format!("Imported {}.", users(total)))}
                    " "
                    <a href="/users">"See the users"</a>
                </p>
            </section>
        }
        .into_any(),
        ImportState::Failed => view! {
            <section class="import-progress" aria-live="polite">
                <progress data-testid="import-progress" max=max value=0>
                    "0 / "
                    {total}
                </progress>
                <div class="error" role="alert" data-testid="import-status">
                    {message.unwrap_or_else(|| "Nothing was imported.".into())}
                </div>
            </section>
        }
        .into_any(),
    }
}

/// What a file may contain, and a sample to start from.
#[component]
fn FormatHelp() -> impl IntoView {
    let columns = COLUMNS.iter().map(|c| view! { <li><code>{*c}</code></li> }).collect_view();
    view! {
        <section class="help" data-testid="import-help">
            <h2>"File format"</h2>
            <p>
                "A UTF-8 CSV file whose first row names the columns (any order, case-insensitive). "
                "Only " <code>"userPrincipalName"</code> " is required. "
                "A row whose userPrincipalName already exists updates that user; any other row creates one. "
                "Empty cells clear a value; columns the file does not have are left as they are."
            </p>
            <ul class="chips columns">{columns}</ul>
            <ul>
                <li>
                    <code>"manager"</code>
                    " holds the manager's userPrincipalName (a user in the directory or elsewhere in the file)."
                </li>
                <li>
                    <code>"otherMails"</code> " and " <code>"businessPhones"</code>
                    " take several values separated by " <code>";"</code> "."
                </li>
                <li>
                    <code>"accountEnabled"</code> " is " <code>"true"</code> " or " <code>"false"</code>
                    " (also yes/no, 1/0)."
                </li>
                <li>
                    <code>"extension_<name>"</code>
                    " columns set extension attributes, for example "
                    <code>"extension_costCenter"</code> "."
                </li>
            </ul>
            <p>
                <a href="/sample-users.csv" download="sample-users.csv" data-testid="sample-csv">
                    "Download a sample CSV"
                </a>
                " with three users to start from."
            </p>
        </section>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn user_counts_read_well() {
        assert_eq!(users(1), "1 user");
        assert_eq!(users(3), "3 users");
    }
}
