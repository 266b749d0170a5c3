//! Reading and writing Claude Code's `settings.json` without ever losing it.
//!
//! [`configure`] and [`remove`] wrap the pure text edits of
//! [`super::settings`] in the file-system care the user's file deserves:
//!
//! - **Atomic writes.** New contents go to a temporary file in the same
//!   directory, are flushed to disk and renamed over the original, and the
//!   directory itself is flushed, so a crash leaves either the old file or
//!   the new one, never half of each.
//! - **No clobbering.** Just before the rename the file is read again; if
//!   another program (Claude Code, an editor) changed it meanwhile, the edit
//!   is redone on the fresh contents.
//! - **Exact undo.** A record in Gatehouse's state directory keeps the
//!   original bytes, mode and [`PriorValues`], plus the SHA-256 of what
//!   Gatehouse wrote. If the file still hashes to that, `remove` puts the
//!   original back byte for byte; if the user edited it since, only
//!   Gatehouse's keys come out. The record never holds the text Gatehouse
//!   wrote, because that contains the gateway key.
//! - **A backup** of the original goes to the backup directory before the
//!   first write, as a last resort. Only the newest [`KEPT_BACKUPS`] of each
//!   file name are kept, and an unchanged original is not copied twice.
//! - **Settled reads.** Another program may save the file by truncating it
//!   and then writing. A file is read only once its size and times are the
//!   same before and after the read, and a blank or unparsable file is
//!   believed only once it has been left alone for [`SETTLE`]; until then
//!   Gatehouse waits, with backoff, and refuses if the file never settles.
//!   A file that had settings a moment ago is never mistaken for an empty one.
//! - **Protected files stay protected.** A settings file without its owner's
//!   write permission (`chmod 444`) is refused, not replaced.
//!
//! The caller serialises edits of one settings file (see
//! [`super::setup`], which holds an OS file lock around each change).
//!
//! A symlinked `settings.json` (dotfile managers) is followed: the real file
//! is edited and the link stays a link.

use super::settings::{self, Destination, GatewayEnv, PriorValues, SettingsError};
use crate::fs_atomic::{
    self, PRIVATE_FILE_MODE, TempFile, create_private_dir, fill, mode_of, open_private, owner_of, parent_dir, sync_dir,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How often an edit is redone because another program changed the file
/// under us before giving up.
const ATTEMPTS: usize = 5;

/// How long a blank or unparsable settings file must have been left alone
/// before Gatehouse believes it is meant to be that way rather than caught
/// half-way through another program's save.
pub(crate) const SETTLE: Duration = Duration::from_secs(2);

/// How long to keep waiting, beyond [`SETTLE`], for a file that keeps changing.
const SETTLE_PATIENCE: Duration = Duration::from_secs(5);

/// How many backups of each settings file name are kept.
pub(crate) const KEPT_BACKUPS: usize = 10;

const RECORD_VERSION: u32 = 1;

/// Where one Claude Code settings scope lives, and where Gatehouse keeps its
/// record and backups for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsTarget {
    pub settings_path: PathBuf,
    /// A JSON file in Gatehouse's state directory, one per settings file.
    pub record_path: PathBuf,
    pub backup_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigureOutcome {
    /// There was no settings file; Gatehouse created it.
    Created { path: PathBuf },
    /// The existing file was edited; `backup` is the copy taken before the
    /// first edit, if this call took one.
    Updated { path: PathBuf, backup: Option<PathBuf> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// The file was untouched since configure and is back to its original bytes.
    RestoredExactly,
    /// The user edited the file since; only Gatehouse's keys were taken out.
    RemovedOurKeys,
    /// Configure had created the file, so it was deleted.
    Deleted,
    /// There was nothing of Gatehouse's to remove.
    NotConfigured,
}

#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    #[error("cannot change {}: {source}", path.display())]
    Settings {
        path: PathBuf,
        #[source]
        source: SettingsError,
    },
    #[error(
        "cannot read {}: it is not UTF-8 text; Claude Code settings must be UTF-8 JSON, so fix the file or move it aside",
        path.display()
    )]
    NotUtf8 { path: PathBuf },
    #[error("cannot {action} {}: {source}; {}", path.display(), advice(source.kind()))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "Gatehouse's record {} is unreadable ({reason}); delete it to forget the earlier configuration (the settings file is left as it is)",
        path.display()
    )]
    BadRecord { path: PathBuf, reason: String },
    #[error(
        "Gatehouse's record {} belongs to {}, not {}; use the record for that file, or delete the record to forget it",
        path.display(), recorded.display(), requested.display()
    )]
    RecordMismatch { path: PathBuf, recorded: PathBuf, requested: PathBuf },
    #[error(
        "{} kept changing while Gatehouse tried to update it; close programs that are editing it and try again",
        path.display()
    )]
    Busy { path: PathBuf },
    #[error(
        "{} is read-only (mode {mode:o}), so Gatehouse leaves it alone; make it writable (chmod u+w) if Gatehouse \
         may edit it, or choose another --scope",
        path.display()
    )]
    ReadOnly { path: PathBuf, mode: u32 },
}

fn advice(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            "make it writable or choose another --scope"
        }
        io::ErrorKind::NotADirectory => {
            "part of the path is a file, not a directory; fix the path or choose another --scope"
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => "free some disk space and try again",
        _ => "check the path and its permissions, then try again",
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    move |source| StoreError::Io { action, path: path.to_owned(), source }
}

/// What Gatehouse remembers about one configured settings file.
#[derive(Serialize, Deserialize)]
struct Record {
    version: u32,
    settings_path: PathBuf,
    existed: bool,
    /// The user's own file before the first configure. `None` when it is no
    /// longer a valid undo: the user edited the file between two configures,
    /// or it already held a stale gateway key line, which must not be kept.
    original: Option<String>,
    original_mode: Option<u32>,
    prior: PriorValues,
    written_sha256: String,
}

/// The settings file's contents and metadata at one moment.
struct Snapshot {
    text: Option<String>,
    mode: Option<u32>,
    owner: Option<(u32, u32)>,
}

impl Snapshot {
    /// Refuses to replace a file its owner made read-only.
    fn check_writable(&self, path: &Path) -> Result<(), StoreError> {
        match self.mode {
            Some(mode) if self.text.is_some() && mode & 0o200 == 0 => {
                Err(StoreError::ReadOnly { path: path.to_owned(), mode })
            }
            _ => Ok(()),
        }
    }
}

/// Points Claude Code at the gateway by editing the settings file, keeping
/// everything else in it.
pub fn configure(target: &SettingsTarget, env: &GatewayEnv) -> Result<ConfigureOutcome, StoreError> {
    let path = real_path(&target.settings_path)?;
    let record = load_record(target)?;
    let settings_error = |source| StoreError::Settings { path: path.clone(), source };
    let mut backup = None;
    for _ in 0..ATTEMPTS {
        let before = snapshot(&path)?;
        before.check_writable(&path)?;
        let plan = plan_configure(target, record.as_ref(), &before, env).map_err(settings_error)?;
        if plan.fresh
            && backup.is_none()
            && let Some(original) = before.text.as_deref().filter(|text| !settings::is_blank(text))
        {
            backup = write_backup(&target.backup_dir, &path, original)?;
        }
        let (text, new_record) = (plan.text, plan.record);

        let previous_record = read_bytes(&target.record_path)?;
        let committed = replace_if_unchanged(&path, &before, Some(&text), Some(PRIVATE_FILE_MODE), || {
            write_record(target, &new_record)
        });
        match committed {
            Ok(Commit::Done) => {
                return Ok(match before.text {
                    None => ConfigureOutcome::Created { path },
                    Some(_) => ConfigureOutcome::Updated { path, backup },
                });
            }
            Ok(Commit::Changed) => continue,
            Err(err) => {
                restore_record(target, previous_record);
                return Err(err);
            }
        }
    }
    Err(StoreError::Busy { path })
}

/// What [`configure`] writes over the file as `before` has it: the new text
/// and the record of it. `fresh` when the edit starts from the user's own
/// file (no live record), so a backup of it is due.
struct ConfigurePlan {
    text: String,
    record: Record,
    fresh: bool,
}

fn plan_configure(
    target: &SettingsTarget,
    record: Option<&Record>,
    before: &Snapshot,
    env: &GatewayEnv,
) -> Result<ConfigurePlan, SettingsError> {
    let current = before.text.as_deref().unwrap_or("");
    let configured = settings::gateway_in(current)?.is_some();
    // A record whose key line is gone is stale: the user took Gatehouse out by hand.
    let live = match record {
        Some(record) if settings::holds_own_line(current, record.prior.destination)? => Some(record),
        _ => None,
    };
    let untouched = |record: &Record| sha256(current) == record.written_sha256;
    Ok(match live {
        Some(record) if record.prior.destination == env.destination => {
            let applied = settings::reapply(current, env, &record.prior)?;
            let record = Record {
                version: RECORD_VERSION,
                settings_path: target.settings_path.clone(),
                existed: record.existed,
                original: record.original.clone().filter(|_| untouched(record)),
                original_mode: record.original_mode,
                prior: applied.prior,
                written_sha256: sha256(&applied.text),
            };
            ConfigurePlan { text: applied.text, record, fresh: false }
        }
        Some(record) => {
            // From the gateway to a team proxy or back: take the first
            // configuration out as remove would, then apply the second to
            // the user's own file, so one remove still restores it.
            let base = settings::revert(current, &record.prior)?;
            refuse_foreign_team_key(&base, env)?;
            let applied = settings::apply(&base, env)?;
            let record = Record {
                version: RECORD_VERSION,
                settings_path: target.settings_path.clone(),
                existed: record.existed,
                original: record.original.clone().filter(|_| untouched(record)),
                original_mode: record.original_mode,
                prior: applied.prior,
                written_sha256: sha256(&applied.text),
            };
            ConfigurePlan { text: applied.text, record, fresh: false }
        }
        None => {
            // Already configured without a record of it (the record was
            // lost, or another configure got there first): what the file
            // holds now is Gatehouse's, not the user's prior value, so
            // take it out before recording what the edit replaces.
            let base = match settings::strip_unrecorded(current)? {
                Some(stripped) if configured => stripped,
                _ => current.to_owned(),
            };
            refuse_foreign_team_key(&base, env)?;
            let mut applied = settings::apply(&base, env)?;
            if env.destination == Destination::Gateway {
                applied.prior.forget_own_base_url(env.base_url);
            }
            if configured {
                applied.prior.forget_own_hint();
            }
            let record = Record {
                version: RECORD_VERSION,
                settings_path: target.settings_path.clone(),
                existed: before.text.is_some(),
                original: before.text.clone().filter(|_| !configured),
                original_mode: before.mode,
                prior: applied.prior,
                written_sha256: sha256(&applied.text),
            };
            ConfigurePlan { text: applied.text, record, fresh: true }
        }
    })
}

/// A team key line that no record says is Gatehouse's is the user's own
/// set-up, and a secret that no record may hold to restore it: refuse
/// rather than lose it.
fn refuse_foreign_team_key(text: &str, env: &GatewayEnv) -> Result<(), SettingsError> {
    if env.destination == Destination::TeamProxy && settings::holds_own_line(text, Destination::TeamProxy)? {
        return Err(SettingsError::ForeignTeamKey);
    }
    Ok(())
}

/// The settings file's text now and after [`configure`] with `env`, without
/// writing anything: the same planning step `configure` runs.
pub fn preview_configure(target: &SettingsTarget, env: &GatewayEnv) -> Result<(Option<String>, String), StoreError> {
    let path = real_path(&target.settings_path)?;
    let record = load_record(target)?;
    let before = snapshot(&path)?;
    before.check_writable(&path)?;
    let plan = plan_configure(target, record.as_ref(), &before, env)
        .map_err(|source| StoreError::Settings { path: path.clone(), source })?;
    Ok((before.text, plan.text))
}

/// What [`remove`] writes over `current` given Gatehouse's record: the new
/// contents (`None`: delete the file) and what that amounts to.
fn plan_remove(record: &Record, current: &str) -> Result<(Option<String>, RemoveOutcome), SettingsError> {
    let untouched = sha256(current) == record.written_sha256;
    Ok(match (&record.original, record.existed) {
        (_, false) if untouched => (None, RemoveOutcome::Deleted),
        (Some(original), true) if untouched => (Some(original.clone()), RemoveOutcome::RestoredExactly),
        _ => {
            let reverted = settings::revert(current, &record.prior)?;
            if !record.existed && reverted.is_empty() {
                (None, RemoveOutcome::Deleted)
            } else {
                (Some(reverted), RemoveOutcome::RemovedOurKeys)
            }
        }
    })
}

/// The settings file's text now and after [`remove`] (`None`: absent, or
/// deleted), without writing anything: the same planning step `remove` runs.
pub fn preview_remove(target: &SettingsTarget) -> Result<(Option<String>, Option<String>), StoreError> {
    let path = real_path(&target.settings_path)?;
    let settings_error = |source| StoreError::Settings { path: path.clone(), source };
    let before = snapshot(&path)?;
    let Some(current) = before.text.clone() else { return Ok((None, None)) };
    let after = match load_record(target)? {
        Some(record) => plan_remove(&record, &current).map_err(settings_error)?.0,
        None => Some(settings::strip_unrecorded(&current).map_err(settings_error)?.unwrap_or_else(|| current.clone())),
    };
    Ok((Some(current), after))
}

/// Takes Gatehouse out of the settings file: restores it exactly if nobody
/// touched it since, otherwise removes only Gatehouse's keys.
///
/// Without a record (Gatehouse's state was lost) a leftover configuration is
/// still cleaned up: the `x-gatehouse-key` line goes, and the base URL too
/// if it points at a loopback address; see [`settings::strip_unrecorded`].
pub fn remove(target: &SettingsTarget) -> Result<RemoveOutcome, StoreError> {
    let path = real_path(&target.settings_path)?;
    let Some(record) = load_record(target)? else {
        return remove_unrecorded(&path);
    };
    for _ in 0..ATTEMPTS {
        let before = snapshot(&path)?;
        let Some(current) = before.text.as_deref() else {
            // The user deleted the file: nothing of ours is left in it.
            delete_record(target)?;
            return Ok(RemoveOutcome::NotConfigured);
        };
        before.check_writable(&path)?;
        let (contents, outcome) =
            plan_remove(&record, current).map_err(|source| StoreError::Settings { path: path.clone(), source })?;
        let mode = record.original_mode.or(before.mode);
        match replace_if_unchanged(&path, &before, contents.as_deref(), mode, || Ok(()))? {
            Commit::Done => {
                delete_record(target)?;
                return Ok(outcome);
            }
            Commit::Changed => continue,
        }
    }
    Err(StoreError::Busy { path })
}

/// The settings file's text once it has settled (see "Settled reads"), or
/// `None` if it does not exist.
pub(crate) fn read_settled(path: &Path) -> Result<Option<String>, StoreError> {
    snapshot(&real_path(path)?).map(|snapshot| snapshot.text)
}

/// The settings file's text, or `None` if it does not exist.
pub fn read(target_path: &Path) -> Result<Option<String>, StoreError> {
    match read_bytes(target_path)? {
        None => Ok(None),
        Some(bytes) => {
            String::from_utf8(bytes).map(Some).map_err(|_| StoreError::NotUtf8 { path: target_path.to_owned() })
        }
    }
}

fn remove_unrecorded(path: &Path) -> Result<RemoveOutcome, StoreError> {
    for _ in 0..ATTEMPTS {
        let before = snapshot(path)?;
        let Some(current) = before.text.as_deref() else {
            return Ok(RemoveOutcome::NotConfigured);
        };
        let stripped = settings::strip_unrecorded(current)
            .map_err(|source| StoreError::Settings { path: path.to_owned(), source })?;
        let Some(stripped) = stripped else {
            return Ok(RemoveOutcome::NotConfigured);
        };
        before.check_writable(path)?;
        match replace_if_unchanged(path, &before, Some(&stripped), before.mode, || Ok(()))? {
            Commit::Done => return Ok(RemoveOutcome::RemovedOurKeys),
            Commit::Changed => continue,
        }
    }
    Err(StoreError::Busy { path: path.to_owned() })
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Follows a symlink so the rename replaces the file it points to, not the link.
fn real_path(path: &Path) -> Result<PathBuf, StoreError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            fs::canonicalize(path).map_err(io_error("follow the symlink", path))
        }
        _ => Ok(path.to_owned()),
    }
}

fn read_bytes(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error("read", path)(err)),
    }
}

/// The file once it has settled: see "Settled reads" above.
fn snapshot(path: &Path) -> Result<Snapshot, StoreError> {
    snapshot_within(path, crate::failpoint::settle_time(SETTLE), SETTLE_PATIENCE)
}

/// Waits up to `settle + patience` for the file to settle, then refuses.
fn snapshot_within(path: &Path, settle: Duration, patience: Duration) -> Result<Snapshot, StoreError> {
    let give_up = Instant::now() + settle + patience;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(snapshot) = settled_snapshot(path, settle)? {
            return Ok(snapshot);
        }
        if Instant::now() >= give_up {
            return Err(StoreError::Busy { path: path.to_owned() });
        }
        crate::failpoint::announce_waiting();
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

/// One look at the file; `None` while it is still being written.
fn settled_snapshot(path: &Path, settle: Duration) -> Result<Option<Snapshot>, StoreError> {
    let Some(first) = metadata(path)? else {
        return Ok(Some(Snapshot { text: None, mode: None, owner: None }));
    };
    let Some(bytes) = read_bytes(path)? else {
        return Ok(None);
    };
    let Some(second) = metadata(path)? else {
        return Ok(None);
    };
    if !same_version(&first, &second) || bytes.len() as u64 != second.len() {
        return Ok(None);
    }
    let young =
        second.modified().ok().and_then(|at| SystemTime::now().duration_since(at).ok()).is_none_or(|age| age < settle);
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) if young => return Ok(None),
        Err(_) => return Err(StoreError::NotUtf8 { path: path.to_owned() }),
    };
    // Caught between another program's truncate and write, the file looks
    // blank or cut short; only time tells that apart from a file meant so.
    if young && (settings::is_blank(&text) || serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err()) {
        return Ok(None);
    }
    Ok(Some(Snapshot { text: Some(text), mode: mode_of(&second), owner: owner_of(&second) }))
}

fn metadata(path: &Path) -> Result<Option<fs::Metadata>, StoreError> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io_error("inspect", path)(err)),
    }
}

/// Whether two looks at a file saw the same version of it.
fn same_version(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    (a.dev(), a.ino(), a.len(), a.mtime(), a.mtime_nsec(), a.ctime(), a.ctime_nsec())
        == (b.dev(), b.ino(), b.len(), b.mtime(), b.mtime_nsec(), b.ctime(), b.ctime_nsec())
}

enum Commit {
    Done,
    /// Someone else changed the file since the snapshot; nothing was written.
    Changed,
}

/// Replaces `path` with `contents` (or deletes it for `None`), unless its
/// contents differ from `before`. `before_commit` runs once the new contents
/// are safely on disk but before they become visible.
fn replace_if_unchanged(
    path: &Path,
    before: &Snapshot,
    contents: Option<&str>,
    mode: Option<u32>,
    before_commit: impl FnOnce() -> Result<(), StoreError>,
) -> Result<Commit, StoreError> {
    let dir = parent_dir(path);
    fs_atomic::remove_stale_temp_files(path);
    let temp = match contents {
        Some(text) => {
            create_private_dir(dir).map_err(io_error("create the directory for", path))?;
            Some(TempFile::write(path, text.as_bytes(), mode, before.owner).map_err(io_error("write", path))?)
        }
        None => None,
    };
    crate::failpoint::abort_at("settings-temp-written");
    if read(path)? != before.text {
        return Ok(Commit::Changed);
    }
    before_commit()?;
    crate::failpoint::abort_at("settings-before-rename");
    match temp {
        Some(temp) => temp.persist(path).map_err(io_error("replace", path))?,
        None => fs::remove_file(path).map_err(io_error("delete", path))?,
    }
    sync_dir(dir).map_err(io_error("flush the directory of", path))?;
    Ok(Commit::Done)
}

fn load_record(target: &SettingsTarget) -> Result<Option<Record>, StoreError> {
    let path = &target.record_path;
    let Some(bytes) = read_bytes(path)? else {
        return Ok(None);
    };
    let bad = |reason: String| StoreError::BadRecord { path: path.clone(), reason };
    let record: Record = serde_json::from_slice(&bytes).map_err(|err| bad(err.to_string()))?;
    if record.version != RECORD_VERSION {
        return Err(bad(format!("version {} is not one this Gatehouse understands", record.version)));
    }
    if record.settings_path != target.settings_path {
        return Err(StoreError::RecordMismatch {
            path: path.clone(),
            recorded: record.settings_path,
            requested: target.settings_path.clone(),
        });
    }
    Ok(Some(record))
}

fn write_record(target: &SettingsTarget, record: &Record) -> Result<(), StoreError> {
    let path = &target.record_path;
    let json = serde_json::to_vec_pretty(record).map_err(|err| StoreError::Io {
        action: "write",
        path: path.clone(),
        source: io::Error::other(err),
    })?;
    write_private_atomically(path, &json)
}

/// Puts the record back as it was after a failed configure, so it never
/// describes a write that did not happen.
fn restore_record(target: &SettingsTarget, previous: Option<Vec<u8>>) {
    // Best effort: the caller is already returning the error that matters, and
    // a stale record is harmless because `remove` checks the file's hash.
    let _ = match previous {
        Some(bytes) => write_private_atomically(&target.record_path, &bytes),
        None => delete_record(target),
    };
}

fn delete_record(target: &SettingsTarget) -> Result<(), StoreError> {
    match fs::remove_file(&target.record_path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(io_error("delete", &target.record_path)(err)),
    }
}

fn write_private_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    fs_atomic::write_private(path, bytes).map_err(io_error("write", path))
}

/// Copies the user's original file aside, never overwriting an older backup,
/// and keeps only the newest [`KEPT_BACKUPS`] of that file name. Returns
/// `None` when the newest backup already holds exactly these bytes.
fn write_backup(backup_dir: &Path, settings_path: &Path, original: &str) -> Result<Option<PathBuf>, StoreError> {
    create_private_dir(backup_dir).map_err(io_error("create the backup directory", backup_dir))?;
    let name = settings_path.file_name().map_or_else(|| "settings.json".into(), |n| n.to_string_lossy());
    let existing = backups_of(backup_dir, &name);
    if let Some(newest) = existing.last()
        && fs::read(newest).is_ok_and(|bytes| bytes == original.as_bytes())
    {
        return Ok(None);
    }
    let stamp = utc_timestamp(SystemTime::now());
    // After the newest backup of this second, never in a gap left by pruning,
    // so names keep sorting by age.
    let this_second = format!("{name}.{stamp}");
    let mut attempt = existing
        .iter()
        .filter_map(|p| p.file_name()?.to_str()?.strip_prefix(&this_second)?.strip_suffix(".bak").map(str::to_owned))
        .map(|suffix| suffix.strip_prefix('-').and_then(|n| n.parse::<u32>().ok()).map_or(1, |n| n + 1))
        .max()
        .unwrap_or(0);
    let path = loop {
        let suffix = if attempt == 0 { String::new() } else { format!("-{attempt:03}") };
        let path = backup_dir.join(format!("{name}.{stamp}{suffix}.bak"));
        match open_private(&path) {
            Ok(file) => {
                fill(&file, original.as_bytes(), None, None).map_err(io_error("write the backup", &path))?;
                sync_dir(backup_dir).map_err(io_error("flush the backup directory", backup_dir))?;
                break path;
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 999 => attempt += 1,
            Err(err) => return Err(io_error("write the backup", &path)(err)),
        }
    };
    let backups = backups_of(backup_dir, &name);
    for old in backups.iter().take(backups.len().saturating_sub(KEPT_BACKUPS)) {
        // Best effort: an old backup that cannot be deleted costs only space.
        let _ = fs::remove_file(old);
    }
    Ok(Some(path))
}

/// The backups of files called `name`, oldest first (the names sort by time).
fn backups_of(backup_dir: &Path, name: &str) -> Vec<PathBuf> {
    let prefix = format!("{name}.");
    let mut found: Vec<PathBuf> = fs::read_dir(backup_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| {
            entry.file_name().to_str().is_some_and(|n| {
                n.strip_prefix(&prefix)
                    .and_then(|rest| rest.strip_suffix(".bak"))
                    .is_some_and(|stamp| stamp.starts_with(|c: char| c.is_ascii_digit()))
            })
        })
        .map(|entry| entry.path())
        .collect();
    found.sort_by_cached_key(|path| backup_sort_key(path));
    found
}

/// `STAMP.bak` sorts before `STAMP-001.bak` (`.` > `-` in ASCII would put it after).
fn backup_sort_key(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().replace(".bak", "-000")).unwrap_or_default()
}

/// `YYYYMMDDTHHMMSSZ`, so backups sort by the time they were taken.
fn utc_timestamp(now: SystemTime) -> String {
    jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH).strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const URL: &str = "http://127.0.0.1:4141";
    const KEY: &str = "ghk_store_secret";

    fn gw(key: &str) -> GatewayEnv<'_> {
        GatewayEnv::gateway(URL, key)
    }

    fn target(dir: &Path) -> SettingsTarget {
        SettingsTarget {
            settings_path: dir.join("home/.claude/settings.json"),
            record_path: dir.join("state/claude-settings.json"),
            backup_dir: dir.join("state/backups"),
        }
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// Makes a file look long untouched, as a blank file must be to be believed.
    fn settled(path: &Path) {
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - SETTLE * 2).unwrap();
    }

    #[test]
    fn a_freshly_blanked_file_is_not_believed_until_it_settles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        write(&path, "");
        assert!(settled_snapshot(&path, SETTLE).unwrap().is_none(), "just truncated: maybe mid-save");
        write(&path, "{\"model\":");
        assert!(settled_snapshot(&path, SETTLE).unwrap().is_none(), "cut short: maybe mid-save");
        settled(&path);
        let snapshot = settled_snapshot(&path, SETTLE).unwrap().expect("left alone: it is what it is");
        assert_eq!(snapshot.text.as_deref(), Some("{\"model\":"));
        write(&path, ORIGINAL);
        assert!(settled_snapshot(&path, SETTLE).unwrap().is_some(), "valid JSON needs no wait");
    }

    #[test]
    fn a_file_that_never_settles_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        write(&path, "");
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            // A program forever half-way through saving.
            scope.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    fs::write(&path, "").unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                }
            });
            let result = snapshot_within(&path, Duration::from_secs(1), Duration::from_millis(200));
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            let Err(error) = result else { panic!("a file still being written was believed") };
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()) && message.contains("kept changing"), "{message}");
        });
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        mode_of(&fs::metadata(path).unwrap()).unwrap()
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    const ORIGINAL: &str = "{\r\n    \"model\": \"opus\",\r\n    \"hooks\": {\"Stop\": []}\r\n}";

    #[test]
    #[cfg(unix)]
    fn configure_then_remove_restores_bytes_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, ORIGINAL);
        chmod(&t.settings_path, 0o644);

        let outcome = configure(&t, &gw(KEY)).unwrap();
        let ConfigureOutcome::Updated { backup: Some(backup), .. } = outcome else {
            panic!("unexpected {outcome:?}");
        };
        assert_eq!(fs::read_to_string(&backup).unwrap(), ORIGINAL);
        assert_eq!(mode(&backup), 0o600);
        assert_eq!(mode(&t.settings_path), 0o600);
        let configured = fs::read_to_string(&t.settings_path).unwrap();
        assert!(configured.contains("x-gatehouse-key: ghk_store_secret"));
        assert!(configured.contains("\"model\": \"opus\",\r\n"));

        let record = fs::read_to_string(&t.record_path).unwrap();
        assert!(!record.contains(KEY), "the record must not hold the key");
        assert_eq!(mode(&t.record_path), 0o600);

        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RestoredExactly);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), ORIGINAL);
        assert_eq!(mode(&t.settings_path), 0o644);
        assert!(!t.record_path.exists());
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::NotConfigured);
    }

    const TEAM_URL: &str = "https://llm.example.com";
    const TEAM_KEY: &str = "sk-team-store-secret";

    #[test]
    #[cfg(unix)]
    fn a_team_proxy_is_configured_with_its_own_line_and_removed_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let original = "{\n  \"env\": {\"ANTHROPIC_CUSTOM_HEADERS\": \"x-mine: 1\"},\n  \"model\": \"opus\"\n}\n";
        write(&t.settings_path, original);
        chmod(&t.settings_path, 0o644);

        configure(&t, &GatewayEnv::team(TEAM_URL, TEAM_KEY)).unwrap();
        let text = fs::read_to_string(&t.settings_path).unwrap();
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(document["env"]["ANTHROPIC_BASE_URL"], TEAM_URL);
        let headers = format!("x-mine: 1\nx-litellm-api-key: Bearer {TEAM_KEY}");
        assert_eq!(document["env"]["ANTHROPIC_CUSTOM_HEADERS"], headers.as_str());
        for never in ["ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", settings::HINT_HEADERS] {
            assert!(document["env"].get(never).is_none(), "{never} set: {text}");
        }
        assert!(!text.contains("x-gatehouse-key"), "{text}");
        assert_eq!(mode(&t.settings_path), 0o600, "it holds a key");
        assert!(!fs::read_to_string(&t.record_path).unwrap().contains(TEAM_KEY), "the record holds no key");

        // Configuring again (a new key) keeps the first original.
        configure(&t, &GatewayEnv::team(TEAM_URL, "sk-team-rotated")).unwrap();
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RestoredExactly);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), original);
        assert_eq!(mode(&t.settings_path), 0o644);
    }

    #[test]
    fn switching_between_the_gateway_and_a_team_proxy_still_restores_the_users_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, ORIGINAL);
        configure(&t, &gw(KEY)).unwrap();
        configure(&t, &GatewayEnv::team(TEAM_URL, TEAM_KEY)).unwrap();
        let text = fs::read_to_string(&t.settings_path).unwrap();
        assert!(!text.contains(KEY) && !text.contains(settings::HINT_HEADERS), "the gateway's keys are gone: {text}");
        assert!(text.contains(TEAM_URL) && text.contains(TEAM_KEY), "{text}");
        configure(&t, &gw(KEY)).unwrap();
        let text = fs::read_to_string(&t.settings_path).unwrap();
        assert!(!text.contains(TEAM_KEY) && !text.contains(TEAM_URL) && text.contains(KEY), "{text}");
        configure(&t, &GatewayEnv::team(TEAM_URL, TEAM_KEY)).unwrap();
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RestoredExactly);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), ORIGINAL);

        // With the user's edit in between, remove takes out only the team's keys.
        configure(&t, &GatewayEnv::team(TEAM_URL, TEAM_KEY)).unwrap();
        let edited = fs::read_to_string(&t.settings_path).unwrap().replace("\"opus\"", "\"sonnet\"");
        write(&t.settings_path, &edited);
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RemovedOurKeys);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), ORIGINAL.replace("\"opus\"", "\"sonnet\""));
    }

    #[test]
    fn a_team_key_set_by_hand_is_refused_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let own = r#"{"env": {"ANTHROPIC_CUSTOM_HEADERS": "X-LiteLLM-API-Key: Bearer sk-hand-made"}}"#;
        write(&t.settings_path, own);
        let error = configure(&t, &GatewayEnv::team(TEAM_URL, TEAM_KEY)).unwrap_err().to_string();
        assert!(error.contains("x-litellm-api-key header that Gatehouse did not write"), "{error}");
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), own, "untouched");
    }

    #[test]
    #[cfg(unix)]
    fn missing_file_is_created_private_and_deleted_on_remove() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let outcome = configure(&t, &gw(KEY)).unwrap();
        assert_eq!(outcome, ConfigureOutcome::Created { path: t.settings_path.clone() });
        assert_eq!(mode(&t.settings_path), 0o600);
        assert_eq!(mode(t.settings_path.parent().unwrap()), 0o700);
        assert_eq!(fs::read_dir(&t.backup_dir).map_or(0, |d| d.count()), 0);

        assert_eq!(remove(&t).unwrap(), RemoveOutcome::Deleted);
        assert!(!t.settings_path.exists());
        assert!(!t.record_path.exists());
        let leftovers: Vec<_> = fs::read_dir(t.settings_path.parent().unwrap()).unwrap().collect();
        assert!(leftovers.is_empty(), "temp files left behind: {leftovers:?}");
    }

    #[test]
    fn invalid_json_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let broken = "{\n  \"model\": \"opus\"\n  \"oops\": 1\n}\n";
        write(&t.settings_path, broken);
        let mtime = fs::metadata(&t.settings_path).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));

        let err = configure(&t, &gw(KEY)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&t.settings_path.display().to_string()), "{message}");
        assert!(message.contains("line 3, column 3"), "{message}");
        assert!(message.contains("fix the file"), "{message}");
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), broken);
        assert_eq!(fs::metadata(&t.settings_path).unwrap().modified().unwrap(), mtime);
        assert!(!t.record_path.exists());
        assert!(!t.backup_dir.exists());
    }

    #[test]
    fn edits_made_after_configure_survive_remove() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, ORIGINAL);
        configure(&t, &gw(KEY)).unwrap();
        let edited = fs::read_to_string(&t.settings_path).unwrap().replace("\"opus\"", "\"sonnet\"");
        fs::write(&t.settings_path, &edited).unwrap();

        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RemovedOurKeys);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), ORIGINAL.replace("\"opus\"", "\"sonnet\""));
    }

    #[test]
    fn reconfigure_rotates_the_key_and_keeps_the_true_original() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, ORIGINAL);
        configure(&t, &gw(KEY)).unwrap();
        let outcome = configure(&t, &gw("ghk_rotated")).unwrap();
        assert!(matches!(outcome, ConfigureOutcome::Updated { backup: None, .. }));
        let text = fs::read_to_string(&t.settings_path).unwrap();
        assert!(text.contains("ghk_rotated") && !text.contains(KEY));
        assert_eq!(fs::read_dir(&t.backup_dir).unwrap().count(), 1);
        let record = fs::read_to_string(&t.record_path).unwrap();
        assert!(!record.contains("ghk_rotated"));

        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RestoredExactly);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), ORIGINAL);
    }

    #[test]
    fn reconfigure_after_an_edit_does_not_resurrect_the_old_original() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, ORIGINAL);
        configure(&t, &gw(KEY)).unwrap();
        let edited = fs::read_to_string(&t.settings_path).unwrap().replace("\"opus\"", "\"haiku\"");
        fs::write(&t.settings_path, edited).unwrap();
        configure(&t, &gw("ghk_rotated")).unwrap();

        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RemovedOurKeys);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), ORIGINAL.replace("\"opus\"", "\"haiku\""));
    }

    #[test]
    fn a_record_whose_configuration_was_removed_by_hand_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, ORIGINAL);
        configure(&t, &gw(KEY)).unwrap();
        let by_hand = "{\"model\": \"new\"}";
        fs::write(&t.settings_path, by_hand).unwrap();
        configure(&t, &gw(KEY)).unwrap();
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RestoredExactly);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), by_hand);
    }

    #[test]
    fn a_stale_key_line_is_never_recorded_or_restored() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let stale = r#"{"env":{"ANTHROPIC_CUSTOM_HEADERS":"A: 1\nx-gatehouse-key: ghk_old"}}"#;
        write(&t.settings_path, stale);
        configure(&t, &gw(KEY)).unwrap();
        assert!(!fs::read_to_string(&t.record_path).unwrap().contains("ghk_old"));
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RemovedOurKeys);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), r#"{"env":{"ANTHROPIC_CUSTOM_HEADERS":"A: 1"}}"#);
    }

    #[test]
    fn without_a_record_a_leftover_configuration_is_stripped() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::NotConfigured);
        write(&t.settings_path, "{\"model\": \"opus\"}");
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::NotConfigured);

        configure(&t, &gw(KEY)).unwrap();
        fs::remove_file(&t.record_path).unwrap();
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RemovedOurKeys);
        assert_eq!(fs::read_to_string(&t.settings_path).unwrap(), "{\"model\": \"opus\", \"env\": {}}");
    }

    #[test]
    fn a_changed_file_is_not_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        write(&path, "{}");
        let before = snapshot(&path).unwrap();
        fs::write(&path, "{\"theirs\": 1}").unwrap();
        let outcome = replace_if_unchanged(&path, &before, Some("{\"ours\": 1}"), None, || Ok(()));
        assert!(matches!(outcome, Ok(Commit::Changed)));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"theirs\": 1}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "temp file left behind");
    }

    #[test]
    fn unwritable_locations_name_the_path_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        fs::write(&blocker, "").unwrap();
        let t = SettingsTarget {
            settings_path: blocker.join("settings.json"),
            record_path: dir.path().join("record.json"),
            backup_dir: dir.path().join("backups"),
        };
        let message = configure(&t, &gw(KEY)).unwrap_err().to_string();
        assert!(message.contains(&t.settings_path.display().to_string()), "{message}");
        assert!(message.contains("choose another --scope"), "{message}");
        assert!(!t.record_path.exists());
    }

    #[test]
    fn a_corrupt_record_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.record_path, "not json");
        let message = remove(&t).unwrap_err().to_string();
        assert!(message.contains(&t.record_path.display().to_string()), "{message}");
        assert!(message.contains("delete it"), "{message}");
    }

    #[test]
    fn non_utf8_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        fs::create_dir_all(t.settings_path.parent().unwrap()).unwrap();
        fs::write(&t.settings_path, b"{\"a\": \"\xff\"}").unwrap();
        assert!(matches!(configure(&t, &gw(KEY)), Err(StoreError::NotUtf8 { .. })));
    }

    #[test]
    #[cfg(unix)]
    fn a_symlinked_settings_file_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        let real = dir.path().join("dotfiles/settings.json");
        write(&real, ORIGINAL);
        fs::create_dir_all(t.settings_path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&real, &t.settings_path).unwrap();

        configure(&t, &gw(KEY)).unwrap();
        assert!(fs::symlink_metadata(&t.settings_path).unwrap().file_type().is_symlink());
        assert!(fs::read_to_string(&real).unwrap().contains(KEY));
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RestoredExactly);
        assert_eq!(fs::read_to_string(&real).unwrap(), ORIGINAL);
    }

    #[test]
    fn a_configuration_found_without_its_record_is_not_recorded_as_the_users() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, ORIGINAL);
        configure(&t, &gw(KEY)).unwrap();
        // Another configure's record was lost, or raced ours: the file
        // already points at the gateway when this configure reads it.
        fs::remove_file(&t.record_path).unwrap();
        configure(&t, &gw("ghk_second")).unwrap();
        assert_eq!(remove(&t).unwrap(), RemoveOutcome::RemovedOurKeys);
        let text = fs::read_to_string(&t.settings_path).unwrap();
        assert!(!text.contains(URL), "remove must not leave Claude Code at the gateway without a key: {text}");
        assert!(!text.contains("x-gatehouse-key"), "{text}");
    }

    #[test]
    fn backups_are_bounded_and_never_blank_or_repeated() {
        let dir = tempfile::tempdir().unwrap();
        let t = target(dir.path());
        write(&t.settings_path, "  \n");
        settled(&t.settings_path);
        configure(&t, &gw(KEY)).unwrap();
        assert!(fs::read_dir(&t.backup_dir).map_or(0, |d| d.count()) == 0, "a blank file gets no backup");
        remove(&t).unwrap();

        write(&t.settings_path, ORIGINAL);
        for _ in 0..3 {
            configure(&t, &gw(KEY)).unwrap();
            remove(&t).unwrap();
        }
        assert_eq!(fs::read_dir(&t.backup_dir).unwrap().count(), 1, "an unchanged original is copied once");

        for i in 0..KEPT_BACKUPS + 5 {
            write(&t.settings_path, &format!("{{\"model\": \"m{i}\"}}"));
            configure(&t, &gw(KEY)).unwrap();
            remove(&t).unwrap();
        }
        let mut kept: Vec<String> =
            fs::read_dir(&t.backup_dir).unwrap().map(|e| fs::read_to_string(e.unwrap().path()).unwrap()).collect();
        kept.sort();
        assert_eq!(kept.len(), KEPT_BACKUPS);
        let last = KEPT_BACKUPS + 4;
        assert!(kept.contains(&format!("{{\"model\": \"m{last}\"}}")), "the newest is kept: {kept:?}");
        assert!(!kept.contains(&"{\"model\": \"m0\"}".to_string()), "the oldest went: {kept:?}");
    }

    #[test]
    fn timestamps_are_utc_civil_time() {
        let at = |secs| utc_timestamp(std::time::UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "19700101T000000Z");
        assert_eq!(at(951_782_400), "20000229T000000Z");
        assert_eq!(at(1_767_225_599), "20251231T235959Z");
    }
}
