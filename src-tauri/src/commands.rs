//! The IPC commands the window calls, and the tray's clicks, which call the
//! same functions.
//!
//! The window runs in a process of its own (see `window_process`), which
//! forwards each call of its page here by name: [`dispatch`] finds the
//! command and reads its arguments, named as the page passes them. Each
//! command is one call into the core's [`DesktopService`]. Core calls block
//! (they read files and ask processes), so they run on the blocking pool,
//! never on the thread that draws the tray.

use std::sync::Arc;

use gatehouse::claude_code::login::CodeOutcome;
use gatehouse::claude_code::preview::{ClaudeCodeScopes, SettingsChange, SettingsDiff};
use gatehouse::dashboard::logs::LogLine;
use gatehouse::dashboard::overview::Overview;
use gatehouse::dashboard::requests::{RecentQuery, RequestDetails, RequestRow};
use gatehouse::dashboard::settings::{SaveOutcome, SettingsForm, SettingsView};
use gatehouse::dashboard::spend::{ExportFormat, SpendExport, SpendQuery, SpendReport};
use gatehouse::dashboard::state::{LoginReply, View};
use gatehouse::dashboard::windows::{WindowsQuery, WindowsReport};
use gatehouse::desktop::engines::Uninstalled;
use gatehouse::desktop::first_run::FirstRun;
use gatehouse::desktop::menu::Action;
use gatehouse::desktop::notice;
use gatehouse::desktop::pages::TeamKeyInfo;
use gatehouse::desktop::service::DesktopService;
use gatehouse::desktop::start_at_login;
use gatehouse::desktop::window_link;
use gatehouse::ledger::import::ImportSummary;
use gatehouse::upstream_test::UpstreamTest;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_opener::OpenerExt as _;

use crate::Panel;
use crate::error::{Error, Result};

type Service = Arc<DesktopService>;

/// Runs a blocking core call off the UI thread.
async fn blocking<T: Send + 'static>(
    service: &Service,
    call: impl FnOnce(&DesktopService) -> anyhow::Result<T> + Send + 'static,
) -> Result<T> {
    let service = Arc::clone(service);
    tauri::async_runtime::spawn_blocking(move || call(&service))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(Error::from)
}

async fn get_state(service: Service) -> Result<View> {
    blocking(&service, |s| Ok(View::new(s.snapshot()))).await
}

async fn set_proxy(service: Service, enabled: bool) -> Result<()> {
    blocking(&service, move |s| s.set_proxy(enabled)).await
}

async fn set_claude_code(service: Service, enabled: bool) -> Result<()> {
    blocking(&service, move |s| s.set_claude_code(enabled)).await
}

async fn restart_gateway(service: Service) -> Result<()> {
    blocking(&service, DesktopService::restart_gateway).await
}

async fn set_keep_gateway_after_quit(service: Service, enabled: bool) -> Result<()> {
    blocking(&service, move |s| s.set_keep_gateway_after_quit(enabled)).await
}

/// "Start at login": the core writes or removes the XDG autostart entry
/// that starts this executable (see `start_at_login`), and shows the result.
async fn set_start_at_login(service: Service, enabled: bool) -> Result<()> {
    let dir = autostart_dir()?;
    let program = start_at_login::program(
        std::env::current_exe()
            .map_err(|source| Error::Autostart { file: start_at_login::entry_path(&dir), source })?,
    );
    start_at_login::set(&dir, enabled, &program)
        .map_err(|source| Error::Autostart { file: start_at_login::entry_path(&dir), source })?;
    service.note_start_at_login(start_at_login::is_enabled(&dir));
    Ok(())
}

/// Where desktop sessions look for programs to start at login.
pub(crate) fn autostart_dir() -> Result<std::path::PathBuf> {
    gatehouse::supervisor::at_login::autostart_dir().ok_or_else(|| Error::Autostart {
        file: std::path::PathBuf::from("~/.config/autostart"),
        source: std::io::Error::other("there is no home directory; set HOME"),
    })
}

async fn refresh_login(service: Service) -> Result<()> {
    blocking(&service, |s| {
        s.refresh_login();
        Ok(())
    })
    .await
}

/// Starts Claude Code's own sign-in (`claude auth login`), which opens the
/// browser itself; returns the sign-in URL for the window to show, which
/// then asks for the code the page displays.
async fn start_login(service: Service) -> Result<String> {
    blocking(&service, DesktopService::start_login).await
}

async fn submit_login_code(service: Service, code: String) -> Result<LoginReply> {
    let outcome = blocking(&service, move |s| s.submit_login_code(&code)).await?;
    Ok(match outcome {
        CodeOutcome::LoggedIn => LoginReply { done: true, message: "Signed in to Claude.".to_string() },
        CodeOutcome::Refused(message) => LoginReply { done: false, message },
    })
}

async fn cancel_login(service: Service) -> Result<()> {
    blocking(&service, |s| {
        s.cancel_login();
        Ok(())
    })
    .await
}

/// Starts OpenRouter's browser sign-in (or, while one waits, goes back to
/// it) and opens its page in the browser.
async fn openrouter_sign_in<R: Runtime>(app: AppHandle<R>, service: Service) -> Result<()> {
    let url = match service.openrouter_sign_in_url() {
        Some(url) => url,
        None => {
            // The sign-in's thread keeps the service, so it is started from the `Arc`.
            let service = Arc::clone(&service);
            tauri::async_runtime::spawn_blocking(move || service.start_openrouter_sign_in())
                .await
                .map_err(|e| Error::Task(e.to_string()))??
        }
    };
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|source| Error::Open { what: "OpenRouter's sign-in page".to_string(), source })
}

async fn openrouter_sign_in_paste(service: Service, pasted: String) -> Result<()> {
    blocking(&service, move |s| s.paste_openrouter_address(&pasted)).await
}

async fn openrouter_sign_in_cancel(service: Service) -> Result<()> {
    blocking(&service, |s| {
        s.cancel_openrouter_sign_in();
        Ok(())
    })
    .await
}

/// Opens the running sign-in's page again, for when the browser did not open.
async fn open_sign_in_page<R: Runtime>(app: AppHandle<R>, service: Service) -> Result<()> {
    let url = service.sign_in_url().ok_or_else(|| Error::Core(anyhow::anyhow!("no sign-in is in progress")))?;
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|source| Error::Open { what: "the sign-in page".to_string(), source })
}

async fn log_tail(service: Service) -> Result<Vec<String>> {
    blocking(&service, |s| Ok(s.log_tail())).await
}

async fn open_log_file<R: Runtime>(app: AppHandle<R>, service: Service) -> Result<()> {
    let path = service.log_path();
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open { what: path.display().to_string(), source })
}

// ---- the dashboard's pages (types: ui/src/bindings/, list: ipc-contract) ----

async fn dashboard_overview(service: Service) -> Result<Overview> {
    blocking(&service, DesktopService::overview).await
}

async fn spend_report(service: Service, query: SpendQuery) -> Result<SpendReport> {
    blocking(&service, move |s| s.spend(&query)).await
}

/// The Spend table as CSV or JSON, the same rows as `spend_report`; with
/// `save`, also written to the Downloads folder.
async fn spend_export(service: Service, query: SpendQuery, format: ExportFormat, save: bool) -> Result<SpendExport> {
    blocking(&service, move |s| s.spend_export(&query, format, save)).await
}

async fn windows_report(service: Service, query: WindowsQuery) -> Result<WindowsReport> {
    blocking(&service, move |s| s.windows_report(query)).await
}

async fn recent_requests(service: Service, query: RecentQuery) -> Result<Vec<RequestRow>> {
    blocking(&service, move |s| s.recent_requests(query)).await
}

async fn request_details(service: Service, id: i64) -> Result<RequestDetails> {
    blocking(&service, move |s| s.request_details(id)).await
}

async fn log_lines(service: Service) -> Result<Vec<LogLine>> {
    blocking(&service, |s| Ok(s.log_lines())).await
}

/// With `project`, that project's local and project settings too.
async fn claude_code_scopes(service: Service, project: Option<String>) -> Result<ClaudeCodeScopes> {
    blocking(&service, move |s| s.claude_code_scopes(project.as_deref())).await
}

/// Opens a settings file a Claude Code warning names in the desktop's editor.
async fn open_claude_settings_file<R: Runtime>(app: AppHandle<R>, service: Service, path: String) -> Result<()> {
    let path = blocking(&service, move |s| s.claude_settings_file(&path)).await?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open { what: format!("{} (no editor answered)", path.display()), source })
}

async fn claude_code_preview(
    service: Service,
    change: SettingsChange,
    project: Option<String>,
) -> Result<SettingsDiff> {
    blocking(&service, move |s| s.claude_code_preview(change, project.as_deref())).await
}

async fn claude_code_apply(service: Service, change: SettingsChange, project: Option<String>) -> Result<()> {
    blocking(&service, move |s| s.claude_code_apply(change, project.as_deref())).await
}

/// What pointing Claude Code straight at the team proxy `team` would write.
async fn claude_code_team_preview(service: Service, team: String, project: Option<String>) -> Result<SettingsDiff> {
    blocking(&service, move |s| s.claude_code_team_preview(&team, project.as_deref())).await
}

async fn claude_code_team_apply(service: Service, team: String, project: Option<String>) -> Result<()> {
    blocking(&service, move |s| s.claude_code_team_apply(&team, project.as_deref())).await
}

/// The team proxy's spend and budget for its key, from its `/key/info`.
async fn team_key_info(service: Service, team: String) -> Result<TeamKeyInfo> {
    blocking(&service, move |s| s.team_key_info(&team)).await
}

async fn settings_get(service: Service) -> Result<SettingsView> {
    blocking(&service, |s| Ok(s.settings())).await
}

async fn settings_save(service: Service, form: SettingsForm) -> Result<SaveOutcome> {
    blocking(&service, move |s| s.save_settings(&form)).await
}

/// Imports Claude Code's transcripts now, sending `import-progress`
/// events (ImportProgress) to the window as files are read.
async fn import_transcripts<R: Runtime>(app: AppHandle<R>, service: Service) -> Result<ImportSummary> {
    blocking(&service, move |s| {
        s.import_transcripts(&mut |progress| {
            crate::window_process::send_event(&app, "import-progress", progress);
        })
    })
    .await
}

/// The first-run guide's state (see the core's `desktop::first_run`).
async fn first_run_state(service: Service) -> Result<FirstRun> {
    blocking(&service, |s| Ok(s.first_run())).await
}

/// "Done, hide this": the guide does not show again.
async fn first_run_done(service: Service) -> Result<()> {
    blocking(&service, DesktopService::first_run_done).await
}

/// Opens the data folder in the file manager; says so when there is none.
async fn open_data_dir<R: Runtime>(app: AppHandle<R>, service: Service) -> Result<()> {
    let dir = service.data_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::Core(anyhow::anyhow!("cannot create {}: {e}", dir.display())))?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open { what: format!("{} (no file manager answered)", dir.display()), source })
}

/// Ends the app; the exit hook in `lib.rs` stops the gateway and restores
/// Claude Code on the way out.
fn quit<R: Runtime>(app: AppHandle<R>) {
    app.exit(0);
}

/// "Install LiteLLM" (`force`: "Repair"): the install runs on the core's
/// own thread; its progress and its end reach the window in the `state`
/// event's snapshot, its end also as a notification. A second click while
/// one runs is refused.
async fn litellm_install(service: Service, force: bool) -> Result<()> {
    // The install's thread keeps the service, so it is started from the `Arc`.
    Ok(service.start_litellm_install(force)?)
}

/// "Uninstall" LiteLLM: removes its venv; refused while an install runs.
async fn litellm_uninstall(service: Service) -> Result<Uninstalled> {
    blocking(&service, DesktopService::uninstall_litellm).await
}

/// "Test connection" for one upstream of the config: its result, typed.
async fn test_upstream(service: Service, name: String) -> Result<UpstreamTest> {
    blocking(&service, move |s| s.test_upstream(&name)).await
}

/// The tray's "Test connection" submenu: the test runs off the UI thread,
/// and its result comes as a notification.
pub fn test_upstream_from_tray<R: Runtime>(app: &AppHandle<R>, name: String) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let service = Arc::clone(&app.state::<Service>());
        match test_upstream(service, name.clone()).await {
            Ok(tested) => {
                crate::notify_notice(&app, notice::for_upstream_test(&tested));
            }
            Err(error) => {
                tracing::warn!("test_upstream {name}: {error}");
                crate::notify(&app, "Gatehouse", &error.to_string());
            }
        }
    });
}

/// What a click on a tray item does: the same as the window's controls.
/// `checked` is what a check item showed before the click.
pub fn on_tray_action<R: Runtime>(app: &AppHandle<R>, action: Action, checked: bool) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let service = Arc::clone(&app.state::<Service>());
        let result = match action {
            Action::Proxy => set_proxy(service, !checked).await,
            Action::ClaudeCode => set_claude_code(service, !checked).await,
            Action::RestartGateway => restart_gateway(service).await,
            Action::StartAtLogin => set_start_at_login(service, !checked).await,
            Action::KeepGatewayAfterQuit => set_keep_gateway_after_quit(service, !checked).await,
            Action::OpenDashboard => crate::show_window(&app, None),
            Action::OpenLogs => crate::show_window(&app, Some(Panel::Logs)),
            Action::OpenSpend => crate::show_window(&app, Some(Panel::Spend)),
            Action::OpenWindows => crate::show_window(&app, Some(Panel::Windows)),
            Action::Login => crate::show_window(&app, Some(Panel::Login)),
            Action::OpenRouterSignIn => openrouter_sign_in(app.clone(), service).await,
            // Its items carry their upstream: `test_upstream_from_tray`.
            Action::TestUpstream => Ok(()),
            Action::Quit => {
                quit(app.clone());
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::warn!("{}: {error}", action.id());
            crate::notify(&app, "Gatehouse", &error.to_string());
        }
    });
}

/// The log target of `ui_painted`: `GATEHOUSE_LOG=gatehouse_desktop::paint=debug`
/// turns the page's paint report on (see `window::create`).
pub(crate) const PAINT_LOG_TARGET: &str = "gatehouse_desktop::paint";

/// The page says how long after the window was asked to open it painted
/// `what` (the Overview's figures from the ledger). It calls this only when
/// the app set `window.gatehouseWindowAskedAt`, that is with debug logging
/// on; a measuring script reads the line. `page_start_ms`: when the page
/// began loading, after the window's process and WebKit had started.
fn ui_painted(what: String, after_ms: f64, page_start_ms: f64) {
    tracing::debug!(
        target: PAINT_LOG_TARGET,
        "painted {what} {after_ms:.0} ms after the window was asked to open (the page began loading after {page_start_ms:.0} ms)"
    );
}

/// Runs the command the window's page called, `command` with `args` (an
/// object of its arguments by the names the page uses), and returns its
/// answer as the page receives it. An unknown command or a missing or
/// malformed argument is an error that says which.
pub async fn dispatch<R: Runtime>(app: &AppHandle<R>, command: &str, args: Value) -> Result<window_link::Json> {
    let app = app.clone();
    let service = Arc::clone(&app.state::<Service>());
    let args = Args { command, args };
    match command {
        "get_state" => answer(get_state(service).await),
        "set_proxy" => answer(set_proxy(service, args.get("enabled")?).await),
        "set_claude_code" => answer(set_claude_code(service, args.get("enabled")?).await),
        "restart_gateway" => answer(restart_gateway(service).await),
        "set_keep_gateway_after_quit" => answer(set_keep_gateway_after_quit(service, args.get("enabled")?).await),
        "set_start_at_login" => answer(set_start_at_login(service, args.get("enabled")?).await),
        "refresh_login" => answer(refresh_login(service).await),
        "start_login" => answer(start_login(service).await),
        "submit_login_code" => answer(submit_login_code(service, args.get("code")?).await),
        "cancel_login" => answer(cancel_login(service).await),
        "open_sign_in_page" => answer(open_sign_in_page(app, service).await),
        "openrouter_sign_in" => answer(openrouter_sign_in(app, service).await),
        "openrouter_sign_in_paste" => answer(openrouter_sign_in_paste(service, args.get("pasted")?).await),
        "openrouter_sign_in_cancel" => answer(openrouter_sign_in_cancel(service).await),
        "test_upstream" => answer(test_upstream(service, args.get("name")?).await),
        "litellm_install" => answer(litellm_install(service, args.get("force")?).await),
        "litellm_uninstall" => answer(litellm_uninstall(service).await),
        "log_tail" => answer(log_tail(service).await),
        "open_log_file" => answer(open_log_file(app, service).await),
        "quit" => {
            quit(app);
            answer(Ok(()))
        }
        "dashboard_overview" => answer(dashboard_overview(service).await),
        "spend_report" => answer(spend_report(service, args.get("query")?).await),
        "spend_export" => {
            answer(spend_export(service, args.get("query")?, args.get("format")?, args.get("save")?).await)
        }
        "windows_report" => answer(windows_report(service, args.get("query")?).await),
        "recent_requests" => answer(recent_requests(service, args.get("query")?).await),
        "request_details" => answer(request_details(service, args.get("id")?).await),
        "log_lines" => answer(log_lines(service).await),
        "claude_code_scopes" => answer(claude_code_scopes(service, args.get("project")?).await),
        "claude_code_preview" => answer(claude_code_preview(service, args.get("change")?, args.get("project")?).await),
        "claude_code_apply" => answer(claude_code_apply(service, args.get("change")?, args.get("project")?).await),
        "claude_code_team_preview" => {
            answer(claude_code_team_preview(service, args.get("team")?, args.get("project")?).await)
        }
        "claude_code_team_apply" => {
            answer(claude_code_team_apply(service, args.get("team")?, args.get("project")?).await)
        }
        "team_key_info" => answer(team_key_info(service, args.get("team")?).await),
        "open_claude_settings_file" => answer(open_claude_settings_file(app, service, args.get("path")?).await),
        "settings_get" => answer(settings_get(service).await),
        "settings_save" => answer(settings_save(service, args.get("form")?).await),
        "open_data_dir" => answer(open_data_dir(app, service).await),
        "import_transcripts" => answer(import_transcripts(app, service).await),
        "first_run_state" => answer(first_run_state(service).await),
        "first_run_done" => answer(first_run_done(service).await),
        "ui_painted" => {
            ui_painted(args.get("what")?, args.get("afterMs")?, args.get("pageStartMs")?);
            answer(Ok(()))
        }
        _ => Err(Error::UnknownCommand(command.to_string())),
    }
}

/// A command's arguments, as the page passed them.
struct Args<'a> {
    command: &'a str,
    args: Value,
}

impl Args<'_> {
    /// The argument `name`; an absent one reads as `null`, which an
    /// `Option` takes as `None`.
    fn get<T: DeserializeOwned>(&self, name: &str) -> Result<T> {
        let value = self.args.get(name).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value).map_err(|source| Error::Argument {
            command: self.command.to_string(),
            name: name.to_string(),
            source,
        })
    }
}

fn answer<T: Serialize>(result: Result<T>) -> Result<window_link::Json> {
    serde_json::value::to_raw_value(&result?).map_err(|e| Error::Task(format!("cannot send the answer: {e}")))
}
