//! The engines as the dashboard shows them: the built-in gateway is always
//! the front door, and the LiteLLM engine runs behind it for the upstreams
//! it serves (AWS Bedrock). This module holds LiteLLM's part of the
//! snapshot (its install, an install running on a thread of its own with
//! its progress, the last install's failure, and the upstreams it serves
//! with their state from the gateway's `/status`), and the service's
//! "Install", "Repair" and "Uninstall".
//!
//! One install runs at a time: a second click while one runs is refused
//! with a message, and so is "Uninstall". An install's end is also a
//! notification, since it takes minutes and the window may be closed.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::notice::{Notice, Opens};
use super::service::{DesktopService, lock};
use crate::config::Config;
use crate::engines::litellm::install::{self, InstallError, Outcome, PINNED_VERSION, Progress};
use crate::gateway::{EngineRun, GatewayStatus};
use crate::paths::Paths;

/// The LiteLLM engine, for the Settings page's "Engines" card.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiteLlmView {
    /// The one version Gatehouse installs.
    pub pinned_version: String,
    pub install: LiteLlmInstall,
    /// The install running now, with its latest report (`None` when none
    /// runs).
    pub installing: Option<Progress>,
    /// Why the last install failed, until the next one starts.
    pub last_failure: Option<InstallFailure>,
    /// The config's upstreams it serves, in the config's order.
    pub serves: Vec<ServedUpstream>,
    /// Where the running gateway's engine is in its life; `None` when the
    /// gateway is not running or needs no engine.
    #[ts(optional = nullable)]
    pub run: Option<EngineRun>,
}

/// What is installed.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LiteLlmInstall {
    NotInstalled,
    /// A verified install of the pin.
    Installed {
        version: String,
        /// Bytes on disk, when they could be counted.
        size_bytes: Option<u64>,
        /// The venv (the `venv` symlink everything else uses).
        venv: String,
        python_version: Option<String>,
    },
    /// Something is installed but cannot be used: why, and that "Repair"
    /// (a forced install) fixes it.
    Problem {
        message: String,
    },
}

/// Why an install failed, by kind, for the window to tell apart.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallFailureKind {
    /// No Python 3.10 or newer, or one without its venv module.
    NoPython,
    /// A file did not match its pinned hash, or the venv held another
    /// LiteLLM: refused, nothing changed.
    Refused,
    /// pip or uv failed (often: no network, or no wheel for this system).
    StepFailed,
    /// A file or a program could not be used.
    Io,
}

/// The last install's failure: its kind, and the core's message, which
/// says what to do.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstallFailure {
    pub kind: InstallFailureKind,
    pub message: String,
}

/// The failure the window shows for `error`.
fn failure(error: &InstallError) -> InstallFailure {
    let kind = match error {
        InstallError::NoPython { .. } | InstallError::NoVenvModule { .. } => InstallFailureKind::NoPython,
        InstallError::HashMismatch { .. } | InstallError::VersionMismatch { .. } => InstallFailureKind::Refused,
        InstallError::StepFailed { .. } => InstallFailureKind::StepFailed,
        InstallError::Spawn { .. } | InstallError::Io { .. } | InstallError::Lock(_) => InstallFailureKind::Io,
    };
    InstallFailure { kind, message: error.to_string() }
}

/// An upstream the engine serves, and whether the engine takes its
/// requests now.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServedUpstream {
    pub name: String,
    pub engine: EngineState,
}

/// The engine's state for one upstream, from the gateway's `/status`.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EngineState {
    Ready,
    /// Not taking requests: the gateway's words ("starting (12 s so far…)",
    /// not installed, stopped).
    NotReady {
        detail: String,
    },
    /// The gateway is not running, or does not know the upstream yet (it
    /// was added since the gateway started).
    Unknown {
        detail: String,
    },
}

/// Why an install or an uninstall was not started.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum EngineBusy {
    #[error("LiteLLM is being installed already; its progress is on the Settings page")]
    Installing,
    #[error("LiteLLM cannot be uninstalled while it is being installed; wait for the install to end")]
    UninstallWhileInstalling,
    #[error("LiteLLM is being uninstalled; wait for that to end")]
    Uninstalling,
}

/// What "Uninstall" removed, for the window to say.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uninstalled {
    /// One line for people: what was removed and what stays.
    pub message: String,
}

/// The install running, its last failure, and what the disk held when
/// last looked at.
#[derive(Default)]
pub(crate) struct LiteLlmState {
    installing: Option<Progress>,
    /// An uninstall runs (without this lock held: it may wait for an
    /// install from a terminal to end).
    uninstalling: bool,
    last_failure: Option<InstallFailure>,
    /// The install's view, and the venv it was read from: counting a
    /// venv's bytes walks all its files, so it is done again only when
    /// the `venv` symlink points elsewhere (or after an install or an
    /// uninstall from here).
    cached: Option<(Option<PathBuf>, LiteLlmInstall)>,
}

impl LiteLlmState {
    /// Marks an install as started, unless one runs.
    fn begin(&mut self) -> Result<(), EngineBusy> {
        if self.installing.is_some() {
            return Err(EngineBusy::Installing);
        }
        if self.uninstalling {
            return Err(EngineBusy::Uninstalling);
        }
        self.last_failure = None;
        self.installing = Some(Progress {
            phase: install::Phase::Python,
            fraction: 0.0,
            message: "Starting the install".to_string(),
        });
        Ok(())
    }

    /// Keeps the install's latest report; true when the window should see
    /// it now (a new phase, or a percent more), so that uv's many lines do
    /// not each redraw it.
    fn report(&mut self, progress: &Progress) -> bool {
        let Some(shown) = &mut self.installing else { return false };
        let worth = shown.phase != progress.phase || (progress.fraction - shown.fraction).abs() >= 0.01;
        if worth {
            *shown = progress.clone();
        }
        worth
    }

    /// The install ended: keeps its failure, forgets what the disk held,
    /// and returns the notification that says how it ended.
    fn end(&mut self, outcome: &Result<Outcome, InstallError>) -> Notice {
        self.installing = None;
        self.cached = None;
        match outcome {
            Ok(Outcome::Installed { installed, replaced }) => Notice {
                opens: Opens::Nothing,
                title: format!("LiteLLM {} installed", installed.version),
                body: match replaced {
                    Some(old) => format!("It replaces LiteLLM {old}. Bedrock upstreams go through it."),
                    None => "Bedrock upstreams go through it; the gateway starts it when one is configured.".into(),
                },
            },
            Ok(Outcome::AlreadyInstalled(installed)) => Notice {
                opens: Opens::Nothing,
                title: format!("LiteLLM {} is installed", installed.version),
                body: "It was installed and verified already; nothing was changed.".to_string(),
            },
            Err(error) => {
                let failure = failure(error);
                let notice = Notice {
                    title: "LiteLLM was not installed".to_string(),
                    body: failure.message.clone(),
                    opens: Opens::Nothing,
                };
                self.last_failure = Some(failure);
                notice
            }
        }
    }

    /// Marks an uninstall as started, unless an install or another
    /// uninstall runs.
    fn begin_uninstall(&mut self) -> Result<(), EngineBusy> {
        if self.installing.is_some() {
            return Err(EngineBusy::UninstallWhileInstalling);
        }
        if self.uninstalling {
            return Err(EngineBusy::Uninstalling);
        }
        self.uninstalling = true;
        Ok(())
    }

    /// The uninstall ended: what the disk holds is read again.
    fn end_uninstall(&mut self) {
        self.uninstalling = false;
        self.cached = None;
    }

    /// What is installed, read again only when the venv changed.
    fn install_view(&mut self, paths: &Paths) -> LiteLlmInstall {
        let key = std::fs::canonicalize(install::venv_link(paths)).ok();
        match &self.cached {
            Some((cached_key, view)) if *cached_key == key => view.clone(),
            _ => {
                let view = install_view(install::status(paths));
                self.cached = Some((key, view.clone()));
                view
            }
        }
    }

    /// The whole view, with the config's upstreams and the gateway's
    /// `/status` (none while the gateway does not run).
    fn view(&mut self, paths: &Paths, config: &Config, status: Option<&GatewayStatus>) -> LiteLlmView {
        LiteLlmView {
            pinned_version: PINNED_VERSION.to_string(),
            install: self.install_view(paths),
            installing: self.installing.clone(),
            last_failure: self.last_failure.clone(),
            serves: served(config, status),
            run: status.and_then(|status| status.litellm.as_ref()).map(|engine| engine.run),
        }
    }
}

/// The install as `gatehouse engine litellm status` reports it, for people.
fn install_view(status: install::Status) -> LiteLlmInstall {
    match (status.problem, status.installed) {
        (Some(message), _) => LiteLlmInstall::Problem { message },
        (None, false) => LiteLlmInstall::NotInstalled,
        (None, true) => LiteLlmInstall::Installed {
            version: status.version.unwrap_or_else(|| status.pinned_version.to_string()),
            size_bytes: status.size_bytes,
            venv: status.venv.display().to_string(),
            python_version: status.python_version,
        },
    }
}

/// The config's upstreams that go through LiteLLM, each with what the
/// gateway says of its engine.
fn served(config: &Config, status: Option<&GatewayStatus>) -> Vec<ServedUpstream> {
    config
        .upstreams
        .iter()
        .filter(|upstream| upstream.kind.through_litellm())
        .map(|upstream| {
            let engine = match status {
                None => EngineState::Unknown { detail: "the gateway is not running".to_string() },
                Some(status) => match status.upstreams.iter().find(|u| u.name == upstream.name) {
                    Some(known) => match &known.engine {
                        Some(engine) if engine.ready => EngineState::Ready,
                        Some(engine) => EngineState::NotReady { detail: engine.detail.clone() },
                        None => EngineState::Unknown { detail: "the gateway does not report an engine for it".into() },
                    },
                    None => EngineState::Unknown {
                        detail: "the gateway started before it was added; restart the gateway to use it".into(),
                    },
                },
            };
            ServedUpstream { name: upstream.name.clone(), engine }
        })
        .collect()
}

/// "1.2 GB", "650 MB": bytes as people read a download's size.
fn human_size(bytes: u64) -> String {
    const MB: f64 = 1_000_000.0;
    let mb = bytes as f64 / MB;
    if mb >= 1000.0 { format!("{:.1} GB", mb / 1000.0) } else { format!("{mb:.0} MB") }
}

impl DesktopService {
    /// Starts installing the pinned LiteLLM on a thread of its own
    /// (`force`: again, over a verified install, to repair one). Its
    /// progress shows in the snapshot; its end too, and as a notification.
    pub fn start_litellm_install(self: &Arc<Self>, force: bool) -> Result<(), EngineBusy> {
        self.start_litellm_install_with(force, install::install)
    }

    /// [`Self::start_litellm_install`], installing with `run`.
    fn start_litellm_install_with(
        self: &Arc<Self>,
        force: bool,
        run: impl FnOnce(&Paths, bool, &mut dyn FnMut(&Progress)) -> Result<Outcome, InstallError> + Send + 'static,
    ) -> Result<(), EngineBusy> {
        lock(&self.litellm).begin()?;
        self.nudge();
        let service = Arc::clone(self);
        let spawned = std::thread::Builder::new().name("litellm-install".into()).spawn(move || {
            let paths = service.options().paths.clone();
            let outcome = run(&paths, force, &mut |progress| {
                if lock(&service.litellm).report(progress) {
                    service.nudge();
                }
            });
            if let Err(error) = &outcome {
                tracing::warn!("installing LiteLLM from the app failed: {error}");
            }
            let notice = lock(&service.litellm).end(&outcome);
            // Notified before it shows: whoever sees the end finds its notification sent.
            service.notify(notice);
            service.nudge();
        });
        if let Err(error) = spawned {
            let failed =
                Err(InstallError::Io { what: "start a thread to install", path: PathBuf::new(), source: error });
            lock(&self.litellm).end(&failed);
            self.nudge();
        }
        Ok(())
    }

    /// Removes the LiteLLM venv; refused while an install runs.
    pub fn uninstall_litellm(&self) -> anyhow::Result<Uninstalled> {
        lock(&self.litellm).begin_uninstall()?;
        let removed = install::uninstall(&self.options().paths);
        lock(&self.litellm).end_uninstall();
        self.nudge();
        let removed = removed?;
        let mut message = match &removed.venv {
            Some((_, version, bytes)) => format!(
                "Removed LiteLLM {} ({} freed).",
                version.as_deref().unwrap_or("(unknown version)"),
                human_size(*bytes)
            ),
            None => "LiteLLM was not installed; nothing was removed.".to_string(),
        };
        if !removed.left.is_empty() {
            message.push_str(&format!(" Kept in its folder: {}.", removed.left.join(", ")));
        }
        Ok(Uninstalled { message })
    }

    /// The LiteLLM engine, for the snapshot.
    pub(super) fn litellm_view(&self, config: &Config, status: Option<&GatewayStatus>) -> LiteLlmView {
        lock(&self.litellm).view(&self.options().paths, config, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::litellm::install::Phase;
    use crate::gateway::{EngineStatus, UpstreamStatus};

    fn progress(phase: Phase, fraction: f64) -> Progress {
        Progress { phase, fraction, message: format!("{phase:?} {fraction}") }
    }

    #[test]
    fn one_install_at_a_time_and_no_uninstall_under_it() {
        let mut state = LiteLlmState::default();
        state.begin_uninstall().unwrap();
        assert_eq!(state.begin(), Err(EngineBusy::Uninstalling), "no install under an uninstall");
        assert_eq!(state.begin_uninstall(), Err(EngineBusy::Uninstalling));
        state.end_uninstall();
        state.begin().unwrap();
        assert_eq!(state.begin(), Err(EngineBusy::Installing), "a second click is refused");
        assert_eq!(state.begin_uninstall(), Err(EngineBusy::UninstallWhileInstalling));
        let failed = Err(InstallError::NoPython { tried: "python3".into() });
        let notice = state.end(&failed);
        assert_eq!(notice.title, "LiteLLM was not installed");
        assert!(notice.body.contains("python3-venv"), "{}", notice.body);
        assert_eq!(state.begin_uninstall(), Ok(()), "the install ended");
        state.end_uninstall();
        let failure = state.last_failure.clone().expect("the failure is kept");
        assert_eq!(failure.kind, InstallFailureKind::NoPython);
        state.begin().unwrap();
        assert_eq!(state.last_failure, None, "a new install forgets the last failure");
    }

    #[test]
    fn progress_shows_each_phase_and_each_percent_only() {
        let mut state = LiteLlmState::default();
        assert!(!state.report(&progress(Phase::Venv, 0.05)), "no install runs: nothing to show");
        state.begin().unwrap();
        assert!(state.report(&progress(Phase::Venv, 0.05)), "a new phase");
        assert!(!state.report(&progress(Phase::Venv, 0.055)), "half a percent more");
        assert!(state.report(&progress(Phase::Packages, 0.055)), "a new phase, even at the same fraction");
        assert!(state.report(&progress(Phase::Packages, 0.5)));
        let shown = state.installing.clone().unwrap();
        assert_eq!((shown.phase, shown.fraction), (Phase::Packages, 0.5));
        assert_eq!(shown.message, "Packages 0.5");
    }

    #[test]
    fn failures_are_typed_by_what_the_user_can_do() {
        let cases = [
            (
                InstallError::NoVenvModule { python: "/usr/bin/python3".into(), version: "3.12".into() },
                InstallFailureKind::NoPython,
            ),
            (InstallError::HashMismatch { package: "litellm==1.106.2".into() }, InstallFailureKind::Refused),
            (InstallError::VersionMismatch { found: "1.107.0".into() }, InstallFailureKind::Refused),
            (
                InstallError::StepFailed {
                    step: "installing uv with pip",
                    status: "exit status: 1".into(),
                    output: "no network".into(),
                },
                InstallFailureKind::StepFailed,
            ),
        ];
        for (error, kind) in cases {
            let failure = failure(&error);
            assert_eq!(failure.kind, kind, "{error}");
            assert_eq!(failure.message, error.to_string());
        }
    }

    #[test]
    fn the_install_is_read_from_disk_once_per_venv() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let mut state = LiteLlmState::default();
        assert_eq!(state.install_view(&paths), LiteLlmInstall::NotInstalled);
        // A venv that was never finished: a problem, with "Repair".
        let venv = paths.litellm_dir().join("venvs").join("one");
        std::fs::create_dir_all(&venv).unwrap();
        std::os::unix::fs::symlink(&venv, install::venv_link(&paths)).unwrap();
        let LiteLlmInstall::Problem { message } = state.install_view(&paths) else { panic!("a problem") };
        assert!(message.contains("never finished") && message.contains("install"), "{message}");
        // Cached while the link points at the same venv; an install ending
        // forgets it.
        std::fs::remove_dir_all(&venv).unwrap();
        std::fs::create_dir_all(&venv).unwrap();
        assert!(matches!(state.install_view(&paths), LiteLlmInstall::Problem { .. }));
        state.end(&Err(InstallError::VersionMismatch { found: "1.0".into() }));
        assert!(state.cached.is_none());
    }

    fn config_with(upstreams: &str) -> Config {
        Config::parse(std::path::Path::new("config.toml"), upstreams).unwrap()
    }

    fn gateway_status(upstreams: Vec<UpstreamStatus>) -> GatewayStatus {
        GatewayStatus {
            version: "0".into(),
            pid: 1,
            listen: None,
            started_at: String::new(),
            uptime_secs: 0,
            upstream: upstream_status("subscription", None),
            upstreams,
            rate_limits: Default::default(),
            ledger: Default::default(),
            failover: None,
            budgets: Vec::new(),
            litellm: None,
        }
    }

    fn upstream_status(name: &str, engine: Option<(bool, &str)>) -> UpstreamStatus {
        UpstreamStatus {
            name: name.into(),
            kind: "bedrock".into(),
            base_url: String::new(),
            api_key: String::new(),
            resting_until: None,
            engine: engine.map(|(ready, detail)| EngineStatus {
                name: "litellm".into(),
                ready,
                detail: detail.into(),
                run: if ready { EngineRun::Ready } else { EngineRun::Starting },
            }),
        }
    }

    #[test]
    fn it_serves_the_bedrock_upstreams_with_the_gateways_word_on_each() {
        let config = config_with(
            r#"
[[upstreams]]
name = "paid"
kind = "anthropic"
secret = "keychain:anthropic"

[[upstreams]]
name = "aws"
kind = "bedrock"
secret = "keychain:aws"
region = "us-east-1"

[[upstreams]]
name = "aws-west"
kind = "bedrock"
secret = "keychain:aws-west"
region = "us-west-2"

[[upstreams]]
name = "aws-new"
kind = "bedrock"
secret = "keychain:aws-new"
region = "eu-west-1"
"#,
        );
        let names = |served: &[ServedUpstream]| served.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
        let stopped = served(&config, None);
        assert_eq!(names(&stopped), ["aws", "aws-west", "aws-new"], "only Bedrock's, in the config's order");
        assert!(
            stopped
                .iter()
                .all(|s| matches!(&s.engine, EngineState::Unknown { detail } if detail.contains("not running")))
        );

        let starting = "the LiteLLM engine is starting (12 s so far; it takes 10 to 30 s)";
        let status = gateway_status(vec![
            upstream_status("aws", Some((true, "ready"))),
            upstream_status("aws-west", Some((false, starting))),
        ]);
        let running = served(&config, Some(&status));
        assert_eq!(running[0].engine, EngineState::Ready);
        assert_eq!(running[1].engine, EngineState::NotReady { detail: starting.into() });
        let EngineState::Unknown { detail } = &running[2].engine else { panic!("{:?}", running[2]) };
        assert!(detail.contains("restart the gateway"), "{detail}");
    }

    #[test]
    fn the_service_installs_on_a_thread_and_refuses_a_second_click() {
        let home = tempfile::tempdir().unwrap();
        let service =
            DesktopService::new(crate::supervisor::SupervisorOptions::under(home.path())).expect("the service");
        let mut notices = service.notices();
        let (step, steps) = std::sync::mpsc::channel::<()>();
        let (reported, reports) = std::sync::mpsc::channel::<()>();
        service
            .start_litellm_install_with(true, move |_, force, progress| {
                assert!(force, "Repair forces the install");
                progress(&Progress { phase: Phase::Packages, fraction: 0.5, message: "Downloading".into() });
                reported.send(()).unwrap();
                steps.recv().unwrap();
                Err(InstallError::HashMismatch { package: "litellm==1.106.2".into() })
            })
            .unwrap();
        reports.recv().unwrap();
        let view = service.litellm_view(&Config::default(), None);
        assert_eq!(view.installing.map(|p| (p.phase, p.fraction)), Some((Phase::Packages, 0.5)));
        assert_eq!(service.start_litellm_install(false), Err(EngineBusy::Installing));
        let refused = service.uninstall_litellm().unwrap_err();
        assert_eq!(refused.to_string(), EngineBusy::UninstallWhileInstalling.to_string());
        step.send(()).unwrap();
        let notice = notices.blocking_recv().unwrap();
        assert_eq!(notice.title, "LiteLLM was not installed");
        let view = service.litellm_view(&Config::default(), None);
        assert_eq!(view.installing, None);
        assert_eq!(view.last_failure.map(|f| f.kind), Some(InstallFailureKind::Refused));
        assert_eq!(view.install, LiteLlmInstall::NotInstalled);
        let removed = service.uninstall_litellm().unwrap();
        assert!(removed.message.contains("nothing was removed"), "{}", removed.message);
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(650_400_000), "650 MB");
        assert_eq!(human_size(1_234_000_000), "1.2 GB");
    }
}
