//! The IPC commands the window calls, and the tray's clicks, which call the
//! same functions.
//!
//! Each is one call into the core's [`DesktopService`]. Core calls block
//! (they read files and ask processes), so they run on the blocking pool,
//! never on the thread that draws the window and the tray.

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
use gatehouse::desktop::first_run::FirstRun;
use gatehouse::desktop::menu::Action;
use gatehouse::desktop::service::DesktopService;
use gatehouse::ledger::import::ImportSummary;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_opener::OpenerExt as _;

use crate::Panel;
use crate::error::{Error, Result};

type Service<'a> = State<'a, Arc<DesktopService>>;

/// Runs a blocking core call off the UI thread.
async fn blocking<T: Send + 'static>(
    service: &Service<'_>,
    call: impl FnOnce(&DesktopService) -> anyhow::Result<T> + Send + 'static,
) -> Result<T> {
    let service = Arc::clone(service);
    tauri::async_runtime::spawn_blocking(move || call(&service))
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(Error::from)
}

#[tauri::command]
pub async fn get_state(service: Service<'_>) -> Result<View> {
    blocking(&service, |s| Ok(View::new(s.snapshot()))).await
}

#[tauri::command]
pub async fn set_proxy(service: Service<'_>, enabled: bool) -> Result<()> {
    blocking(&service, move |s| s.set_proxy(enabled)).await
}

#[tauri::command]
pub async fn set_claude_code(service: Service<'_>, enabled: bool) -> Result<()> {
    blocking(&service, move |s| s.set_claude_code(enabled)).await
}

#[tauri::command]
pub async fn restart_gateway(service: Service<'_>) -> Result<()> {
    blocking(&service, DesktopService::restart_gateway).await
}

#[tauri::command]
pub async fn set_keep_gateway_after_quit(service: Service<'_>, enabled: bool) -> Result<()> {
    blocking(&service, move |s| s.set_keep_gateway_after_quit(enabled)).await
}

/// "Start at login": the autostart plugin writes or removes the desktop
/// entry; the core only shows the result.
#[tauri::command]
pub async fn set_start_at_login<R: Runtime>(app: AppHandle<R>, service: Service<'_>, enabled: bool) -> Result<()> {
    let autolaunch = app.autolaunch();
    // The plugin creates `~/.config/autostart` but not `~/.config`, and its
    // errors name no file.
    let entry = autostart_entry(&app);
    let failed = |source| Error::Autostart { file: entry.clone().unwrap_or_default(), source };
    if enabled {
        if let Some(dir) = entry.as_deref().and_then(std::path::Path::parent) {
            std::fs::create_dir_all(dir).map_err(|e| failed(tauri_plugin_autostart::Error::Io(e)))?;
        }
        autolaunch.enable().map_err(failed)?
    } else {
        autolaunch.disable().map_err(failed)?
    }
    service.note_start_at_login(autolaunch.is_enabled().map_err(failed)?);
    Ok(())
}

/// The file the autostart plugin writes on Linux:
/// `~/.config/autostart/<product name>.desktop`.
fn autostart_entry<R: Runtime>(app: &AppHandle<R>) -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME").filter(|home| !home.is_empty())?;
    let name = app.config().product_name.clone().unwrap_or_else(|| app.package_info().name.clone());
    Some(std::path::Path::new(&home).join(".config/autostart").join(format!("{name}.desktop")))
}

#[tauri::command]
pub async fn refresh_login(service: Service<'_>) -> Result<()> {
    blocking(&service, |s| {
        s.refresh_login();
        Ok(())
    })
    .await
}

/// Starts Claude Code's own sign-in (`claude auth login`), which opens the
/// browser itself; returns the sign-in URL for the window to show, which
/// then asks for the code the page displays.
#[tauri::command]
pub async fn start_login(service: Service<'_>) -> Result<String> {
    blocking(&service, DesktopService::start_login).await
}

#[tauri::command]
pub async fn submit_login_code(service: Service<'_>, code: String) -> Result<LoginReply> {
    let outcome = blocking(&service, move |s| s.submit_login_code(&code)).await?;
    Ok(match outcome {
        CodeOutcome::LoggedIn => LoginReply { done: true, message: "Signed in to Claude.".to_string() },
        CodeOutcome::Refused(message) => LoginReply { done: false, message },
    })
}

#[tauri::command]
pub async fn cancel_login(service: Service<'_>) -> Result<()> {
    blocking(&service, |s| {
        s.cancel_login();
        Ok(())
    })
    .await
}

/// Opens the running sign-in's page again, for when the browser did not open.
#[tauri::command]
pub async fn open_sign_in_page<R: Runtime>(app: AppHandle<R>, service: Service<'_>) -> Result<()> {
    let url = service.sign_in_url().ok_or_else(|| Error::Core(anyhow::anyhow!("no sign-in is in progress")))?;
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|source| Error::Open { what: "the sign-in page".to_string(), source })
}

#[tauri::command]
pub async fn log_tail(service: Service<'_>) -> Result<Vec<String>> {
    blocking(&service, |s| Ok(s.log_tail())).await
}

#[tauri::command]
pub async fn open_log_file<R: Runtime>(app: AppHandle<R>, service: Service<'_>) -> Result<()> {
    let path = service.log_path();
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open { what: path.display().to_string(), source })
}

// ---- the dashboard's pages (types: ui/src/bindings/, list: ipc-contract) ----

#[tauri::command]
pub async fn dashboard_overview(service: Service<'_>) -> Result<Overview> {
    blocking(&service, DesktopService::overview).await
}

#[tauri::command]
pub async fn spend_report(service: Service<'_>, query: SpendQuery) -> Result<SpendReport> {
    blocking(&service, move |s| s.spend(&query)).await
}

/// The Spend table as CSV or JSON, the same rows as `spend_report`; with
/// `save`, also written to the Downloads folder.
#[tauri::command]
pub async fn spend_export(
    service: Service<'_>,
    query: SpendQuery,
    format: ExportFormat,
    save: bool,
) -> Result<SpendExport> {
    blocking(&service, move |s| s.spend_export(&query, format, save)).await
}

#[tauri::command]
pub async fn windows_report(service: Service<'_>, query: WindowsQuery) -> Result<WindowsReport> {
    blocking(&service, move |s| s.windows_report(query)).await
}

#[tauri::command]
pub async fn recent_requests(service: Service<'_>, query: RecentQuery) -> Result<Vec<RequestRow>> {
    blocking(&service, move |s| s.recent_requests(query)).await
}

#[tauri::command]
pub async fn request_details(service: Service<'_>, id: i64) -> Result<RequestDetails> {
    blocking(&service, move |s| s.request_details(id)).await
}

#[tauri::command]
pub async fn log_lines(service: Service<'_>) -> Result<Vec<LogLine>> {
    blocking(&service, |s| Ok(s.log_lines())).await
}

/// With `project`, that project's local and project settings too.
#[tauri::command]
pub async fn claude_code_scopes(service: Service<'_>, project: Option<String>) -> Result<ClaudeCodeScopes> {
    blocking(&service, move |s| s.claude_code_scopes(project.as_deref())).await
}

/// Opens a settings file a Claude Code warning names in the desktop's editor.
#[tauri::command]
pub async fn open_claude_settings_file<R: Runtime>(
    app: AppHandle<R>,
    service: Service<'_>,
    path: String,
) -> Result<()> {
    let path = blocking(&service, move |s| s.claude_settings_file(&path)).await?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open { what: format!("{} (no editor answered)", path.display()), source })
}

#[tauri::command]
pub async fn claude_code_preview(service: Service<'_>, change: SettingsChange) -> Result<SettingsDiff> {
    blocking(&service, move |s| s.claude_code_preview(change)).await
}

#[tauri::command]
pub async fn claude_code_apply(service: Service<'_>, change: SettingsChange) -> Result<()> {
    blocking(&service, move |s| s.claude_code_apply(change)).await
}

#[tauri::command]
pub async fn settings_get(service: Service<'_>) -> Result<SettingsView> {
    blocking(&service, |s| Ok(s.settings())).await
}

#[tauri::command]
pub async fn settings_save(service: Service<'_>, form: SettingsForm) -> Result<SaveOutcome> {
    blocking(&service, move |s| s.save_settings(&form)).await
}

/// Imports Claude Code's transcripts now, sending `import-progress`
/// events (ImportProgress) to the window as files are read.
#[tauri::command]
pub async fn import_transcripts<R: Runtime>(app: AppHandle<R>, service: Service<'_>) -> Result<ImportSummary> {
    blocking(&service, move |s| {
        s.import_transcripts(&mut |progress| {
            if let Err(error) = app.emit_to(crate::MAIN_WINDOW, "import-progress", progress) {
                tracing::debug!("cannot send the import's progress: {error}");
            }
        })
    })
    .await
}

/// The first-run guide's state (see the core's `desktop::first_run`).
#[tauri::command]
pub async fn first_run_state(service: Service<'_>) -> Result<FirstRun> {
    blocking(&service, |s| Ok(s.first_run())).await
}

/// "Done, hide this": the guide does not show again.
#[tauri::command]
pub async fn first_run_done(service: Service<'_>) -> Result<()> {
    blocking(&service, DesktopService::first_run_done).await
}

/// Opens the data folder in the file manager; says so when there is none.
#[tauri::command]
pub async fn open_data_dir<R: Runtime>(app: AppHandle<R>, service: Service<'_>) -> Result<()> {
    let dir = service.data_dir();
    std::fs::create_dir_all(&dir).map_err(|e| Error::Core(anyhow::anyhow!("cannot create {}: {e}", dir.display())))?;
    app.opener()
        .open_path(dir.to_string_lossy(), None::<&str>)
        .map_err(|source| Error::Open { what: format!("{} (no file manager answered)", dir.display()), source })
}

/// Ends the app; the exit hook in `lib.rs` stops the gateway and restores
/// Claude Code on the way out.
#[tauri::command]
pub fn quit<R: Runtime>(app: AppHandle<R>) {
    app.exit(0);
}

/// What a click on a tray item does: the same as the window's controls.
/// `checked` is what a check item showed before the click.
pub fn on_tray_action<R: Runtime>(app: &AppHandle<R>, action: Action, checked: bool) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let service = app.state::<Arc<DesktopService>>();
        let result = match action {
            Action::Proxy => set_proxy(service, !checked).await,
            Action::ClaudeCode => set_claude_code(service, !checked).await,
            Action::RestartGateway => restart_gateway(service).await,
            Action::StartAtLogin => set_start_at_login(app.clone(), service, !checked).await,
            Action::KeepGatewayAfterQuit => set_keep_gateway_after_quit(service, !checked).await,
            Action::OpenDashboard => crate::show_window(&app, None),
            Action::OpenLogs => crate::show_window(&app, Some(Panel::Logs)),
            Action::OpenSpend => crate::show_window(&app, Some(Panel::Spend)),
            Action::OpenWindows => crate::show_window(&app, Some(Panel::Windows)),
            Action::Login => crate::show_window(&app, Some(Panel::Login)),
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
