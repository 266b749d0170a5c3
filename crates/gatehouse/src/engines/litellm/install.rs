//! The managed LiteLLM install: one pinned `litellm[proxy]` in a venv that
//! Gatehouse owns, every file checked against hashes Gatehouse ships.
//!
//! A compromised LiteLLM release (1.107.0) has been reported, so Gatehouse
//! never asks an index for "the latest". It installs exactly
//! [`PINNED_VERSION`] and its dependencies from `requirements.lock` with
//! `--require-hashes`, using a uv that is itself pinned by hash
//! (`uv-requirements.lock`, installed with pip). A file whose hash or a
//! LiteLLM whose version does not match is refused, and nothing is left of
//! the attempt.
//!
//! # Layout, under `Paths::litellm_dir()`
//!
//! - `venv`: a symlink to the current install, `venvs/<id>`. This is the
//!   path everything else uses (`venv/bin/litellm`).
//! - `venvs/<id>/`: one complete venv, with its `installed.json` (what was
//!   installed, from which lock, with which Python, when) and the two locks
//!   it was installed from.
//! - `.install.lock`: the cross-process lock held by install and uninstall.
//!
//! A venv cannot be moved once built: its scripts name their interpreter by
//! absolute path. So each install is built where it stays, and the switch
//! to it is the atomic rename of the `venv` symlink, done only once the new
//! venv is complete and verified. The previous venv is removed after that.
//!
//! # Where packages come from
//!
//! pip and uv run with the user's environment: `UV_INDEX_URL`,
//! `UV_FIND_LINKS`, `UV_CACHE_DIR`, `UV_OFFLINE`, `PIP_*` and the like pass
//! through untouched (that is how CI and the tests install offline from a
//! cache), and nothing of them is put in argv. Whatever index answers, the
//! hashes decide.
//!
//! # Regenerating the locks (from the repository's root)
//!
//! ```sh
//! echo 'litellm[proxy]==1.106.2' | uv pip compile --universal --generate-hashes --python-version 3.10 - -o crates/gatehouse/src/engines/litellm/requirements.lock
//! echo 'uv==0.13.9' | uv pip compile --universal --generate-hashes --python-version 3.10 - -o crates/gatehouse/src/engines/litellm/uv-requirements.lock
//! ```
//!
//! then change [`PINNED_VERSION`] or [`UV_VERSION`] to match.

use std::collections::{HashSet, VecDeque};
use std::io::{self, BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::file_lock::{FileLock, LockError};
use crate::paths::Paths;

/// The one LiteLLM version Gatehouse installs.
pub(crate) const PINNED_VERSION: &str = "1.106.2";

/// The uv that installs it.
const UV_VERSION: &str = "0.13.9";

/// `litellm[proxy]==PINNED_VERSION` and every dependency, each with all its
/// files' hashes.
const LITELLM_LOCK: &str = include_str!("requirements.lock");

/// `uv==UV_VERSION` with all its wheels' hashes.
const UV_LOCK: &str = include_str!("uv-requirements.lock");

/// Interpreters tried, in this order, on `PATH`.
const PYTHON_CANDIDATES: [&str; 5] = ["python3.13", "python3.12", "python3.11", "python3.10", "python3"];

/// The oldest Python LiteLLM (and the lock) supports.
const MIN_PYTHON: (u32, u32) = (3, 10);

/// What Debian and Ubuntu users install to get a Python that makes venvs.
const PYTHON_HINT: &str = "install Python 3.10 or newer with its venv module (Debian or Ubuntu: `sudo apt install python3 python3-venv`; \
     macOS: `brew install python@3.12`), then run `gatehouse engine litellm install` again";

/// Said with every refusal, so the user knows why Gatehouse is strict.
const WHY_PINNED: &str = "A compromised LiteLLM release has been reported; Gatehouse installs only LiteLLM 1.106.2, \
     from files whose hashes it ships";

/// Why an install or uninstall failed.
#[derive(thiserror::Error, Debug)]
pub(crate) enum InstallError {
    #[error("no Python 3.10 or newer found on PATH ({tried}): {PYTHON_HINT}")]
    NoPython { tried: String },
    #[error("Python {version} at {} cannot create a venv (its venv or ensurepip module is missing): {PYTHON_HINT}", python.display())]
    NoVenvModule { python: PathBuf, version: String },
    #[error(
        "{package} does not match its pinned hash: refused. {WHY_PINNED}. Check where packages come from \
         (UV_INDEX_URL, UV_FIND_LINKS, PIP_INDEX_URL, PIP_FIND_LINKS; clear a suspect cache with `uv cache clean`), \
         then run `gatehouse engine litellm install` again. Nothing was changed"
    )]
    HashMismatch { package: String },
    #[error("the new venv holds LiteLLM {found}, not {PINNED_VERSION}: refused. {WHY_PINNED}. Nothing was changed")]
    VersionMismatch { found: String },
    #[error("{step} failed ({status}): {output}")]
    StepFailed { step: &'static str, status: String, output: String },
    #[error("cannot run {program}: {source}; check that it exists and may be executed", program = program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot {what} {}: {source}; check that Gatehouse may write there, then try again", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Lock(#[from] LockError),
}

/// Why [`installed`] will not vouch for a venv.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotReady {
    #[error("LiteLLM is not installed; run `gatehouse engine litellm install`")]
    NotInstalled,
    #[error("{problem}; run `gatehouse engine litellm install` to repair")]
    Unverified { problem: String },
}

/// The steps of an install, in order.
#[derive(ts_rs::TS)]
#[ts(export, rename = "InstallPhase")]
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Python,
    Venv,
    Uv,
    Packages,
    Verify,
    Done,
}

/// One report of how far an install got: `fraction` runs from 0 to 1.
#[derive(ts_rs::TS)]
#[ts(export, rename = "InstallProgress")]
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    pub fraction: f64,
    pub message: String,
}

/// What `installed.json` says: written last, so a venv without it was
/// never finished.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct InstalledRecord {
    pub(crate) litellm_version: String,
    /// SHA-256 of the `requirements.lock` it was installed from.
    pub(crate) lock_sha256: String,
    pub(crate) uv_version: String,
    pub(crate) python_version: String,
    /// The interpreter the venv was made from.
    pub(crate) python: PathBuf,
    pub(crate) installed_at: String,
    pub(crate) gatehouse_version: String,
}

/// A verified install, as the runner needs it.
#[derive(Debug, Clone)]
pub(crate) struct Installed {
    /// `bin/litellm` in the venv's real directory (not through the `venv`
    /// symlink, which a later install moves).
    pub(crate) litellm: PathBuf,
    pub(crate) version: String,
    pub(crate) record: InstalledRecord,
}

/// How an install ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// A new venv is in place; `replaced` is the version it replaced, if any.
    Installed { installed: Installed, replaced: Option<String> },
    /// A verified install of the pin was already there.
    AlreadyInstalled(Installed),
}

/// What `uninstall` removed.
#[derive(Debug)]
pub(crate) struct Removed {
    /// The venv it removed (none when nothing was installed), its version
    /// when known, and the bytes freed.
    pub(crate) venv: Option<(PathBuf, Option<String>, u64)>,
    /// What stays in the engine's directory (its generated config, logs).
    pub(crate) left: Vec<String>,
}

/// `gatehouse engine litellm status`.
#[derive(Serialize, Debug)]
pub(crate) struct Status {
    pub(crate) installed: bool,
    pub(crate) version: Option<String>,
    pub(crate) pinned_version: &'static str,
    pub(crate) venv: PathBuf,
    pub(crate) size_bytes: Option<u64>,
    pub(crate) python_version: Option<String>,
    pub(crate) python: Option<PathBuf>,
    pub(crate) installed_at: Option<String>,
    /// The command the engine runs, once the install is verified.
    pub(crate) litellm: Option<PathBuf>,
    /// Why the install cannot be used, when it cannot.
    pub(crate) problem: Option<String>,
}

/// The `venv` symlink: the path users and other modules name.
pub(crate) fn venv_link(paths: &Paths) -> PathBuf {
    paths.litellm_dir().join("venv")
}

fn venvs_dir(paths: &Paths) -> PathBuf {
    paths.litellm_dir().join("venvs")
}

fn lock_file(paths: &Paths) -> PathBuf {
    paths.litellm_dir().join(".install.lock")
}

const RECORD_FILE: &str = "installed.json";

/// SHA-256 of the embedded LiteLLM lock, hex.
fn lock_sha256() -> String {
    hex::encode(Sha256::digest(LITELLM_LOCK.as_bytes()))
}

/// Returns the verified install of the pin, or why there is none: the
/// runner starts nothing else. Cheap: it reads files, runs nothing.
pub(crate) fn installed(paths: &Paths) -> Result<Installed, NotReady> {
    let link = venv_link(paths);
    if std::fs::symlink_metadata(&link).is_err() {
        return Err(NotReady::NotInstalled);
    }
    let venv = std::fs::canonicalize(&link).map_err(|e| NotReady::Unverified {
        problem: format!("the venv at {} cannot be read ({e})", link.display()),
    })?;
    verify(&venv)
}

/// Checks a venv's record, its LiteLLM and its `bin/litellm` against the
/// pin, without running anything.
fn verify(venv: &Path) -> Result<Installed, NotReady> {
    let unverified = |problem: String| NotReady::Unverified { problem };
    let record_path = venv.join(RECORD_FILE);
    let record: InstalledRecord =
        std::fs::read(&record_path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).ok_or_else(|| {
            unverified(format!("the venv at {} was never finished (no valid {RECORD_FILE})", venv.display()))
        })?;
    let found = litellm_versions(venv);
    match found.as_slice() {
        [] => return Err(unverified(format!("LiteLLM is missing from the venv at {}", venv.display()))),
        [version] if version == PINNED_VERSION => {}
        _ => {
            return Err(unverified(format!(
                "the venv holds LiteLLM {}, not the pinned {PINNED_VERSION}",
                found.join(" and ")
            )));
        }
    }
    if record.litellm_version != PINNED_VERSION || record.lock_sha256 != lock_sha256() {
        return Err(unverified(format!(
            "the venv was installed from another lock (LiteLLM {}) than this Gatehouse's",
            record.litellm_version
        )));
    }
    let litellm = venv.join("bin").join("litellm");
    if !litellm.is_file() {
        return Err(unverified(format!("{} is missing", litellm.display())));
    }
    Ok(Installed { litellm, version: PINNED_VERSION.to_string(), record })
}

/// The versions of every `litellm` distribution in the venv's
/// site-packages, from their `METADATA`.
fn litellm_versions(venv: &Path) -> Vec<String> {
    let mut versions = Vec::new();
    let Ok(libs) = std::fs::read_dir(venv.join("lib")) else { return versions };
    for lib in libs.flatten() {
        let Ok(entries) = std::fs::read_dir(lib.path().join("site-packages")) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("litellm-")) else { continue };
            if !rest.ends_with(".dist-info") {
                continue;
            }
            let metadata = std::fs::read_to_string(entry.path().join("METADATA")).unwrap_or_default();
            let version = metadata.lines().find_map(|line| line.strip_prefix("Version: ")).unwrap_or("unknown");
            versions.push(version.trim().to_string());
        }
    }
    versions.sort();
    versions
}

/// What is installed, and whether it can be used.
pub(crate) fn status(paths: &Paths) -> Status {
    let venv = venv_link(paths);
    let installed_any = std::fs::symlink_metadata(&venv).is_ok();
    let real = std::fs::canonicalize(&venv).ok();
    let record: Option<InstalledRecord> = real
        .as_ref()
        .and_then(|dir| std::fs::read(dir.join(RECORD_FILE)).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let version = real.as_deref().and_then(|dir| litellm_versions(dir).into_iter().next());
    let (litellm, problem) = match installed(paths) {
        Ok(installed) => (Some(installed.litellm), None),
        Err(NotReady::NotInstalled) => (None, None),
        Err(not_ready) => (None, Some(not_ready.to_string())),
    };
    Status {
        installed: installed_any,
        version,
        pinned_version: PINNED_VERSION,
        size_bytes: real.as_deref().map(disk_usage),
        venv,
        python_version: record.as_ref().map(|r| r.python_version.clone()),
        python: record.as_ref().map(|r| r.python.clone()),
        installed_at: record.map(|r| r.installed_at),
        litellm,
        problem,
    }
}

/// Installs the pin, unless a verified install of it is there already
/// (`force` reinstalls anyway). `progress` hears each step.
pub(crate) fn install(
    paths: &Paths,
    force: bool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Outcome, InstallError> {
    let _lock = FileLock::acquire(&lock_file(paths))?;
    remove_unfinished(paths);
    if let (Ok(current), false) = (installed(paths), force) {
        return Ok(Outcome::AlreadyInstalled(current));
    }
    let replaced =
        std::fs::canonicalize(venv_link(paths)).ok().and_then(|dir| litellm_versions(&dir).into_iter().next());
    let mut report = |phase, fraction, message: String| progress(&Progress { phase, fraction, message });

    report(Phase::Python, 0.0, "Looking for Python 3.10 or newer".into());
    let python = find_python(&search_path())?;
    report(Phase::Python, 0.05, format!("Found Python {} at {}", python.version, python.path.display()));

    let venvs = venvs_dir(paths);
    let id = format!("litellm-{PINNED_VERSION}-{}-{}", jiff::Timestamp::now().as_second(), std::process::id());
    let build = Unfinished { dir: venvs.join(&id) };
    crate::fs_atomic::create_private_dir(&venvs).map_err(io_error("create", &venvs))?;

    report(Phase::Venv, 0.05, format!("Creating the venv in {}", build.dir.display()));
    create_venv(&python, &build.dir, paths)?;
    let uv_lock = build.dir.join("uv-requirements.lock");
    let litellm_lock = build.dir.join("requirements.lock");
    std::fs::write(&uv_lock, UV_LOCK).map_err(io_error("write", &uv_lock))?;
    std::fs::write(&litellm_lock, LITELLM_LOCK).map_err(io_error("write", &litellm_lock))?;
    let venv_python = build.dir.join("bin").join("python");

    report(Phase::Uv, 0.15, format!("Installing uv {UV_VERSION}, checked against its pinned hashes"));
    let mut pip = Command::new(&venv_python);
    pip.args(["-I", "-m", "pip", "install", "--require-hashes", "--no-deps", "--disable-pip-version-check", "-r"])
        .arg(&uv_lock);
    run_step("installing uv with pip", pip, paths, &mut |_| {}).map_err(|failure| {
        if failure.output.contains("DO NOT MATCH THE HASHES") {
            InstallError::HashMismatch { package: format!("uv=={UV_VERSION}") }
        } else {
            failure.into_error()
        }
    })?;

    report(
        Phase::Packages,
        0.25,
        format!("Installing LiteLLM {PINNED_VERSION} and its dependencies, each checked against its pinned hashes"),
    );
    let mut uv = Command::new(build.dir.join("bin").join("uv"));
    uv.args(["pip", "install", "--require-hashes", "--python"]).arg(&venv_python).arg("-r").arg(&litellm_lock);
    let mut uv_progress = UvProgress::default();
    run_step("installing LiteLLM with uv", uv, paths, &mut |line| {
        if let Some(fraction) = uv_progress.fraction(line) {
            report(Phase::Packages, fraction, line.trim().to_string());
        }
    })
    .map_err(|failure| match hash_mismatch(&failure.output) {
        Some(package) => InstallError::HashMismatch { package },
        None => failure.into_error(),
    })?;

    report(Phase::Verify, 0.9, format!("Checking that the venv holds LiteLLM {PINNED_VERSION}"));
    let found = installed_version(&venv_python, paths)?;
    if found != PINNED_VERSION {
        return Err(InstallError::VersionMismatch { found });
    }
    let record = InstalledRecord {
        litellm_version: found,
        lock_sha256: lock_sha256(),
        uv_version: UV_VERSION.to_string(),
        python_version: python.version.clone(),
        python: python.path.clone(),
        installed_at: jiff::Timestamp::now().to_string(),
        gatehouse_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let record_path = build.dir.join(RECORD_FILE);
    let json = serde_json::to_vec_pretty(&record).expect("a record serialises");
    crate::fs_atomic::write_private(&record_path, &json).map_err(io_error("write", &record_path))?;
    let real_dir = std::fs::canonicalize(&build.dir).map_err(io_error("read", &build.dir))?;
    // What `installed` will check, checked before the switch.
    let installed = verify(&real_dir).map_err(|not_ready| InstallError::StepFailed {
        step: "checking the new venv",
        status: "not usable".into(),
        output: not_ready.to_string(),
    })?;

    let old = std::fs::canonicalize(venv_link(paths)).ok();
    switch_to(paths, &id)?;
    build.keep();
    if let Some(old) = old {
        // The new venv is in place, so the old one goes; should this fail,
        // `remove_unfinished` sweeps it next time.
        let _ = std::fs::remove_dir_all(&old);
    }
    report(Phase::Done, 1.0, format!("Installed LiteLLM {PINNED_VERSION}"));
    Ok(Outcome::Installed { installed, replaced })
}

/// Removes the venv and its record, and leaves whatever else is in the
/// engine's directory, which is not the install's (the runner's generated
/// config and callback live in the state directory, its log in the logs).
pub(crate) fn uninstall(paths: &Paths) -> Result<Removed, InstallError> {
    let _lock = FileLock::acquire(&lock_file(paths))?;
    let link = venv_link(paths);
    let mut venv = None;
    if let Ok(metadata) = std::fs::symlink_metadata(&link) {
        let real = std::fs::canonicalize(&link).ok();
        let version = real.as_deref().and_then(|dir| litellm_versions(dir).into_iter().next());
        let size = real.as_deref().map_or(0, disk_usage);
        // The link goes first: from then on nothing counts as installed,
        // whatever happens to the files below.
        if metadata.is_symlink() {
            std::fs::remove_file(&link).map_err(io_error("remove", &link))?;
        } else {
            std::fs::remove_dir_all(&link).map_err(io_error("remove", &link))?;
        }
        venv = Some((link, version, size));
    }
    let venvs = venvs_dir(paths);
    match std::fs::remove_dir_all(&venvs) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(io_error("remove", &venvs)(error)),
        _ => {}
    }
    let mut left: Vec<String> = std::fs::read_dir(paths.litellm_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    left.sort();
    Ok(Removed { venv, left })
}

/// How far `uv pip install` got, from what it prints.
#[derive(Default)]
struct UvProgress {
    large: u32,
    downloaded: u32,
}

impl UvProgress {
    /// The install's fraction done once uv printed `line`, if the line
    /// says. uv says "Resolved", "Prepared" and "Installed" once each, in
    /// this order. In between it names each large file it starts to
    /// download, all at once, then each it has downloaded.
    fn fraction(&mut self, line: &str) -> Option<f64> {
        match line.trim_start().split_once(' ')?.0 {
            "Resolved" => Some(0.35),
            "Downloading" => {
                self.large += 1;
                None
            }
            "Downloaded" => {
                self.downloaded += 1;
                Some(0.35 + 0.45 * f64::from(self.downloaded) / f64::from(self.large.max(self.downloaded)))
            }
            "Prepared" => Some(0.8),
            "Installed" => Some(0.88),
            _ => None,
        }
    }
}

/// A Python interpreter that can make the venv.
#[derive(Debug)]
struct Python {
    path: PathBuf,
    version: String,
}

/// `PATH`'s directories.
fn search_path() -> Vec<PathBuf> {
    std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect()).unwrap_or_default()
}

/// The first of [`PYTHON_CANDIDATES`] on `path` that runs and is new enough.
fn find_python(path: &[PathBuf]) -> Result<Python, InstallError> {
    let mut tried = Vec::new();
    for name in PYTHON_CANDIDATES {
        let Some(candidate) = path.iter().map(|dir| dir.join(name)).find(|file| is_executable(file)) else {
            continue;
        };
        // Run it: a name on PATH may be a shim for a Python that is not
        // installed, or an old one.
        let probe = Command::new(&candidate)
            .args(["-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3]); print(sys.executable)"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output();
        let stdout = match probe {
            Ok(output) if output.status.success() => String::from_utf8_lossy(&output.stdout).into_owned(),
            _ => {
                tried.push(format!("{} does not run", candidate.display()));
                continue;
            }
        };
        let mut lines = stdout.lines().map(str::trim);
        let version = lines.next().unwrap_or_default().to_string();
        // The real interpreter, not a shim (pyenv's) that finds it each time.
        let path = lines.next().filter(|p| !p.is_empty()).map_or_else(|| candidate.clone(), PathBuf::from);
        let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
        let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
        if (major, minor) >= MIN_PYTHON {
            return Ok(Python { path, version });
        }
        tried.push(format!("{} is {version}", candidate.display()));
    }
    let tried =
        if tried.is_empty() { format!("none of {} is there", PYTHON_CANDIDATES.join(", ")) } else { tried.join("; ") };
    Err(InstallError::NoPython { tried })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `python -m venv DIR`.
fn create_venv(python: &Python, dir: &Path, paths: &Paths) -> Result<(), InstallError> {
    let mut command = Command::new(&python.path);
    command.args(["-I", "-m", "venv"]).arg(dir);
    run_step("creating the venv", command, paths, &mut |_| {}).map_err(|failure| {
        // Debian's Python without python3-venv says "ensurepip is not available".
        if failure.output.contains("ensurepip") || failure.output.contains("No module named venv") {
            InstallError::NoVenvModule { python: python.path.clone(), version: python.version.clone() }
        } else {
            failure.into_error()
        }
    })?;
    Ok(())
}

/// What the venv's Python says LiteLLM's version is.
fn installed_version(python: &Path, paths: &Paths) -> Result<String, InstallError> {
    let mut command = Command::new(python);
    command.args(["-I", "-c", "import importlib.metadata as m; print('litellm-version=' + m.version('litellm'))"]);
    let output =
        run_step("checking LiteLLM's version", command, paths, &mut |_| {}).map_err(StepFailure::into_error)?;
    Ok(output.lines().find_map(|line| line.strip_prefix("litellm-version=")).unwrap_or("unknown").trim().to_string())
}

/// A step's command set up the same way every time: no stdin, run in the
/// engine's directory (so no project's `pyproject.toml` or `uv.toml`
/// applies), without the variables that would point Python elsewhere.
fn prepared(mut command: Command, paths: &Paths) -> Command {
    command
        .stdin(Stdio::null())
        .current_dir(paths.litellm_dir())
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("VIRTUAL_ENV");
    command
}

/// A step that exited with an error, and what it said.
struct StepFailure {
    step: &'static str,
    status: String,
    output: String,
    spawn: Option<(PathBuf, io::Error)>,
}

impl StepFailure {
    fn into_error(self) -> InstallError {
        match self.spawn {
            Some((program, source)) => InstallError::Spawn { program, source },
            None => InstallError::StepFailed { step: self.step, status: self.status, output: excerpt(&self.output) },
        }
    }
}

/// Runs one step to completion, handing each line it prints to `line` as
/// it comes; returns all it printed.
fn run_step(
    step: &'static str,
    command: Command,
    paths: &Paths,
    line: &mut dyn FnMut(&str),
) -> Result<String, StepFailure> {
    let mut command = prepared(command, paths);
    let program = PathBuf::from(command.get_program());
    let spawn_failed = |source| StepFailure {
        step,
        status: String::new(),
        output: String::new(),
        spawn: Some((program.clone(), source)),
    };
    // stdout joins stderr: both only say how it goes.
    let (reader, writer) = io::pipe().map_err(spawn_failed)?;
    let writer_too = writer.try_clone().map_err(spawn_failed)?;
    command.stdout(writer_too).stderr(writer);
    let mut child = command.spawn().map_err(spawn_failed)?;
    // Drop our copies of the pipe's write end, so reading ends with the child.
    drop(command);
    let mut output = String::new();
    for text in BufReader::new(reader).lines() {
        let Ok(text) = text else { break };
        line(&text);
        output.push_str(&text);
        output.push('\n');
    }
    let status = child.wait().map_err(spawn_failed)?;
    if status.success() {
        Ok(output)
    } else {
        Err(StepFailure { step, status: status.to_string(), output: redact_credentials(&output), spawn: None })
    }
}

/// The part of a failed step's output worth showing: from its first error
/// line, or else its last lines.
fn excerpt(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|line| !line.trim().is_empty()).collect();
    let start = lines
        .iter()
        .position(|line| line.trim_start().to_ascii_lowercase().starts_with("error"))
        .unwrap_or(lines.len().saturating_sub(8));
    lines[start..].iter().take(12).map(|line| line.trim()).collect::<Vec<_>>().join(" ")
}

/// Which package uv refused for its hash: "Hash mismatch for `litellm==1.106.2`".
fn hash_mismatch(output: &str) -> Option<String> {
    let rest = &output[output.find("Hash mismatch for `")? + "Hash mismatch for `".len()..];
    Some(rest[..rest.find('`')?].to_string())
}

/// Replaces the user and password of any URL (`https://user:pass@host`)
/// with `****`: an index URL may carry credentials, and a failed step's
/// output reaches the terminal and the dashboard.
fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| c == '/' || c.is_whitespace() || c == '`' || c == '\'' || c == '"')
            .unwrap_or(after.len());
        match after[..authority_end].rfind('@') {
            Some(at) => {
                out.push_str("****");
                rest = &after[at..];
            }
            None => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// Points `venv` at `venvs/<id>` by renaming a new symlink over it.
fn switch_to(paths: &Paths, id: &str) -> Result<(), InstallError> {
    let link = venv_link(paths);
    let temp = temp_link(paths);
    let _ = std::fs::remove_file(&temp);
    std::os::unix::fs::symlink(Path::new("venvs").join(id), &temp).map_err(io_error("create", &temp))?;
    // A real directory where the link goes (made by hand, or by something
    // else) cannot be renamed over: move it aside first.
    if std::fs::symlink_metadata(&link).is_ok_and(|m| m.is_dir()) {
        let aside = venvs_dir(paths).join(format!("replaced-{}", std::process::id()));
        std::fs::rename(&link, &aside).map_err(io_error("move aside", &link))?;
    }
    std::fs::rename(&temp, &link).map_err(io_error("replace", &link))?;
    crate::fs_atomic::sync_dir(&paths.litellm_dir()).map_err(io_error("sync", &paths.litellm_dir()))
}

/// Removes what a killed install left in `venvs/`: everything but the
/// venv the link points at. Called under the install lock.
fn remove_unfinished(paths: &Paths) {
    let current = std::fs::canonicalize(venv_link(paths)).ok();
    let venvs = venvs_dir(paths);
    for entry in std::fs::read_dir(&venvs).into_iter().flatten().flatten() {
        let path = entry.path();
        if std::fs::canonicalize(&path).ok() != current {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    let _ = std::fs::remove_file(temp_link(paths));
}

/// The new symlink before it is renamed over `venv`; one at a time, under
/// the install lock.
fn temp_link(paths: &Paths) -> PathBuf {
    paths.litellm_dir().join(".venv.tmp")
}

/// A venv being built: removed on drop unless kept, so a failed install
/// leaves no half venv.
struct Unfinished {
    dir: PathBuf,
}

impl Unfinished {
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(venvs) = self.dir.parent() {
            // Only when empty: nothing else of the user's goes.
            let _ = std::fs::remove_dir(venvs);
        }
    }
}

/// Bytes on disk under `dir`, each file counted once however many hard
/// links it has (uv links files from its cache).
fn disk_usage(dir: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = VecDeque::from([dir.to_path_buf()]);
    while let Some(dir) = pending.pop_front() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let Ok(metadata) = entry.metadata() else { continue };
            if metadata.is_dir() {
                pending.push_back(entry.path());
            } else if metadata.nlink() < 2 || seen.insert((metadata.dev(), metadata.ino())) {
                total += metadata.blocks() * 512;
            }
        }
    }
    total
}

fn io_error<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> InstallError + 'p {
    move |source| InstallError::Io { what, path: path.to_owned(), source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn the_newest_python_that_runs_and_is_new_enough_is_chosen() {
        let dir = tempfile::tempdir().unwrap();
        // A shim for a Python that is not installed, as pyenv leaves them.
        script(dir.path(), "python3.13", "echo 'pyenv: python3.13: command not found' >&2; exit 127");
        script(dir.path(), "python3.11", "echo 3.11.7; echo /opt/python/bin/python3.11");
        script(dir.path(), "python3", "echo 3.9.18; echo /usr/bin/python3");
        let python = find_python(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(python.version, "3.11.7");
        assert_eq!(python.path, Path::new("/opt/python/bin/python3.11"));
    }

    #[test]
    fn no_python_new_enough_says_what_was_found_and_what_to_install() {
        let dir = tempfile::tempdir().unwrap();
        script(dir.path(), "python3.13", "exit 127");
        script(dir.path(), "python3", "echo 3.9.18; echo /usr/bin/python3");
        let error = find_python(&[dir.path().to_path_buf()]).unwrap_err().to_string();
        assert!(error.contains("python3.13 does not run"), "{error}");
        assert!(error.contains("python3 is 3.9.18"), "{error}");
        assert!(error.contains("sudo apt install python3 python3-venv"), "{error}");

        let error = find_python(&[]).unwrap_err().to_string();
        assert!(error.contains("none of python3.13, python3.12, python3.11, python3.10, python3 is there"), "{error}");
    }

    /// A venv as `install` leaves it, without running anything: a record,
    /// LiteLLM's `METADATA` and `bin/litellm`.
    fn fake_venv(paths: &Paths, version: &str, lock_sha256: &str) -> PathBuf {
        let venv = venvs_dir(paths).join("fake");
        let dist_info = venv.join(format!("lib/python3.11/site-packages/litellm-{version}.dist-info"));
        std::fs::create_dir_all(&dist_info).unwrap();
        std::fs::write(
            dist_info.join("METADATA"),
            format!("Metadata-Version: 2.4\nName: litellm\nVersion: {version}\n"),
        )
        .unwrap();
        // LiteLLM's sibling distributions are not LiteLLM.
        let enterprise = venv.join("lib/python3.11/site-packages/litellm_enterprise-0.1.76.dist-info");
        std::fs::create_dir_all(&enterprise).unwrap();
        std::fs::write(enterprise.join("METADATA"), "Name: litellm-enterprise\nVersion: 0.1.76\n").unwrap();
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("bin/litellm"), "").unwrap();
        let record = InstalledRecord {
            litellm_version: version.to_string(),
            lock_sha256: lock_sha256.to_string(),
            uv_version: UV_VERSION.to_string(),
            python_version: "3.11.7".to_string(),
            python: PathBuf::from("/usr/bin/python3.11"),
            installed_at: "2026-12-03T16:00:00Z".to_string(),
            gatehouse_version: "0.1.0".to_string(),
        };
        std::fs::write(venv.join(RECORD_FILE), serde_json::to_vec(&record).unwrap()).unwrap();
        switch_to(paths, "fake").unwrap();
        venv
    }

    #[test]
    fn installed_vouches_only_for_a_finished_venv_of_the_pin() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        assert_eq!(installed(&paths).unwrap_err(), NotReady::NotInstalled);

        let venv = fake_venv(&paths, PINNED_VERSION, &lock_sha256());
        let found = installed(&paths).unwrap();
        assert_eq!(found.version, PINNED_VERSION);
        assert_eq!(found.litellm, std::fs::canonicalize(&venv).unwrap().join("bin/litellm"));
        assert!(status(&paths).problem.is_none());

        // Someone ran the venv's pip and replaced LiteLLM.
        let dist_info = venv.join("lib/python3.11/site-packages");
        std::fs::rename(dist_info.join("litellm-1.106.2.dist-info"), dist_info.join("litellm-1.107.0.dist-info"))
            .unwrap();
        std::fs::write(dist_info.join("litellm-1.107.0.dist-info/METADATA"), "Name: litellm\nVersion: 1.107.0\n")
            .unwrap();
        let error = installed(&paths).unwrap_err().to_string();
        assert!(error.contains("holds LiteLLM 1.107.0, not the pinned 1.106.2"), "{error}");
        assert!(error.contains("run `gatehouse engine litellm install` to repair"), "{error}");
        let status = status(&paths);
        assert_eq!(status.version.as_deref(), Some("1.107.0"));
        assert_eq!(status.problem.as_deref(), Some(error.as_str()));
        assert!(status.litellm.is_none());
    }

    #[test]
    fn installed_refuses_an_unfinished_venv_and_one_from_another_lock() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let venv = fake_venv(&paths, PINNED_VERSION, "0123");
        let error = installed(&paths).unwrap_err().to_string();
        assert!(error.contains("installed from another lock"), "{error}");

        std::fs::remove_file(venv.join(RECORD_FILE)).unwrap();
        let error = installed(&paths).unwrap_err().to_string();
        assert!(error.contains("was never finished"), "{error}");
    }

    #[test]
    fn uninstall_removes_the_venv_and_leaves_the_rest() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        fake_venv(&paths, PINNED_VERSION, &lock_sha256());
        std::fs::write(paths.litellm_dir().join("config.yaml"), "model_list: []\n").unwrap();
        let removed = uninstall(&paths).unwrap();
        let (venv, version, _) = removed.venv.unwrap();
        assert_eq!(venv, venv_link(&paths));
        assert_eq!(version.as_deref(), Some(PINNED_VERSION));
        assert_eq!(removed.left, ["config.yaml"]);
        assert!(std::fs::symlink_metadata(venv_link(&paths)).is_err());
        assert!(!venvs_dir(&paths).exists());
        assert!(uninstall(&paths).unwrap().venv.is_none());
    }

    #[test]
    fn a_real_directory_where_the_link_goes_is_replaced_too() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        std::fs::create_dir_all(venv_link(&paths).join("bin")).unwrap();
        fake_venv(&paths, PINNED_VERSION, &lock_sha256());
        assert!(std::fs::symlink_metadata(venv_link(&paths)).unwrap().is_symlink());
        assert!(installed(&paths).is_ok());
        // The directory moved aside is debris for the next install to sweep.
        remove_unfinished(&paths);
        let left: Vec<_> = std::fs::read_dir(venvs_dir(&paths)).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, ["fake"]);
    }

    #[test]
    fn uv_s_hash_refusal_names_the_package() {
        let output = "Resolved 117 packages in 35ms\nerror: Failed to download `litellm==1.106.2`\n  \
                      cause: Hash mismatch for `litellm==1.106.2`\n\n         Expected:\n";
        assert_eq!(hash_mismatch(output).as_deref(), Some("litellm==1.106.2"));
        assert_eq!(hash_mismatch("error: No solution found"), None);
        let error = InstallError::HashMismatch { package: "litellm==1.106.2".into() }.to_string();
        assert!(error.starts_with("litellm==1.106.2 does not match its pinned hash: refused."), "{error}");
        assert!(error.contains("Gatehouse installs only LiteLLM 1.106.2"), "{error}");
    }

    #[test]
    fn credentials_in_urls_are_hidden_from_step_output() {
        let text = "error: GET https://ci:s3cret@pypi.example/simple/litellm/ failed; see https://docs.example/x@y";
        assert_eq!(
            redact_credentials(text),
            "error: GET https://****@pypi.example/simple/litellm/ failed; see https://docs.example/x@y"
        );
    }

    #[test]
    fn uv_s_output_moves_the_progress_forward() {
        let mut progress = UvProgress::default();
        let lines = [
            "Using Python 3.11.7 environment at: venv",
            "Resolved 117 packages in 938ms",
            "Downloading numpy (16.1MiB)",
            "Downloading litellm (35.1MiB)",
            " Downloaded numpy",
            " Downloaded litellm",
            "Prepared 117 packages in 10.75s",
            "Installed 117 packages in 469ms",
            " + zipp==4.1.2",
        ];
        let fractions: Vec<_> = lines.iter().filter_map(|line| progress.fraction(line)).collect();
        assert_eq!(fractions, [0.35, 0.575, 0.8, 0.8, 0.88]);
    }

    #[test]
    fn a_failed_step_shows_its_error_lines() {
        let output = " + a==1\n + b==2\nerror: Failed to download `x`\n  cause: it broke\n";
        assert_eq!(excerpt(output), "error: Failed to download `x` cause: it broke");
        assert_eq!(excerpt("one\ntwo\n"), "one two");
    }
}
