//! How the app's processes draw: on the CPU, without OpenGL.
//!
//! The tray app draws an icon and a menu; the window draws text, tables and
//! 2-D canvas charts. Neither needs the GPU, but left alone both load the
//! system's OpenGL driver: GTK probes GLX when it opens the display, and
//! WebKit composites the page with OpenGL. On a desktop without a GPU (and
//! under Xvfb) that driver is Mesa's llvmpipe, which maps 44 MB of LLVM into
//! every process that loads it, and WebKit's compositing keeps some 60 MB
//! more in its web process (measured in docs/BENCHMARKS.md, "The desktop
//! app"). It is also the path behind WebKitGTK's blank windows on some
//! drivers.
//!
//! So, on Linux:
//! - the tray app opens its display with GTK's OpenGL off (`GDK_GL=disable`
//!   for GTK's start only, so the programs it opens for the user do not
//!   inherit it);
//! - the window's process starts with GTK's OpenGL off and WebKit's
//!   compositing off (`WEBKIT_DISABLE_COMPOSITING_MODE=1`), and its WebKit
//!   processes inherit that;
//! - with compositing off, WebKit still opened OpenGL in the window's
//!   process, only to ask which GPU device its compositing would share
//!   buffers through (LLVM's 44 MB, and about 40 ms of each open's first
//!   paint; docs/BENCHMARKS.md). Naming the
//!   device (`WEBKIT_WEB_RENDER_DEVICE_FILE`) and turning the buffer
//!   sharing off (`WEBKIT_DISABLE_DMABUF_RENDERER=1`) answers both
//!   questions without it; neither is used while compositing is off.
//!
//! A user who sets any of these variables keeps their value; one who sets
//! the compositing variable gets none of the others from us either.

use std::process::Command;

/// GTK's debug variable whose `disable` turns its OpenGL off.
#[cfg(target_os = "linux")]
const GDK_GL: &str = "GDK_GL";
/// WebKitGTK's variable that turns accelerated compositing off.
#[cfg(target_os = "linux")]
const WEBKIT_NO_COMPOSITING: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
/// WebKitGTK's variable that turns off sharing composited frames as DMA
/// buffers (its check for them opens OpenGL).
#[cfg(target_os = "linux")]
const WEBKIT_NO_DMABUF: &str = "WEBKIT_DISABLE_DMABUF_RENDERER";
/// WebKitGTK's variable naming the GPU's render node (without it, WebKit
/// opens OpenGL to ask).
#[cfg(target_os = "linux")]
const WEBKIT_RENDER_DEVICE: &str = "WEBKIT_WEB_RENDER_DEVICE_FILE";

/// Starts GTK for the tray app with its OpenGL off, unless the user chose
/// otherwise. Call it before any other thread exists: it sets and then
/// removes a variable in this process's environment.
#[cfg(target_os = "linux")]
pub(crate) fn start_gtk_without_gl() {
    let ours = std::env::var_os(GDK_GL).is_none();
    if ours {
        // SAFETY: called first thing in `run`, before this process has
        // started any thread, so nothing reads the environment meanwhile.
        unsafe { std::env::set_var(GDK_GL, "disable") };
    }
    // GTK reads the variable once, here; Tauri's own start finds GTK
    // started and goes on.
    if let Err(error) = gtk::init() {
        tracing::warn!("GTK did not start early ({error}); Tauri will try again");
    }
    if ours {
        // SAFETY: as above; still no other thread.
        unsafe { std::env::remove_var(GDK_GL) };
    }
}

/// Without OpenGL on other systems there is nothing to do.
#[cfg(not(target_os = "linux"))]
pub(crate) fn start_gtk_without_gl() {}

/// Sets up the window process's environment to draw without OpenGL, unless
/// the user chose otherwise.
pub(crate) fn without_gl(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        set_unless_users(command, GDK_GL, "disable".into());
        if set_unless_users(command, WEBKIT_NO_COMPOSITING, "1".into()) {
            set_unless_users(command, WEBKIT_NO_DMABUF, "1".into());
            set_unless_users(command, WEBKIT_RENDER_DEVICE, first_render_node().into());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Sets `name` for the command unless the user's environment has it; says
/// whether it did.
#[cfg(target_os = "linux")]
fn set_unless_users(command: &mut Command, name: &str, value: std::ffi::OsString) -> bool {
    let ours = std::env::var_os(name).is_none();
    if ours {
        command.env(name, value);
    }
    ours
}

/// The machine's first GPU render node (`/dev/dri/renderD128` and up), or
/// that name when there is none: WebKit only needs a name here, since it
/// shares no buffers while compositing is off.
#[cfg(target_os = "linux")]
fn first_render_node() -> std::path::PathBuf {
    let nodes = std::fs::read_dir("/dev/dri").into_iter().flatten().flatten();
    nodes
        .map(|entry| entry.path())
        .filter(|path| path.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with("renderD")))
        .min()
        .unwrap_or_else(|| "/dev/dri/renderD128".into())
}
