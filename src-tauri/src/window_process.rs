//! The window's process, as the tray app sees it: started when the window
//! opens, told what to show while it runs, sent the events its pages
//! follow, and answered when its page calls a command.
//!
//! The tray app itself never loads a web view, so it stays small all day;
//! the window's process (see [`crate::window`]) and its WebKit processes
//! end when the window closes. The messages are the core's
//! `desktop::window_link`.

use std::io::BufReader;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use gatehouse::desktop::window_link::{self, FromWindow, Outbox, ToWindow};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime};

use crate::Panel;
use crate::error::{Error, Result};

/// The command-line flag that makes `gatehouse-desktop` the window process.
pub(crate) const WINDOW_FLAG: &str = "--window";
/// With [`WINDOW_FLAG`]: the panel to open on.
pub(crate) const PANEL_FLAG: &str = "--panel";
/// With [`WINDOW_FLAG`]: create the window hidden (for WebDriver, which
/// drives only a web view that exists when it connects).
pub(crate) const HIDDEN_FLAG: &str = "--hidden";
/// Set for the window process when the page should report its first paint:
/// when the window was asked for, in milliseconds since the Unix epoch.
pub(crate) const ASKED_AT_ENV: &str = "GATEHOUSE_WINDOW_ASKED_AT";

/// The running window process, if any; managed by the tray app.
#[derive(Default)]
pub struct WindowProcess {
    running: Mutex<Option<Running>>,
}

struct Running {
    child: Child,
    /// The window's stdin, written by a thread of its own: a window that
    /// stops reading never blocks the tray app.
    to_window: Outbox,
}

/// Shows the window on `panel`: brings the running one to the front, or
/// starts the window's process.
pub fn show<R: Runtime>(app: &AppHandle<R>, panel: Option<Panel>) -> Result<()> {
    start_or_show(app, panel, false)
}

/// Starts the window's process with its window hidden, unless it runs.
pub(crate) fn create_hidden<R: Runtime>(app: &AppHandle<R>) -> Result<()> {
    start_or_show(app, None, true)
}

fn start_or_show<R: Runtime>(app: &AppHandle<R>, panel: Option<Panel>, hidden: bool) -> Result<()> {
    let Some(process) = app.try_state::<WindowProcess>() else {
        return Err(Error::Core(anyhow::anyhow!("this app has no window")));
    };
    let mut running = process.running.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(window) = running.as_mut()
        && matches!(window.child.try_wait(), Ok(None))
    {
        if !hidden {
            window.to_window.send(ToWindow::Show { panel: panel.map(|p| p.name().to_string()) });
        }
        return Ok(());
    }
    // The page opens on the Overview and asks for it first thing.
    if panel.is_none()
        && !hidden
        && let Some(service) = app.try_state::<std::sync::Arc<gatehouse::desktop::service::DesktopService>>()
    {
        service.prefetch_overview();
    }
    *running = Some(start(app, panel, hidden)?);
    Ok(())
}

fn start<R: Runtime>(app: &AppHandle<R>, panel: Option<Panel>, hidden: bool) -> Result<Running> {
    let exe = std::env::current_exe().map_err(|e| Error::Window(format!("cannot find this program: {e}")))?;
    let mut command = Command::new(exe);
    command.arg(WINDOW_FLAG);
    if let Some(panel) = panel {
        command.args([PANEL_FLAG, panel.name()]);
    }
    if hidden {
        command.arg(HIDDEN_FLAG);
    }
    crate::graphics::without_gl(&mut command);
    if tracing::enabled!(target: crate::commands::PAINT_LOG_TARGET, tracing::Level::DEBUG) {
        let asked = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        command.env(ASKED_AT_ENV, asked.as_millis().to_string());
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Window(format!("cannot start the window's process: {e}")))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(Error::Window("the window's process has no pipes".to_string()));
    };
    let to_window = match Outbox::start(stdin) {
        Ok(outbox) => outbox,
        Err(error) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Window(format!("cannot start writing to the window's process: {error}")));
        }
    };
    let pid = child.id();
    std::thread::spawn({
        let (app, to_window) = (app.clone(), to_window.clone());
        move || {
            window_link::receive::<FromWindow>(
                BufReader::new(stdout),
                |FromWindow::Call { id, command, args }| answer(&app, &to_window, id, command, args),
                |why| tracing::warn!("from the window: {why}"),
            );
            reap(&app, pid);
        }
    });
    Ok(Running { child, to_window })
}

/// Runs a call of the window's page and sends it the answer.
fn answer<R: Runtime>(app: &AppHandle<R>, to_window: &Outbox, id: u64, command: String, args: serde_json::Value) {
    let (app, to_window) = (app.clone(), to_window.clone());
    tauri::async_runtime::spawn(async move {
        let result = crate::commands::dispatch(&app, &command, args).await.map_err(|error| {
            tracing::debug!("{command}: {error}");
            serde_json::Value::String(error.to_string())
        });
        if !to_window.send(ToWindow::Reply { id, result }) {
            tracing::debug!("cannot answer the window's {command}: it has ended");
        }
    });
}

/// The window's process closed its end: it has ended (the window was
/// closed) or is ending. Waits for it, so it leaves no zombie.
fn reap<R: Runtime>(app: &AppHandle<R>, pid: u32) {
    let Some(process) = app.try_state::<WindowProcess>() else { return };
    let ended = {
        let mut running = process.running.lock().unwrap_or_else(|e| e.into_inner());
        match running.as_ref() {
            Some(window) if window.child.id() == pid => running.take(),
            _ => None,
        }
    };
    if let Some(mut window) = ended {
        drop(window.to_window);
        match window.child.wait() {
            Ok(status) if !status.success() => tracing::warn!("the window's process ended: {status}"),
            Ok(_) => tracing::debug!("the window closed"),
            Err(error) => tracing::warn!("cannot wait for the window's process: {error}"),
        }
        // What answering the pages allocated is free now: back to the system.
        gatehouse::desktop::memory::give_back_after_close();
    }
}

/// Sends the window's page an event; nothing when the window is closed.
pub fn send_event<R: Runtime>(app: &AppHandle<R>, name: &str, payload: impl Serialize) {
    let Some(process) = app.try_state::<WindowProcess>() else { return };
    let running = process.running.lock().unwrap_or_else(|e| e.into_inner());
    let Some(window) = running.as_ref() else { return };
    match serde_json::value::to_raw_value(&payload) {
        Ok(payload) => {
            if !window.to_window.send(ToWindow::Event { name: name.to_string(), payload }) {
                tracing::debug!("the window is not reading its events; {name} dropped");
            }
        }
        Err(error) => tracing::warn!("cannot send the window {name}: {error}"),
    }
}
