//! The window's process: the dashboard's window and nothing else.
//!
//! The tray app starts `gatehouse-desktop --window` when the window opens
//! (see [`crate::window_process`]). This process shows the page and
//! forwards every call the page makes to the tray app, which runs it; it
//! passes on the events the tray app sends. Closing the window ends this
//! process and its WebKit processes, and so does the tray app ending.

use std::io::BufReader;
use std::sync::{Arc, Mutex};

use gatehouse::desktop::window_link::{self, PendingCalls, ToWindow};
use serde_json::Value;
use tauri::ipc::{InvokeBody, InvokeError, InvokeResponseBody, Response};
use tauri::{AppHandle, Builder, Emitter, Manager, WebviewWindowBuilder, Wry};

use crate::MAIN_WINDOW;
use crate::window_process::{ASKED_AT_ENV, HIDDEN_FLAG, PANEL_FLAG};

/// Runs the window until it is closed or the tray app ends.
pub(crate) fn run(args: &[String]) {
    let to_app = match window_link::take_stdout_for_messages() {
        Ok(file) => Arc::new(Mutex::new(file)),
        Err(error) => {
            eprintln!("error: the Gatehouse window cannot talk to the app: {error}");
            std::process::exit(1);
        }
    };
    let panel = args.iter().position(|arg| arg == PANEL_FLAG).and_then(|at| args.get(at + 1)).cloned();
    let hidden = args.iter().any(|arg| arg == HIDDEN_FLAG);
    let calls = Arc::new(PendingCalls::default());
    let forward = {
        let (calls, to_app) = (Arc::clone(&calls), Arc::clone(&to_app));
        move |invoke: tauri::ipc::Invoke<Wry>| {
            let args = match invoke.message.payload() {
                InvokeBody::Json(args) => args.clone(),
                InvokeBody::Raw(_) => Value::Null,
            };
            let (call, answered) = calls.start(invoke.message.command(), args);
            let sent = window_link::send(&mut *to_app.lock().unwrap_or_else(|e| e.into_inner()), &call);
            if sent.is_err() {
                calls.close();
            }
            invoke.resolver.respond_async(async move {
                match answered.await {
                    // The app's JSON text, passed on as it came.
                    Ok(Ok(json)) => Ok(Response::new(InvokeResponseBody::Json(String::from(Box::<str>::from(json))))),
                    Ok(Err(error)) => Err(InvokeError(error)),
                    Err(_) => Err(InvokeError(Value::String(window_link::APP_GONE.to_string()))),
                }
            });
            true
        }
    };
    let app = Builder::default()
        .invoke_handler(forward)
        .setup(move |app| {
            let window = create(app.handle(), panel.as_deref())?;
            if !hidden {
                window.show()?;
                window.set_focus()?;
            }
            listen_to_app(app.handle().clone(), calls);
            Ok(())
        })
        .build(crate::context());
    match app {
        // Closing the window ends this process (Tauri's default once no
        // window is left).
        Ok(app) => app.run(|_, _| {}),
        Err(error) => {
            eprintln!("error: the Gatehouse window could not start: {error}");
            std::process::exit(1);
        }
    }
}

/// Creates the window from its entry in `tauri.conf.json`, hidden.
fn create(app: &AppHandle, panel: Option<&str>) -> anyhow::Result<tauri::WebviewWindow> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == MAIN_WINDOW)
        .ok_or_else(|| anyhow::anyhow!("tauri.conf.json has no \"{MAIN_WINDOW}\" window"))?;
    let mut builder = WebviewWindowBuilder::from_config(app, config)?;
    if let Some(asked) = std::env::var(ASKED_AT_ENV).ok().and_then(|ms| ms.parse::<u64>().ok()) {
        // For measuring first paint: the page reports when the Overview has
        // painted its figures, against this moment (see `ui_painted`).
        builder = builder.initialization_script(format!("window.gatehouseWindowAskedAt = {asked};"));
    }
    if let Some(panel) = panel {
        // The page has not loaded yet, so an event would be lost: it reads
        // this when it starts.
        builder = builder.initialization_script(format!("window.gatehouseOpenPanel = {panel:?};"));
    }
    Ok(builder.build()?)
}

/// Reads what the tray app sends until it ends, then ends the window.
fn listen_to_app(app: AppHandle, calls: Arc<PendingCalls>) {
    std::thread::spawn(move || {
        window_link::receive::<ToWindow>(
            BufReader::new(std::io::stdin()),
            |message| match message {
                ToWindow::Reply { id, result } => calls.answer(id, result),
                ToWindow::Event { name, payload } => {
                    if let Err(error) = app.emit_to(MAIN_WINDOW, &name, payload) {
                        tracing::warn!("cannot pass {name} to the page: {error}");
                    }
                }
                ToWindow::Show { panel } => {
                    if let Err(error) = show(&app, panel.as_deref()) {
                        tracing::warn!("cannot show the window: {error}");
                    }
                }
            },
            |why| tracing::warn!("from the app: {why}"),
        );
        calls.close();
        app.exit(0);
    });
}

/// Brings the window to the front, on `panel` when one is named.
fn show(app: &AppHandle, panel: Option<&str>) -> tauri::Result<()> {
    let Some(window) = app.get_webview_window(MAIN_WINDOW) else { return Ok(()) };
    if let Some(panel) = panel {
        app.emit_to(MAIN_WINDOW, &format!("show-{panel}"), ())?;
    }
    window.show()?;
    window.unminimize()?;
    window.set_focus()
}
