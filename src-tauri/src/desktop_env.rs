//! What the desktop offers: a tray host, a notification daemon.
//!
//! Neither is guaranteed on Linux. With no tray host, building a tray icon
//! succeeds and shows nothing, so the app asks first and opens its window
//! instead. With no session bus or no notification daemon, a notification
//! would vanish silently, so the app asks first and logs it instead.

use std::time::Duration;

use zbus::blocking::Connection;
use zbus::blocking::fdo::DBusProxy;

/// The bus name of the StatusNotifierItem host (KDE, GNOME's AppIndicator
/// extension, waybar, …), which libayatana-appindicator uses when present.
const SNI_WATCHER: &str = "org.kde.StatusNotifierWatcher";
const NOTIFICATIONS: &str = "org.freedesktop.Notifications";
/// How long a missing tray host is waited for at launch: at login the app
/// may start a moment before the panel does.
const TRAY_HOST_GRACE: Duration = Duration::from_secs(3);

/// Whether a tray icon would be seen: a StatusNotifierItem host on the
/// session bus, or an XEmbed system tray (which appindicator falls back to).
pub fn tray_host_present() -> bool {
    let deadline = std::time::Instant::now() + TRAY_HOST_GRACE;
    loop {
        if xembed_tray_present() || bus_name_available(SNI_WATCHER).unwrap_or(false) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Whether there is a display to show a window on: a Wayland socket, or an
/// X server that accepts a connection. `Err` says what is missing.
pub fn graphical_session() -> Result<(), String> {
    if let Some(socket) = std::env::var_os("WAYLAND_DISPLAY").filter(|name| !name.is_empty()) {
        let socket = std::path::Path::new(&socket);
        let path = match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) if socket.is_relative() => std::path::Path::new(&dir).join(socket),
            _ => socket.to_path_buf(),
        };
        if path.exists() {
            return Ok(());
        }
    }
    match std::env::var("DISPLAY") {
        Ok(display) if !display.is_empty() => match x11rb::connect(None) {
            Ok(_) => Ok(()),
            Err(error) => Err(format!("cannot open the X display {display}: {error}")),
        },
        _ => Err("neither DISPLAY nor WAYLAND_DISPLAY names a display".to_string()),
    }
}

/// Whether `$DBUS_SESSION_BUS_ADDRESS` can be used at all. The
/// single-instance plugin panics on a malformed one (even an empty one), so
/// it is only registered when this holds.
pub fn session_bus_address_usable() -> bool {
    zbus::Address::session().is_ok()
}

/// Whether notifications can be shown; `Err` says why not.
pub fn notifications_available() -> Result<(), String> {
    match bus_name_available(NOTIFICATIONS) {
        Ok(true) => Ok(()),
        Ok(false) => Err("no notification daemon runs on the session bus".to_string()),
        Err(error) => Err(format!("no D-Bus session bus: {error}")),
    }
}

/// Whether a bus name has an owner, or a service that D-Bus would start for it.
fn bus_name_available(name: &str) -> zbus::Result<bool> {
    let connection = Connection::session()?;
    let bus = DBusProxy::new(&connection)?;
    Ok(bus.name_has_owner(name.try_into()?)? || bus.list_activatable_names()?.iter().any(|n| n.as_str() == name))
}

/// Whether an X11 system tray owns the `_NET_SYSTEM_TRAY_S<screen>` selection.
fn xembed_tray_present() -> bool {
    use x11rb::protocol::xproto::ConnectionExt as _;

    let Ok((connection, screen)) = x11rb::connect(None) else { return false };
    let selection = format!("_NET_SYSTEM_TRAY_S{screen}");
    let owner = connection
        .intern_atom(false, selection.as_bytes())
        .ok()
        .and_then(|cookie| cookie.reply().ok())
        .and_then(|atom| connection.get_selection_owner(atom.atom).ok())
        .and_then(|cookie| cookie.reply().ok());
    owner.is_some_and(|reply| reply.owner != x11rb::NONE)
}
