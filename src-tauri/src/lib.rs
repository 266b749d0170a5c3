//! Gatehouse's desktop app: a tray icon and a window over the `gatehouse`
//! core.
//!
//! This crate is wiring only. The core's supervisor runs the gateway as a
//! child process (so a crash here never takes Claude Code's traffic down),
//! its desktop service does what the tray items and buttons ask, and its
//! menu model says what the tray shows. Here those are connected to Tauri:
//! the tray, IPC [`commands`], notifications, single instance and start at
//! login. The window runs in a process of its own ([`window`]), which the
//! tray app starts when it opens ([`window_process`]). Both draw without
//! OpenGL ([`graphics`]).

mod commands;
mod desktop_env;
mod error;
mod graphics;
mod tray;
mod window;
mod window_process;

use std::sync::Arc;

use gatehouse::desktop::menu;
use gatehouse::desktop::notice::{self, Notice, Opens};
use gatehouse::desktop::service::DesktopService;
use gatehouse::desktop::snapshot::Snapshot;
use gatehouse::supervisor::SupervisorOptions;
use tauri::{App, AppHandle, Builder, Manager, RunEvent, Runtime};
use tokio::sync::broadcast::error::RecvError;

use crate::tray::Tray;
use gatehouse::dashboard::state::View;

pub use commands::dispatch;
use window_process::WindowProcess;

/// The main window's label in `tauri.conf.json`.
pub(crate) const MAIN_WINDOW: &str = "main";

/// The app's configuration and embedded page, shared by both processes.
fn context() -> tauri::Context {
    tauri::generate_context!("../tauri.conf.json")
}

/// Runs the app until "Quit" (or a signal that means the same); with
/// `--window`, runs the window's process instead (see [`window`]); with
/// `--version`, prints the About line.
pub fn run() {
    init_logging();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(window_process::WINDOW_FLAG) {
        return window::run(&args);
    }
    // The About line, with no display needed: what the package test compares.
    if args.get(1).map(String::as_str) == Some("--version") {
        println!("{}", menu::about_line());
        return;
    }
    // GTK would panic with a backtrace; say what is wrong and what to run.
    if let Err(why) = desktop_env::graphical_session() {
        eprintln!(
            "error: there is no graphical session ({why}), so the Gatehouse app cannot show its tray icon or window; \
             without a desktop, run `gatehouse gateway supervise` (the gateway as the app runs it, with restarts and \
             fail-open) or `gatehouse gateway run` (the gateway in the foreground)"
        );
        std::process::exit(1);
    }
    gatehouse::desktop::memory::few_arenas();
    graphics::start_gtk_without_gl();
    let mut builder = Builder::default();
    // First: a second launch must hand over before anything else starts.
    // It works over D-Bus; without a usable session bus the app still runs.
    if desktop_env::session_bus_address_usable() {
        builder = builder.plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Err(error) = show_window(app, None) {
                tracing::warn!("cannot show the window for a second launch: {error}");
            }
        }));
    } else {
        tracing::warn!("DBUS_SESSION_BUS_ADDRESS is not a usable address: a second launch will not find this one");
    }
    let builder =
        builder.plugin(tauri_plugin_opener::init()).manage(WindowProcess::default()).setup(|app| Ok(setup(app)?));
    let app = builder.build(context());
    match app {
        Ok(app) => app.run(|app, event| match event {
            // Closing the window closes only the window: the app lives on in
            // the tray. An exit with a code is "Quit" (`AppHandle::exit`).
            RunEvent::ExitRequested { code: None, api, .. } => api.prevent_exit(),
            // However the app ends ("Quit", the session ending), the gateway
            // stops and Claude Code is restored, unless the user chose to
            // keep the gateway running.
            RunEvent::Exit => {
                if let Some(service) = app.try_state::<Arc<DesktopService>>()
                    && let Err(error) = service.quit()
                {
                    tracing::warn!("while quitting: {}", gatehouse::error_chain::describe(&error));
                }
            }
            _ => {}
        }),
        Err(error) => {
            eprintln!("error: Gatehouse could not start: {error}");
            std::process::exit(1);
        }
    }
}

fn setup(app: &mut App) -> anyhow::Result<()> {
    let handle = app.handle().clone();
    let options = SupervisorOptions::from_env()?;
    integrate_appimage(options.paths.clone());
    let service = DesktopService::new(options)?;
    app.manage(Arc::clone(&service));
    service.note_start_at_login(
        commands::autostart_dir().is_ok_and(|dir| gatehouse::desktop::start_at_login::is_enabled(&dir)),
    );

    let snapshot = service.snapshot();
    create_tray(app, &snapshot);
    // A config error is shown in the window, so the user can fix it. The
    // first launch opens it too, on the Overview and its first-run guide;
    // later launches stay in the tray.
    let first_launch = service.open_window_at_launch();
    if snapshot.config_error.is_some() || first_launch {
        show_window(&handle, None)?;
    } else if std::env::var("TAURI_WEBVIEW_AUTOMATION").as_deref() == Ok("true") {
        // Under WebDriver (tauri-driver sets this), WebKit drives only a web
        // view that exists when the driver connects: start it now, hidden.
        // The window's process inherits the driver's environment, so the
        // driver connects to its web view.
        window_process::create_hidden(&handle)?;
    }
    std::thread::spawn({
        let handle = handle.clone();
        move || {
            if !desktop_env::tray_host_present() {
                tracing::info!("no system tray host found; opening the window instead");
                if let Err(error) = show_window(&handle, None) {
                    tracing::warn!("cannot show the window: {error}");
                }
            }
        }
    });
    std::thread::spawn({
        let (service, handle) = (Arc::clone(&service), handle.clone());
        move || {
            if let Err(error) = service.launch() {
                let error = gatehouse::error_chain::describe(&error);
                tracing::warn!("cannot start the gateway: {error}");
                notify(&handle, "Gatehouse cannot start the gateway", &error);
            }
        }
    });
    forward_notices(&handle, &service);
    forward_ledger(&handle, &service);
    quit_on_signals(&handle);
    service.watch(move |snapshot| show_snapshot(&handle, snapshot));
    Ok(())
}

/// Run from an AppImage, the app puts it in the applications menu, with
/// its icons and the `gatehouse` command, as a package would.
fn integrate_appimage(paths: gatehouse::paths::Paths) {
    std::thread::spawn(move || match gatehouse::appimage::integrate_running(&paths) {
        Some(Ok(done)) => tracing::info!("the AppImage on the desktop: {done:?}"),
        Some(Err(error)) => tracing::warn!("cannot add the AppImage to the applications menu: {error}"),
        None => {}
    });
}

fn create_tray(app: &App, snapshot: &Snapshot) {
    // A missing appindicator library panics inside tray-icon; the window is
    // the way in then, and the app must not die for it.
    let tray = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Tray::create(app.handle(), menu::tray_model(snapshot))
    }));
    match tray {
        Ok(Ok(tray)) => {
            app.manage(tray);
        }
        Ok(Err(error)) => tracing::warn!("no tray icon: {error}"),
        Err(_) => tracing::warn!("no tray icon: the tray library failed to load"),
    }
}

/// SIGINT (Ctrl-C in the terminal that started the app), SIGTERM (`kill`,
/// a logout, a shutdown) and SIGHUP (the terminal closing) end the app the
/// way "Quit" does, so Claude Code is never left on a gateway nobody looks
/// after. A second signal while quitting ends the app at once; Claude Code
/// has been restored by then, or the gateway's watchdog calls a headless
/// supervisor (see the core's `supervisor::watchdog`).
fn quit_on_signals(app: &AppHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let streams = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
        let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hang_up)) = streams else {
            tracing::warn!("cannot handle SIGINT, SIGTERM and SIGHUP; they would end the app without \"Quit\"");
            return;
        };
        for round in 0.. {
            let name = tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
                _ = hang_up.recv() => "SIGHUP",
            };
            if round == 0 {
                tracing::info!("{name} received: quitting as \"Quit\" does");
                app.exit(0);
            } else {
                tracing::warn!("{name} received while quitting: exiting now");
                std::process::exit(1);
            }
        }
    });
}

/// Turns the supervisor's events that need attention, and what the
/// subscription windows deserve, into notifications.
fn forward_notices(app: &AppHandle, service: &DesktopService) {
    let (mut windows, for_windows) = (service.notices(), app.clone());
    tauri::async_runtime::spawn(async move {
        loop {
            match windows.recv().await {
                Ok(notice) => notify_notice(&for_windows, notice),
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    let (mut events, app) = (service.events(), app.clone());
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(notice) = notice::for_event(&event) {
                        notify_notice(&app, notice);
                    }
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// Sends the window the `ledger` event (new rows, the newest id) when
/// requests are recorded, so its pages follow without polling. A closed
/// window costs nothing.
fn forward_ledger<R: Runtime>(app: &AppHandle<R>, service: &DesktopService) {
    let app = app.clone();
    service.on_ledger_change(move |changed| window_process::send_event(&app, "ledger", changed));
}

/// Draws a new snapshot in the tray and the window.
fn show_snapshot(app: &AppHandle, snapshot: &Snapshot) {
    let view = View::new(snapshot.clone());
    if let Some(tray) = app.try_state::<Tray<tauri::Wry>>()
        && let Err(error) = tray.update(app, view.tray.clone())
    {
        tracing::warn!("cannot update the tray: {error}");
    }
    window_process::send_event(app, "state", view);
}

/// A part of the window that a tray item opens.
#[derive(Debug, Clone, Copy)]
pub enum Panel {
    Logs,
    Login,
    /// The dashboard's Spend page (the tray's "Today" line).
    Spend,
    /// The dashboard's Windows page (the tray's window lines).
    Windows,
}

impl Panel {
    /// The name the web UI knows it by.
    fn name(self) -> &'static str {
        match self {
            Panel::Logs => "logs",
            Panel::Login => "login",
            Panel::Spend => "spend",
            Panel::Windows => "windows",
        }
    }
}

/// Shows the window on `panel`, starting it if it is closed.
pub fn show_window<R: Runtime>(app: &AppHandle<R>, panel: Option<Panel>) -> error::Result<()> {
    window_process::show(app, panel)
}

/// Sends a desktop notification, or logs it when the desktop cannot show one.
pub fn notify<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    notify_notice(app, Notice { title: title.to_string(), body: body.to_string(), opens: Opens::Nothing });
}

/// Sends `notice` as a desktop notification under the app's name and icon,
/// with an "Open dashboard" action where opening the window helps; or logs
/// it when the desktop cannot show one.
pub fn notify_notice<R: Runtime>(app: &AppHandle<R>, notice: Notice) {
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let Notice { title, body, opens } = notice;
        tracing::info!("notification: {title}: {body}");
        if let Err(why) = desktop_env::notifications_available() {
            tracing::warn!("notification not shown: {why}");
            return;
        }
        let panel = match opens {
            Opens::Nothing => None,
            Opens::Overview => Some(None),
            Opens::Spend => Some(Some(Panel::Spend)),
            Opens::Windows => Some(Some(Panel::Windows)),
            Opens::Logs => Some(Some(Panel::Logs)),
        };
        let mut notification = notify_rust::Notification::new();
        notification.appname("Gatehouse").summary(&title).body(&body).icon(&notification_icon());
        if panel.is_some() {
            // "default" is also what a click on the notification itself does.
            notification.action("default", "Open dashboard");
        }
        match notification.show() {
            Err(error) => tracing::warn!("notification not shown: {error}"),
            // Waits, on this blocking thread, until it is acted on or closed.
            Ok(shown) => {
                if let Some(panel) = panel {
                    shown.wait_for_action(|action| {
                        if action == "default"
                            && let Err(error) = show_window(&app, panel)
                        {
                            tracing::warn!("cannot open the window from a notification: {error}");
                        }
                    });
                }
            }
        }
    });
}

/// The app's icon for notifications: its name in the icon theme once
/// installed (the package puts it there), else the file in the source tree.
fn notification_icon() -> String {
    const INSTALLED: &str = "/usr/share/icons/hicolor/128x128/apps/gatehouse-desktop.png";
    if std::path::Path::new(INSTALLED).exists() {
        "gatehouse-desktop".to_string()
    } else {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../icons/128x128.png").to_string()
    }
}

/// Logs to stderr; `GATEHOUSE_LOG` sets the level, as for the `gatehouse` command.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
