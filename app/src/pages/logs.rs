//! The Provisioning logs blades: one app's logs (`/apps/:id/provisioning/logs`, with its activity
//! chart) and every app's (`/provisioning-logs`, with an app filter). A GET filter form (time range,
//! app, status, action, identity, cycle) and keyset paging work without JavaScript; selecting a row
//! (`?entry=<id>`) opens the entry in a side drawer ([`LogEntryCard`]); downloads carry the filters.

use crate::api::error_text;
use crate::api::logs::{get_log_entry, list_logs, log_activity, log_apps, AppChoice, CycleBar, LogRow, LogsPage, RANGES};
use crate::components::{encode, fmt_time, loaded, ErrorBox};
use crate::pages::LogEntryCard;
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use provisio::sync::log::{LogAction, LogEntry, LogStatus};

/// `path?…` with the current query, each `(key, value)` set (or removed for `None`); `after` (the
/// page) is kept only when `keep_page`.
fn href(path: &str, q: &ParamsMap, set: &[(&str, Option<&str>)], keep_page: bool) -> String {
    let mut parts = Vec::new();
    for (k, v) in q.clone().into_iter() {
        if v.is_empty() || set.iter().any(|(s, _)| *s == k) || (k == "after" && !keep_page) {
            continue;
        }
        parts.push(format!("{}={}", encode(&k), encode(&v)));
    }
    for (k, v) in set {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{}={}", encode(k), encode(v)));
        }
    }
    if parts.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// The status badge's CSS class.
fn status_class(s: LogStatus) -> &'static str {
    match s {
        LogStatus::Success => "ok",
        LogStatus::Failure => "bad",
        LogStatus::Warning => "warn",
        LogStatus::Skipped => "",
    }
}

/// A cycle id as the table shows it (its first 8 characters).
fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

/// One app's provisioning logs, with its activity chart.
#[component]
pub fn AppLogsPage() -> impl IntoView {
    let params = use_params_map();
    let app = Signal::derive(move || params.read().get("id").filter(|s| !s.is_empty()));
    view! {
        <h2>"Provisioning logs"</h2>
        <LogsBlade app all_apps=false />
    }
}

/// The provisioning logs of every app, with an app filter (and the chart of the app picked).
#[component]
pub fn LogsPage() -> impl IntoView {
    let q = use_query_map();
    let app = Signal::derive(move || q.read().get("app").filter(|s| !s.is_empty()));
    view! {
        <nav class="crumbs" aria-label="Breadcrumb">
            <a href="/">"Home"</a>
            " › "
            <span aria-current="page">"Provisioning logs"</span>
        </nav>
        <h1>"Provisioning logs"</h1>
        <LogsBlade app all_apps=true />
    }
}

/// The blade: chart (one app), filters, downloads, the table with its pager, and the drawer.
#[component]
fn LogsBlade(app: Signal<Option<String>>, all_apps: bool) -> impl IntoView {
    let q = use_query_map();
    let path = move || match (all_apps, app.get()) {
        (false, Some(id)) => format!("/apps/{id}/provisioning/logs"),
        _ => "/provisioning-logs".to_string(),
    };
    let param = move |k: &str| q.read().get(k).unwrap_or_default();
    // The list refetches when a filter or the page changes, not when a row is opened.
    let key = move || {
        let q = q.read();
        let f = |k: &str| q.get(k).filter(|v| !v.is_empty());
        (app.get(), f("range"), f("from"), f("to"), f("status"), f("action"), f("identity"), f("cycle"), f("after"))
    };
    let page = Resource::new(key, |(app, range, from, to, status, action, identity, cycle, after)| {
        list_logs(app, range, from, to, status, action, identity, cycle, after)
    });
    let apps = Resource::new(
        move || all_apps,
        |all| async move {
            if all {
                log_apps().await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let chart = Resource::new(
        move || app.get(),
        |app| async move {
            match app {
                Some(a) => log_activity(a).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let entry = Resource::new(
        move || q.read().get("entry").filter(|e| !e.is_empty()),
        |id| async move {
            match id {
                Some(id) => get_log_entry(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <div class="logs-blade" data-testid="logs-blade">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match chart.await {
                        Ok(Some(bars)) => view! { <ActivityChart bars path=path() /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <ErrorBox message=error_text(&e) /> }.into_any(),
                    }
                })}
            </Transition>
            <Form method="GET" action="" attr:class="filters log-filters" attr:data-testid="log-filters">
                {all_apps
                    .then(|| {
                        view! {
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    let options = apps
                                        .await
                                        .unwrap_or_default()
                                        .into_iter()
                                        .map(|a: AppChoice| {
                                            let sel = param("app") == a.id;
                                            view! {
                                                <option value=a.id.clone() selected=sel>
                                                    {a.name.clone()}
                                                </option>
                                            }
                                        })
                                        .collect_view();
                                    view! {
                                        <label>
                                            "App"
                                            <select name="app" data-testid="filter-app">
                                                <option value="">"All apps"</option>
                                                {options}
                                            </select>
                                        </label>
                                    }
                                })}
                            </Transition>
                        }
                    })}
                <label>
                    "Time range"
                    <select name="range" data-testid="filter-range">
                        <option value="">"Any time"</option>
                        {RANGES
                            .iter()
                            .map(|(k, label, _)| {
                                view! {
                                    <option value=*k selected=move || param("range") == *k>
                                        {*label}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "From (UTC)"
                    <input type="datetime-local" name="from" data-testid="filter-from" value=move || param("from") />
                </label>
                <label>
                    "To (UTC)"
                    <input type="datetime-local" name="to" data-testid="filter-to" value=move || param("to") />
                </label>
                <label>
                    "Status"
                    <select name="status" data-testid="filter-status">
                        <option value="">"All"</option>
                        {[LogStatus::Success, LogStatus::Failure, LogStatus::Skipped, LogStatus::Warning]
                            .into_iter()
                            .map(|s| {
                                view! {
                                    <option value=s.as_str() selected=move || param("status") == s.as_str()>
                                        {s.as_str()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Action"
                    <select name="action" data-testid="filter-action">
                        <option value="">"All"</option>
                        {[
                            LogAction::Create,
                            LogAction::Update,
                            LogAction::Disable,
                            LogAction::Delete,
                            LogAction::StagedDelete,
                            LogAction::Skip,
                            LogAction::Other,
                        ]
                            .into_iter()
                            .map(|a| {
                                view! {
                                    <option value=a.as_str() selected=move || param("action") == a.as_str()>
                                        {a.as_str()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Identity"
                    <input
                        type="search"
                        name="identity"
                        placeholder="Name prefix or object id"
                        data-testid="filter-identity"
                        value=move || param("identity")
                    />
                </label>
                <Show when=move || !param("cycle").is_empty()>
                    <input type="hidden" name="cycle" value=move || param("cycle") />
                </Show>
                <div class="filter-buttons">
                    <button type="submit" class="primary" data-testid="filter-apply">
                        "Apply"
                    </button>
                    <a class="button" href=path data-testid="filter-reset">
                        "Reset"
                    </a>
                </div>
            </Form>
            <Show when=move || !param("cycle").is_empty()>
                <p class="cycle-filter" data-testid="cycle-filter">
                    "Only cycle " <code>{move || short(&param("cycle"))}</code> " "
                    <a href=move || href(&path(), &q.get(), &[("cycle", None), ("entry", None)], false)>"✕ all cycles"</a>
                </p>
            </Show>
            {loaded(page, move |p| view! { <LogTable page=p path=path() all_apps app=app.get() /> })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match entry.await {
                        Ok(Some(e)) => view! { <Drawer entry=e path=path() /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! {
                            <aside class="drawer" aria-label="Log entry" data-testid="log-drawer">
                                <ErrorBox message=error_text(&e) />
                                <a class="button" href=move || href(&path(), &q.get(), &[("entry", None)], true)>"Close"</a>
                            </aside>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

/// The download links: one app's export is the JSON API's (`?format=csv|json`, which takes the
/// session cookie); every app's is the `export_logs` server function.
fn download_href(app: &Option<String>, q: &ParamsMap, page: &LogsPage, format: &str) -> String {
    let mut parts = vec![format!("format={format}")];
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", encode(&v)));
        }
    };
    add("status", q.get("status"));
    add("action", q.get("action"));
    add("identity", q.get("identity"));
    add("since", page.since.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
    add("until", page.until.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
    add("cycleId", q.get("cycle"));
    match app {
        Some(id) => format!("/api/v1/apps/{id}/provisioning/logs?{}", parts.join("&")),
        None => format!("/api/logs-export?{}", parts.join("&")),
    }
}

/// The table of entries, the downloads and the pager.
#[component]
fn LogTable(page: LogsPage, path: String, all_apps: bool, app: Option<String>) -> impl IntoView {
    let q = use_query_map();
    let empty = page.rows.is_empty();
    let (csv, json) = {
        let qm = q.get_untracked();
        (download_href(&app, &qm, &page, "csv"), download_href(&app, &qm, &page, "json"))
    };
    let window = match (page.since, page.until) {
        (None, None) => String::new(),
        (s, u) => format!(
            " · from {} to {}",
            s.map(|t| fmt_time(Some(t))).unwrap_or("the first entry".into()),
            u.map(|t| fmt_time(Some(t))).unwrap_or("now".into())
        ),
    };
    let p1 = path.clone();
    let rows = page
        .rows
        .into_iter()
        .map(|r: LogRow| {
            let p = p1.clone();
            let id = r.id.clone();
            let open = move || href(&p, &q.get(), &[("entry", Some(&id))], true);
            let id2 = r.id.clone();
            let selected = move || q.read().get("entry").as_deref() == Some(id2.as_str());
            let sel2 = selected.clone();
            let p = p1.clone();
            let cycle = r.cycle_id.clone();
            let by_cycle = move || href(&p, &q.get(), &[("cycle", Some(&cycle)), ("entry", None)], false);
            let app_href = format!("/apps/{}/provisioning/logs", r.app_id);
            view! {
                <tr class:selected=selected data-testid="log-row" data-status=r.status.as_str() data-action=r.action.as_str()>
                    <td class="nowrap">{fmt_time(Some(r.at))}</td>
                    <td>
                        <a href=open aria-current=move || sel2().then_some("true") data-testid="log-open">
                            {r.display_name.clone()}
                        </a>
                    </td>
                    <td>{r.object_type.clone()}</td>
                    <td>{r.action.as_str()}</td>
                    <td>
                        <span class=format!("badge {}", status_class(r.status))>{r.status.as_str()}</span>
                        {r.error_code.clone().map(|c| view! { <span class="muted small">" " {c}</span> })}
                    </td>
                    {all_apps
                        .then(|| {
                            view! {
                                <td>
                                    <a href=app_href.clone()>{if r.app_name.is_empty() { short(&r.app_id) } else { r.app_name.clone() }}</a>
                                </td>
                            }
                        })}
                    <td>
                        <a href=by_cycle title=format!("Only cycle {}", r.cycle_id)>
                            <code>{short(&r.cycle_id)}</code>
                        </a>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let p2 = StoredValue::new(path.clone());
    let has_after = move || q.read().get("after").is_some();
    let next = page.next_cursor.clone();
    view! {
        <div class="log-toolbar">
            <span class="muted" data-testid="log-count">
                {if empty { "No entries".to_string() } else { format!("Newest first, 50 a page{window}") }}
            </span>
            <span class="downloads">
                "Download: "
                <a href=csv download="" rel="external" data-testid="download-csv">"CSV"</a>
                " · "
                <a href=json download="" rel="external" data-testid="download-json">"JSON"</a>
            </span>
        </div>
        <table class="list compact log-table" data-testid="log-table">
            <caption class="hidden">"Provisioning log entries"</caption>
            <thead>
                <tr>
                    <th scope="col">"Time"</th>
                    <th scope="col">"Identity"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Status"</th>
                    {all_apps.then(|| view! { <th scope="col">"App"</th> })}
                    <th scope="col">"Cycle"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <Show when=move || empty>
            <p class="muted" data-testid="log-empty">"No log entries match. Entries appear once a provisioning cycle or an on-demand run has processed an object."</p>
        </Show>
        <div class="pager">
            <Show when=has_after>
                <a href=move || href(&p2.read_value(), &q.get(), &[("after", None), ("entry", None)], false) data-testid="first-page">
                    "« First page"
                </a>
            </Show>
            {next.map(|n| {
                let p = path.clone();
                view! {
                    <a href=move || href(&p, &q.get(), &[("after", Some(&n)), ("entry", None)], false) rel="next" data-testid="next-page">
                        "Next page »"
                    </a>
                }
            })}
        </div>
    }
}

/// The detail drawer: the entry (steps, modified properties, error and recommendation, requests) and
/// its ids, with a close link (Escape closes it too, with JavaScript).
#[component]
fn Drawer(entry: LogEntry, path: String) -> impl IntoView {
    let q = use_query_map();
    let close = {
        let path = path.clone();
        move || href(&path, &q.get(), &[("entry", None)], true)
    };
    let ids = view! {
        <dl class="props">
            <dt>"Entry"</dt>
            <dd><code>{entry.id.clone()}</code></dd>
            <dt>"Cycle"</dt>
            <dd><code>{entry.cycle_id.clone()}</code></dd>
            <dt>"Source object"</dt>
            <dd><code>{entry.source_id.clone()}</code></dd>
            <dt>"Target account"</dt>
            <dd>{entry.target_id.clone().map(|t| view! { <code>{t}</code> }.into_any()).unwrap_or_else(|| "—".into_any())}</dd>
        </dl>
    };
    let no_error = entry.detail.error.is_none();
    view! {
        <aside class="drawer" role="dialog" aria-modal="false" aria-labelledby="log-drawer-title" data-testid="log-drawer">
            <div class="drawer-head">
                <DrawerKeys />
                <h2 id="log-drawer-title" tabindex="-1">
                    {entry.display_name.clone()}
                </h2>
                <a class="button" href=close aria-label="Close the entry (Escape)" data-testid="drawer-close">
                    "✕ Close"
                </a>
            </div>
            <LogEntryCard entry=entry.clone() open=true />
            <Show when=move || no_error>
                <p class="muted small">"Troubleshooting: nothing to do, the entry did not fail."</p>
            </Show>
            <details>
                <summary>"Summary (ids)"</summary>
                {ids}
            </details>
        </aside>
    }
}

/// The drawer's keyboard (an island): moves the focus to the drawer's title when it opens, and
/// Escape follows its close link.
#[island]
fn DrawerKeys() -> impl IntoView {
    Effect::new(move |_| {
        use leptos::wasm_bindgen::JsCast;
        let doc = document();
        if let Some(h) = doc.get_element_by_id("log-drawer-title").and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
            let _ = h.focus();
        }
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.key() != "Escape" {
                return;
            }
            let close = document().query_selector("[data-testid=drawer-close]").ok().flatten();
            if let Some(a) = close.and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok()).filter(|a| a.is_connected()) {
                a.click();
            }
        });
        on_cleanup(move || handle.remove());
    });
}

/// Legend entries: CSS class and label, bottom to top of each bar.
const SERIES: [(&str, &str); 4] =
    [("creates", "Creates"), ("updates", "Updates"), ("removals", "Disables and deletes"), ("failures", "Failures")];

fn values(b: &CycleBar) -> [i64; 4] {
    [b.creates, b.updates, b.removals, b.failures]
}

/// A step for about four y-axis ticks up to `max`: 1, 2 or 5 times a power of ten.
fn tick_step(max: i64) -> i64 {
    let raw = (max.max(1) as f64 / 4.0).max(1.0);
    let pow = 10f64.powi(raw.log10().floor() as i32);
    let m = [1.0, 2.0, 5.0, 10.0].into_iter().find(|m| m * pow >= raw).unwrap_or(10.0);
    (m * pow) as i64
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The chart as SVG text: stacked bars per cycle (creates, updates, disables/deletes, failures), y
/// axis with ticks, x labels with the cycle's start, a title and description; each bar links to the
/// cycle's entries. Plain text so that the server's HTML and the hydrated page are the same.
pub fn chart_svg(bars: &[CycleBar], cycle_href: &dyn Fn(&str) -> String) -> String {
    const W: f64 = 720.0;
    const H: f64 = 240.0;
    const L: f64 = 48.0;
    const R: f64 = 12.0;
    const T: f64 = 14.0;
    const B: f64 = 44.0;
    let max = bars.iter().map(|b| values(b).iter().sum::<i64>()).max().unwrap_or(0);
    let step = tick_step(max);
    let top = ((max.max(1) + step - 1) / step) * step;
    let plot_h = H - T - B;
    let y = |v: i64| T + plot_h - (v as f64 / top as f64) * plot_h;
    let n = bars.len().max(1) as f64;
    let slot = (W - L - R) / n;
    let bw = (slot * 0.7).min(48.0);
    let totals: [i64; 4] = bars.iter().fold([0; 4], |mut acc, b| {
        for (a, v) in acc.iter_mut().zip(values(b)) {
            *a += v;
        }
        acc
    });
    let desc = match (bars.first(), bars.last()) {
        (Some(f), Some(l)) => format!(
            "{} cycles from {} to {}: {} creates, {} updates, {} disables and deletes, {} failures.",
            bars.len(),
            fmt_time(Some(f.first_at)),
            fmt_time(Some(l.first_at)),
            totals[0],
            totals[1],
            totals[2],
            totals[3]
        ),
        _ => "No cycles yet.".to_string(),
    };
    let mut s = format!(
        "<svg class=\"activity-chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"activity-title activity-desc\" data-testid=\"activity-chart\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"activity-title\">Provisioning activity per cycle</title><desc id=\"activity-desc\">{}</desc>",
        esc(&desc)
    );
    // Grid lines and y ticks.
    let mut v = 0;
    while v <= top {
        let yy = y(v);
        s.push_str(&format!(
            "<line class=\"grid\" x1=\"{L}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            W - R,
            L - 6.0,
            yy + 4.0
        ));
        v += step;
    }
    s.push_str(&format!(
        "<text class=\"axis-label\" transform=\"rotate(-90)\" x=\"{:.1}\" y=\"12\" text-anchor=\"middle\">Entries</text>\
         <text class=\"axis-label\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">Cycle start (UTC)</text>\
         <line class=\"axis\" x1=\"{L}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
        -(T + plot_h / 2.0),
        L + (W - L - R) / 2.0,
        H - 4.0,
        W - R,
        y(0),
        y(0)
    ));
    let every = bars.len().div_ceil(8).max(1);
    for (i, b) in bars.iter().enumerate() {
        let x = L + slot * i as f64 + (slot - bw) / 2.0;
        let vals = values(b);
        let label = format!(
            "Cycle {} started {}: {} creates, {} updates, {} disables and deletes, {} failures{}",
            short(&b.cycle_id),
            fmt_time(Some(b.first_at)),
            vals[0],
            vals[1],
            vals[2],
            vals[3],
            if b.other > 0 { format!(", {} skipped or other", b.other) } else { String::new() }
        );
        s.push_str(&format!(
            "<a href=\"{}\" class=\"bar\" aria-label=\"{}\"><title>{}</title>",
            esc(&cycle_href(&b.cycle_id)),
            esc(&label),
            esc(&label)
        ));
        // A transparent full-height target, so that small bars are easy to point at.
        s.push_str(&format!(
            "<rect class=\"hit\" x=\"{:.1}\" y=\"{T}\" width=\"{:.1}\" height=\"{plot_h:.1}\"/>",
            L + slot * i as f64,
            slot
        ));
        let mut base = 0;
        for ((class, _), v) in SERIES.iter().zip(vals) {
            if v > 0 {
                let (y1, y0) = (y(base + v), y(base));
                s.push_str(&format!(
                    "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{bw:.1}\" height=\"{:.1}\"/>",
                    (y0 - y1).max(0.5)
                ));
                base += v;
            }
        }
        s.push_str("</a>");
        if i % every == 0 {
            s.push_str(&format!(
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + bw / 2.0,
                y(0) + 14.0,
                b.first_at.format("%m-%d %H:%M")
            ));
        }
    }
    s.push_str("</svg>");
    s
}

/// The activity chart of one app: what each of its last cycles did, as stacked bars, with a legend
/// and the same numbers as a table.
#[component]
fn ActivityChart(bars: Vec<CycleBar>, path: String) -> impl IntoView {
    let q = use_query_map();
    if bars.is_empty() {
        return view! {
            <section class="panel activity" data-testid="activity">
                <h3>"Activity per cycle"</h3>
                <p class="muted">"No cycles yet: start provisioning or provision a user on demand."</p>
            </section>
        }
        .into_any();
    }
    let svg = {
        let (bars, path) = (bars.clone(), path.clone());
        move || {
            let qm = q.get();
            chart_svg(&bars, &|c| href(&path, &qm, &[("cycle", Some(c)), ("entry", None)], false))
        }
    };
    let legend = SERIES
        .iter()
        .map(|(class, label)| view! { <li><span class=format!("swatch {class}") aria-hidden="true"></span>{*label}</li> })
        .collect_view();
    let rows = bars
        .iter()
        .rev()
        .map(|b| {
            view! {
                <tr>
                    <td class="nowrap">{fmt_time(Some(b.first_at))}</td>
                    <td><code>{short(&b.cycle_id)}</code></td>
                    <td class="num">{b.creates}</td>
                    <td class="num">{b.updates}</td>
                    <td class="num">{b.removals}</td>
                    <td class="num">{b.failures}</td>
                    <td class="num">{b.other}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel activity" data-testid="activity">
            <h3>{format!("Activity of the last {} cycles", bars.len())}</h3>
            <div class="chart-wrap" inner_html=svg></div>
            <ul class="legend">{legend}</ul>
            <p class="muted small">"Select a bar to see that cycle's entries."</p>
            <details>
                <summary>"The numbers as a table"</summary>
                <table class="list compact" data-testid="activity-table">
                    <thead>
                        <tr>
                            <th scope="col">"Cycle start"</th>
                            <th scope="col">"Cycle"</th>
                            <th scope="col" class="num">"Creates"</th>
                            <th scope="col" class="num">"Updates"</th>
                            <th scope="col" class="num">"Disables and deletes"</th>
                            <th scope="col" class="num">"Failures"</th>
                            <th scope="col" class="num">"Skipped or other"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn ticks_are_round() {
        assert_eq!(tick_step(0), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(40), 10);
        assert_eq!(tick_step(600), 200);
    }

    #[test]
    fn chart_has_a_bar_per_cycle_and_escapes_text() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 9, 30, 0).unwrap();
        let bar = |id: &str, c, f| CycleBar {
            cycle_id: id.into(),
            first_at: at,
            last_at: at,
            creates: c,
            updates: 1,
            removals: 0,
            failures: f,
            other: 2,
        };
        let svg = chart_svg(&[bar("c<1>", 5, 0), bar("c2", 0, 3)], &|c| format!("?cycle={}&x=1", encode(c)));
        assert_eq!(svg.matches("<a href=").count(), 2);
        assert!(svg.contains("?cycle=c%3C1%3E&amp;x=1"), "{svg}");
        assert!(svg.contains("5 creates, 2 updates, 0 disables and deletes, 3 failures"), "{svg}");
        assert!(svg.contains("class=\"failures\"") && svg.contains("class=\"creates\""));
        assert!(!svg.contains("c<1>"));
    }
}
