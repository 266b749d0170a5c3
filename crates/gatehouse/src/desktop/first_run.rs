//! The first-run guide: the window opens by itself once, at the first
//! launch, and its Overview walks the user through the three things that
//! matter (the gateway runs, Claude Code is switched onto it, the history
//! is imported from Claude Code's transcripts).
//!
//! What the app remembers lives in `state/first-run.json`: whether the
//! window was already opened for the first run, and whether the guide is
//! over (the user hid it, or every step was seen done). Each change is a
//! read-modify-write under the file's cross-process lock, written
//! atomically, so a second instance or a kill mid-write loses nothing. A
//! missing file is a first launch; a file that cannot be read is not (it
//! was written by an earlier launch), so the window does not open by itself
//! again, but the guide is still offered while a step is left.
//!
//! The steps are read from the world, never from a flag of the guide's
//! own: the gateway's state, Claude Code's user settings, and the ledger's
//! record of the transcripts the imports read (the gateway imports at start
//! and every few minutes). An existing user who upgrades and has done all
//! three never sees the guide; one with a step left sees it once, until it
//! is hidden or everything is done.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::service::DesktopService;
use crate::file_lock::FileLock;
use crate::ledger::import::{self, ImportedHistory};
use crate::supervisor::GatewayState;

/// What the window's Overview needs to draw the guide.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirstRun {
    /// Whether to show the guide: it was never hidden nor finished, and a
    /// step is left for the user.
    pub show: bool,
    /// The history the imports brought so far; `None` until an import read
    /// a transcript.
    pub imported: Option<ImportedHistory>,
    /// Claude Code has no transcript at all (a new user): there is no
    /// history, so the import step is done.
    pub nothing_to_import: bool,
}

/// The saved state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct FirstRunState {
    /// The window was opened (or deliberately not) at the first launch.
    pub(crate) window_opened: bool,
    /// How the guide ended; `None` while it may still show.
    pub(crate) guide: Option<GuideEnd>,
}

/// How the guide ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GuideEnd {
    /// The user chose "Done, hide this".
    Dismissed,
    /// Every step was seen done.
    Completed,
}

/// The three steps, as the world says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Steps {
    /// The gateway runs, or is on its way up: nothing for the user to do.
    gateway: bool,
    /// The gateway answers right now.
    gateway_running: bool,
    claude_code: bool,
    imported: bool,
}

impl Steps {
    /// Whether some step needs the user.
    fn left(&self) -> bool {
        !(self.gateway && self.claude_code && self.imported)
    }

    /// Whether every step is done for real (not merely on its way).
    fn all_done(&self) -> bool {
        self.gateway_running && self.claude_code && self.imported
    }
}

/// What the ledger and Claude Code's folder say about the history.
struct History {
    imported: Option<ImportedHistory>,
    nothing_to_import: bool,
}

/// Where the state lives.
pub(crate) fn file(state_dir: &Path) -> PathBuf {
    state_dir.join("first-run.json")
}

/// Reads the state. Missing: a first launch. Unreadable or not understood:
/// an earlier launch wrote it, so the window was opened; the guide's end is
/// unknown, so the steps decide.
pub(crate) fn load(path: &Path) -> FirstRunState {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
            tracing::warn!("{} is not valid ({error}); it is rewritten at the next change", path.display());
            FirstRunState { window_opened: true, guide: None }
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => FirstRunState::default(),
        Err(error) => {
            tracing::warn!("cannot read {}: {error}", path.display());
            FirstRunState { window_opened: true, guide: None }
        }
    }
}

/// Applies `change` to the state as it is on disk now, under the lock, and
/// saves it if it changed. Returns the state before and after.
pub(crate) fn update(
    path: &Path,
    change: impl FnOnce(&mut FirstRunState),
) -> anyhow::Result<(FirstRunState, FirstRunState)> {
    update_with_hook(path, || {}, change)
}

/// [`update`], calling `after_read` between reading and writing (the
/// tests hold a writer there to race another one).
fn update_with_hook(
    path: &Path,
    after_read: impl FnOnce(),
    change: impl FnOnce(&mut FirstRunState),
) -> anyhow::Result<(FirstRunState, FirstRunState)> {
    let _lock = FileLock::beside(path)?;
    let before = load(path);
    after_read();
    let mut after = before.clone();
    change(&mut after);
    if after != before || !path.exists() {
        let json = serde_json::to_vec_pretty(&after)?;
        crate::fs_atomic::write_private(path, &json)
            .map_err(|error| anyhow::anyhow!("cannot save {}: {error}", path.display()))?;
    }
    Ok((before, after))
}

impl DesktopService {
    fn first_run_file(&self) -> PathBuf {
        file(&self.options().paths.state_dir)
    }

    fn first_run_steps(&self) -> (Steps, History) {
        let proxy_on = self.app_state().proxy_enabled != Some(false);
        let state = self.gateway_state();
        let gateway_running = matches!(state, GatewayState::Running { .. });
        // Stopped with the proxy on: the launch is starting it.
        let gateway = gateway_running
            || (proxy_on
                && matches!(
                    state,
                    GatewayState::Stopped
                        | GatewayState::Starting
                        | GatewayState::Unhealthy { .. }
                        | GatewayState::Restarting { .. }
                ));
        let ledger = self.options().paths.ledger_file();
        let imported = import::history(&ledger).unwrap_or_else(|error| {
            tracing::warn!("cannot read what was imported into {}: {error}", ledger.display());
            None
        });
        // Only looked for while nothing was imported: a walk of Claude
        // Code's projects folder, which then holds few files if any.
        let nothing_to_import = imported.is_none()
            && crate::paths::claude_config_dir().is_ok_and(|claude_dir| !import::any_transcript(&claude_dir));
        let claude_code = self.claude_code_configured();
        let steps = Steps { gateway, gateway_running, claude_code, imported: imported.is_some() || nothing_to_import };
        (steps, History { imported, nothing_to_import })
    }

    /// The guide's state for the window. Once every step is done, the guide
    /// is over for good: turning the gateway off later does not bring it back.
    pub fn first_run(&self) -> FirstRun {
        let path = self.first_run_file();
        let (steps, history) = self.first_run_steps();
        let mut saved = load(&path);
        if saved.guide.is_none() && steps.all_done() {
            match update(&path, |state| _ = state.guide.get_or_insert(GuideEnd::Completed)) {
                Ok((_, after)) => saved = after,
                Err(error) => tracing::warn!("cannot note that the first-run guide is complete: {error:#}"),
            }
        }
        FirstRun {
            show: saved.guide.is_none() && steps.left(),
            imported: history.imported,
            nothing_to_import: history.nothing_to_import,
        }
    }

    /// "Done, hide this": the guide does not show again.
    pub fn first_run_done(&self) -> anyhow::Result<()> {
        update(&self.first_run_file(), |state| _ = state.guide.get_or_insert(GuideEnd::Dismissed))?;
        Ok(())
    }

    /// At launch: whether to open the window for the guide. True once, at
    /// the first launch, and only if a step is left (an existing user with
    /// everything done stays in the tray); later launches stay in the tray.
    /// If that cannot be remembered, the window stays closed rather than
    /// opening at every launch.
    pub fn open_window_at_launch(&self) -> bool {
        let (steps, _) = self.first_run_steps();
        match update(&self.first_run_file(), |state| state.window_opened = true) {
            Ok((before, _)) => !before.window_opened && before.guide.is_none() && steps.left(),
            Err(error) => {
                tracing::warn!("cannot remember the first launch, so the window does not open by itself: {error:#}");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn steps(gateway: bool, claude_code: bool, imported: bool) -> Steps {
        Steps { gateway, gateway_running: gateway, claude_code, imported }
    }

    #[test]
    fn a_missing_file_is_a_first_launch_and_changes_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir.path().join("state"));
        assert_eq!(load(&path), FirstRunState::default());
        let (before, after) = update(&path, |s| s.window_opened = true).unwrap();
        assert_eq!(before, FirstRunState::default());
        assert_eq!(after, FirstRunState { window_opened: true, guide: None });
        assert_eq!(load(&path), after, "read back as written");
        // A second change keeps the first.
        update(&path, |s| s.guide = Some(GuideEnd::Dismissed)).unwrap();
        assert_eq!(load(&path), FirstRunState { window_opened: true, guide: Some(GuideEnd::Dismissed) });
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"dismissed\""), "{text}");
    }

    #[test]
    fn a_corrupt_file_is_not_a_first_launch_and_is_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path());
        for junk in ["{ not json", "", "[1, 2]", "{\"guide\": \"sideways\"}"] {
            std::fs::write(&path, junk).unwrap();
            assert_eq!(load(&path), FirstRunState { window_opened: true, guide: None }, "{junk:?}");
        }
        // Fields it does not know (a newer version's) are kept out of the way.
        std::fs::write(&path, r#"{"guide": "completed", "later": 1}"#).unwrap();
        assert_eq!(load(&path), FirstRunState { window_opened: false, guide: Some(GuideEnd::Completed) });
        // The next change writes a good file over a bad one.
        std::fs::write(&path, "{ not json").unwrap();
        update(&path, |s| s.guide = Some(GuideEnd::Dismissed)).unwrap();
        assert_eq!(load(&path), FirstRunState { window_opened: true, guide: Some(GuideEnd::Dismissed) });
        // A directory where the file should be: read as "not first", and a
        // change fails with the path named, without a crash.
        let blocked = dir.path().join("blocked.json");
        std::fs::create_dir(&blocked).unwrap();
        assert!(load(&blocked).window_opened);
        let error = update(&blocked, |s| s.guide = Some(GuideEnd::Dismissed)).unwrap_err();
        assert!(format!("{error:#}").contains("blocked.json"), "{error:#}");
    }

    #[test]
    fn a_dismiss_racing_the_first_launch_is_kept() {
        // The launch has read the file and holds it; a dismiss (another
        // instance, the window) comes in meanwhile. Without the lock the
        // launch would write its stale copy over the dismissal.
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path());
        let (read, was_read) = mpsc::channel();
        let (go_on, proceed) = mpsc::channel::<()>();
        let launch = std::thread::spawn({
            let path = path.clone();
            move || {
                let after_read = move || {
                    read.send(()).unwrap();
                    proceed.recv().unwrap();
                };
                update_with_hook(&path, after_read, |s| s.window_opened = true).unwrap()
            }
        });
        was_read.recv().unwrap();
        let (dismissed, done) = mpsc::channel();
        let dismiss = std::thread::spawn({
            let path = path.clone();
            move || {
                update(&path, |s| s.guide = Some(GuideEnd::Dismissed)).unwrap();
                dismissed.send(()).unwrap();
            }
        });
        // The dismiss waits for the launch's write; a dismiss that did not
        // wait would be overwritten below.
        assert!(done.recv_timeout(Duration::from_millis(300)).is_err(), "the dismiss did not wait for the lock");
        go_on.send(()).unwrap();
        let (before, _) = launch.join().unwrap();
        assert!(!before.window_opened);
        done.recv_timeout(Duration::from_secs(30)).unwrap();
        dismiss.join().unwrap();
        assert_eq!(load(&path), FirstRunState { window_opened: true, guide: Some(GuideEnd::Dismissed) });
    }

    #[test]
    fn steps_say_whether_anything_is_left() {
        assert!(steps(true, false, true).left());
        assert!(steps(true, true, false).left());
        assert!(steps(false, true, true).left());
        assert!(!steps(true, true, true).left());
        assert!(steps(true, true, true).all_done());
        // A gateway on its way up needs nothing from the user, but is not done yet.
        let starting = Steps { gateway: true, gateway_running: false, claude_code: true, imported: true };
        assert!(!starting.left() && !starting.all_done());
    }
}
