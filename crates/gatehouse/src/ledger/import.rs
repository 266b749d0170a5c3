//! History from Claude Code's transcripts: the requests the gateway did not
//! see (before Gatehouse was installed, while it failed open, while it was
//! off), imported into the ledger as rows with `source = 1`.
//!
//! Such a row is lower fidelity than a gateway row: no window reading, no
//! timings, no client or upstream, and its input count may be one of the
//! placeholders Claude Code writes (see [`super::transcript`]). It is priced
//! with the gateway's [`PriceTable`]; an unknown model gets a NULL cost.
//!
//! # Never twice
//! The ledger never holds a transcript row and a gateway row with the same
//! `request_id`, so every query sums `requests` as it is:
//! - The gateway's row wins. The import skips a message whose request id
//!   the gateway has recorded; it checks and inserts in one write
//!   transaction, looking for gateway rows from a day before the message to
//!   an hour after it (a gateway row is stamped when the request arrived,
//!   before the transcript line was written).
//! - The gateway may record its row after the import added the transcript's:
//!   Claude Code writes the line while the response streams, the gateway's
//!   writer commits after it ends. The writer then deletes the transcript
//!   row in the transaction that inserts its own (see [`super::writer`]).
//!   SQLite runs one write transaction at a time, so whichever of the two
//!   commits first, the other sees its row.
//! - Transcript rows are unique by `request_id` (the response's `requestId`,
//!   else the message id; a partial unique index). A message read again (a
//!   second run, a rewritten file, a session resumed into a new file that
//!   repeats old lines) updates its row, and its counts only grow: a message
//!   first read while Claude Code was still writing it is completed later.
//!   A row keyed by its message id takes the request id when a later line
//!   of the message brings one (and goes if the gateway has that request).
//!
//! # Incremental
//! `transcript_files` remembers, per file, how far it was read (the end of
//! its last complete line), with its device, inode, size and mtime and
//! SHA-256 fingerprints of the first and the last KiB before that point. An
//! unchanged file is not opened; a grown one is read from where the last
//! import stopped; a replaced, truncated or rewritten one (another inode, a
//! smaller size, other bytes under a fingerprint) is read again from the
//! start, which the rules above make harmless.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::names::NameCache;
use super::request_id;
use super::transcript::{self, Stretch, TranscriptMessage};
use crate::pricing::PriceTable;
use crate::usage::Usage;

/// Migration 3: import progress per file; transcript rows unique by
/// request id (the index migration 2 made, now unique); and an index of
/// transcript rows by time, for [`super::coverage`].
pub(crate) const MIGRATION: &str = r#"
CREATE TABLE transcript_files (
    path        TEXT PRIMARY KEY,
    device      INTEGER NOT NULL,
    inode       INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    mtime_ns    INTEGER NOT NULL,
    read_bytes  INTEGER NOT NULL,  -- the end of the last complete line read
    head        BLOB NOT NULL,     -- SHA-256 of the first KiB before read_bytes
    tail        BLOB NOT NULL,     -- SHA-256 of the last KiB before read_bytes
    imported_ms INTEGER NOT NULL
) WITHOUT ROWID;
DROP INDEX requests_transcript_request;
CREATE UNIQUE INDEX requests_transcript_request ON requests (request_id) WHERE source = 1;
CREATE INDEX requests_transcript_ts ON requests (ts_unix_ms) WHERE source = 1;
"#;

/// `source` of a row imported from a transcript.
const SOURCE_TRANSCRIPT: i64 = 1;
/// How much earlier than a transcript message its gateway row may be stamped.
const GATEWAY_BEFORE_MS: i64 = 24 * 3600 * 1000;
/// How much later (clock adjustments).
const GATEWAY_AFTER_MS: i64 = 3600 * 1000;
/// Messages written per transaction, so the gateway's writer never waits long.
const MESSAGES_PER_TRANSACTION: usize = 4096;
/// Bytes under each fingerprint.
const FINGERPRINT_BYTES: u64 = 1024;
/// Files read at once.
const MAX_READERS: usize = 4;
/// How often the gateway imports while it runs.
pub const IMPORT_EVERY: Duration = Duration::from_secs(300);

/// How far an import is; `files_total` and `bytes_total` count only the
/// files with something new to read.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What an import did.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Files with new bytes, read.
    pub files_read: u64,
    /// Files with nothing new since the last import, not opened.
    pub files_unchanged: u64,
    /// Files that could not be read (each logged with its reason).
    pub files_failed: u64,
    /// Distinct assistant messages with usage in what was read.
    pub messages_found: u64,
    /// New transcript rows.
    pub rows_added: u64,
    /// Transcript rows completed: a message read before while Claude Code
    /// was still writing it.
    pub rows_updated: u64,
    /// Messages the gateway had recorded itself.
    pub skipped_gateway: u64,
    /// Lines that looked like assistant messages but could not be used.
    pub unreadable_lines: u64,
}

/// What the imports have brought into the ledger so far, whoever ran them
/// (the gateway at start and every few minutes, `gatehouse import`, the
/// window's "Import now").
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportedHistory {
    /// Transcript files read at least once.
    pub transcript_files: u64,
    /// Requests known only from the transcripts (the gateway did not see them).
    pub requests: u64,
}

/// What the imports brought so far; `None` while no import has read a
/// transcript (or there is no ledger yet).
pub(crate) fn history(ledger_path: &Path) -> rusqlite::Result<Option<ImportedHistory>> {
    let Some(conn) = super::open_read_only(ledger_path)? else { return Ok(None) };
    // A ledger from before the import existed has no such table yet.
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'transcript_files')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    let files: i64 = conn.query_row("SELECT COUNT(*) FROM transcript_files", [], |row| row.get(0))?;
    if files == 0 {
        return Ok(None);
    }
    let requests: i64 =
        conn.query_row("SELECT COUNT(*) FROM requests WHERE source = ?1", [SOURCE_TRANSCRIPT], |row| row.get(0))?;
    Ok(Some(ImportedHistory { transcript_files: files as u64, requests: requests.max(0) as u64 }))
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot open the spend ledger {}: {source}", path.display())]
    OpenLedger { path: PathBuf, source: rusqlite::Error },
    #[error("cannot write the spend ledger {}: {source}; check the disk has room and try again", path.display())]
    WriteLedger { path: PathBuf, source: rusqlite::Error },
    #[error("cannot list Claude Code's transcripts in {}: {source}", path.display())]
    ListTranscripts { path: PathBuf, source: std::io::Error },
}

/// Imports every new line of `<claude_config_dir>/projects/**/*.jsonl` into
/// the ledger at `ledger_path` (created if missing). Blocking: call it off
/// any UI or async thread. `progress` is called after each file read.
pub fn import_transcripts(
    ledger_path: &Path,
    claude_config_dir: &Path,
    prices: &PriceTable,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportSummary, ImportError> {
    let open_error = |source| ImportError::OpenLedger { path: ledger_path.to_path_buf(), source };
    let write_error = |source| ImportError::WriteLedger { path: ledger_path.to_path_buf(), source };
    let mut conn = super::open(ledger_path).map_err(open_error)?;
    let projects = claude_config_dir.join("projects");
    let files = transcript_files(&projects)
        .map_err(|source| ImportError::ListTranscripts { path: projects.clone(), source })?;
    let known = known_files(&conn).map_err(open_error)?;

    let mut summary = ImportSummary::default();
    let mut to_read = Vec::new();
    for (path, meta) in files {
        match known.get(&path) {
            Some(seen) if seen.unchanged(&meta) => summary.files_unchanged += 1,
            seen => to_read.push((path, meta, seen.cloned())),
        }
    }

    let (reads, failed) = read_all(to_read, progress);
    summary.files_read = reads.len() as u64;
    summary.files_failed = failed;
    let mut messages: HashMap<String, TranscriptMessage> = HashMap::new();
    for read in &reads {
        summary.unreadable_lines += read.stretch.unreadable_lines;
        for message in &read.stretch.messages {
            match messages.get_mut(&message.message_id) {
                Some(seen) => {
                    seen.absorb(message);
                }
                None => {
                    messages.insert(message.message_id.clone(), message.clone());
                }
            }
        }
    }
    summary.messages_found = messages.len() as u64;
    let mut messages: Vec<TranscriptMessage> = messages.into_values().collect();
    messages.sort_by_key(|m| m.ts_unix_ms);

    let mut writer = RowWriter { prices, names: NameCache::default() };
    for batch in messages.chunks(MESSAGES_PER_TRANSACTION) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(write_error)?;
        writer.write(&tx, batch, &mut summary).map_err(write_error)?;
        tx.commit().map_err(write_error)?;
    }
    // Progress last: rows committed without it are only read again.
    save_progress(&mut conn, &reads, &known).map_err(write_error)?;
    Ok(summary)
}

/// The import the gateway runs on its own thread: now, then every `every`.
/// Dropping it stops the thread after the import in progress, if any.
pub struct PeriodicImport {
    _stop: mpsc::Sender<()>,
}

/// Starts importing on a background thread (never on the request path).
pub fn spawn_periodic(
    ledger_path: PathBuf,
    claude_config_dir: PathBuf,
    prices: PriceTable,
    every: Duration,
) -> std::io::Result<PeriodicImport> {
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new().name("transcript-import".into()).spawn(move || {
        loop {
            match import_transcripts(&ledger_path, &claude_config_dir, &prices, &mut |_| {}) {
                Ok(summary) if summary.rows_added + summary.rows_updated > 0 => tracing::info!(
                    added = summary.rows_added,
                    updated = summary.rows_updated,
                    skipped_gateway = summary.skipped_gateway,
                    "imported requests from Claude Code's transcripts"
                ),
                Ok(summary) => tracing::debug!(?summary, "transcript import: nothing new"),
                Err(error) => tracing::warn!("transcript import failed: {error}"),
            }
            if !matches!(stopped.recv_timeout(every), Err(mpsc::RecvTimeoutError::Timeout)) {
                return;
            }
        }
    })?;
    Ok(PeriodicImport { _stop: stop })
}

/// Whether Claude Code has written any transcript at all: with none, a new
/// user has no history, and there is nothing to import.
pub(crate) fn any_transcript(claude_dir: &Path) -> bool {
    transcript_files(&claude_dir.join("projects")).is_ok_and(|files| !files.is_empty())
}

/// Every `*.jsonl` below `projects`, with its metadata; none if it does not exist.
fn transcript_files(projects: &Path) -> std::io::Result<Vec<(PathBuf, std::fs::Metadata)>> {
    let mut files = Vec::new();
    let mut dirs = vec![projects.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // No transcripts yet (or a folder removed while listing).
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) if dir == projects => return Err(error),
            Err(error) => {
                tracing::warn!("cannot list {}: {error}", dir.display());
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // Folders are entered only when they are real folders: a link
            // cannot make the walk loop.
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => dirs.push(path),
                Ok(_) if path.extension().is_some_and(|e| e == "jsonl") => match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => files.push((path, meta)),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// A file as the last import left it.
#[derive(Debug, Clone, PartialEq)]
struct FileProgress {
    device: u64,
    inode: u64,
    size: u64,
    mtime_ns: i64,
    read_bytes: u64,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl FileProgress {
    fn same_file(&self, meta: &std::fs::Metadata) -> bool {
        self.device == meta.dev() && self.inode == meta.ino()
    }

    fn unchanged(&self, meta: &std::fs::Metadata) -> bool {
        self.same_file(meta) && self.size == meta.len() && self.mtime_ns == mtime_ns(meta)
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec())
}

fn known_files(conn: &Connection) -> rusqlite::Result<HashMap<PathBuf, FileProgress>> {
    let mut statement =
        conn.prepare("SELECT path, device, inode, size, mtime_ns, read_bytes, head, tail FROM transcript_files")?;
    let rows = statement.query_map([], |row| {
        let path: String = row.get(0)?;
        Ok((
            PathBuf::from(path),
            FileProgress {
                device: row.get::<_, i64>(1)? as u64,
                inode: row.get::<_, i64>(2)? as u64,
                size: row.get::<_, i64>(3)? as u64,
                mtime_ns: row.get(4)?,
                read_bytes: row.get::<_, i64>(5)? as u64,
                head: row.get(6)?,
                tail: row.get(7)?,
            },
        ))
    })?;
    rows.collect()
}

/// One file's new lines, and where the next import starts.
struct FileRead {
    path: PathBuf,
    stretch: Stretch,
    progress: FileProgress,
}

/// Reads the files on a few threads, reporting as each one finishes.
/// Returns what was read and how many files failed.
fn read_all(
    files: Vec<(PathBuf, std::fs::Metadata, Option<FileProgress>)>,
    progress: &mut dyn FnMut(ImportProgress),
) -> (Vec<FileRead>, u64) {
    let mut report = ImportProgress {
        files_total: files.len() as u64,
        bytes_total: files.iter().map(|(_, meta, seen)| new_bytes(meta, seen.as_ref())).sum(),
        ..ImportProgress::default()
    };
    progress(report);
    if files.is_empty() {
        return (Vec::new(), 0);
    }
    let next = AtomicUsize::new(0);
    let readers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_READERS).min(files.len());
    let (tx, rx) = mpsc::channel();
    let (mut reads, mut failed) = (Vec::new(), 0);
    std::thread::scope(|scope| {
        for _ in 0..readers {
            let (tx, next, files) = (tx.clone(), &next, &files);
            scope.spawn(move || {
                while let Some((path, meta, seen)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let result = read_file(path, meta, seen.as_ref());
                    if tx.send((new_bytes(meta, seen.as_ref()), path, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (bytes, path, result) in rx {
            match result {
                Ok(read) => reads.push(read),
                Err(error) => {
                    tracing::warn!("cannot read the transcript {}: {error}", path.display());
                    failed += 1;
                }
            }
            report.files_done += 1;
            report.bytes_done += bytes;
            progress(report);
        }
    });
    (reads, failed)
}

/// Bytes a file has beyond what was read of it (all of it, if it changed).
fn new_bytes(meta: &std::fs::Metadata, seen: Option<&FileProgress>) -> u64 {
    match seen {
        Some(seen) if seen.same_file(meta) && meta.len() >= seen.read_bytes => meta.len() - seen.read_bytes,
        _ => meta.len(),
    }
}

fn read_file(path: &Path, meta: &std::fs::Metadata, seen: Option<&FileProgress>) -> std::io::Result<FileRead> {
    let mut file = File::open(path)?;
    let start = match seen {
        Some(seen) if seen.same_file(meta) && meta.len() >= seen.read_bytes => {
            let (head, tail) = fingerprints(&file, seen.read_bytes)?;
            if head == seen.head && tail == seen.tail {
                seen.read_bytes
            } else {
                tracing::debug!("{} was rewritten; reading it again from the start", path.display());
                0
            }
        }
        _ => 0,
    };
    file.seek(SeekFrom::Start(start))?;
    // Up to the size seen when listing: a line being appended now is read next time.
    let reader = BufReader::with_capacity(256 * 1024, file.take(meta.len() - start));
    let stretch = transcript::read(reader)?;
    let read_bytes = start + stretch.complete_bytes;
    let file = File::open(path)?;
    let (head, tail) = fingerprints(&file, read_bytes)?;
    let progress = FileProgress {
        device: meta.dev(),
        inode: meta.ino(),
        size: meta.len(),
        mtime_ns: mtime_ns(meta),
        read_bytes,
        head,
        tail,
    };
    Ok(FileRead { path: path.to_path_buf(), stretch, progress })
}

/// SHA-256 of the first and of the last [`FINGERPRINT_BYTES`] before `end`.
fn fingerprints(file: &File, end: u64) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let length = end.min(FINGERPRINT_BYTES);
    let mut buffer = vec![0; length as usize];
    file.read_exact_at(&mut buffer, 0)?;
    let head = Sha256::digest(&buffer).to_vec();
    file.read_exact_at(&mut buffer, end - length)?;
    let tail = Sha256::digest(&buffer).to_vec();
    Ok((head, tail))
}

fn save_progress(
    conn: &mut Connection,
    reads: &[FileRead],
    known: &HashMap<PathBuf, FileProgress>,
) -> rusqlite::Result<()> {
    let now = jiff::Timestamp::now().as_millisecond();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut save = tx.prepare(
            "INSERT OR REPLACE INTO transcript_files
                 (path, device, inode, size, mtime_ns, read_bytes, head, tail, imported_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for FileRead { path, progress: p, .. } in reads {
            save.execute(params![
                path.to_string_lossy(),
                p.device as i64,
                p.inode as i64,
                p.size as i64,
                p.mtime_ns,
                p.read_bytes as i64,
                p.head,
                p.tail,
                now
            ])?;
        }
        // Files that are gone are forgotten; their rows stay.
        let mut forget = tx.prepare("DELETE FROM transcript_files WHERE path = ?1")?;
        for path in known.keys().filter(|path| !path.exists()) {
            forget.execute([path.to_string_lossy()])?;
        }
    }
    tx.commit()
}

/// Writes messages as rows, interning names once per import.
struct RowWriter<'p> {
    prices: &'p PriceTable,
    names: NameCache,
}

/// SQLite integers are signed; an absurd count is clamped.
fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl RowWriter<'_> {
    /// Writes one batch, sorted by time, inside the caller's write transaction.
    fn write(
        &mut self,
        conn: &Connection,
        batch: &[TranscriptMessage],
        summary: &mut ImportSummary,
    ) -> rusqlite::Result<()> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else { return Ok(()) };
        let gateway = gateway_request_ids(
            conn,
            first.ts_unix_ms.saturating_sub(GATEWAY_BEFORE_MS),
            last.ts_unix_ms.saturating_add(GATEWAY_AFTER_MS),
        )?;
        let price_version = self.names.id(conn, self.prices.version())?;
        for message in batch {
            if message.request_id.as_ref().is_some_and(|id| gateway.contains(id)) {
                // Read before without its request id, it was keyed by its
                // message id: the gateway's row replaces that one too.
                conn.prepare_cached("DELETE FROM requests WHERE source = 1 AND request_id = ?1")?
                    .execute([request_id::stored(&message.message_id)])?;
                summary.skipped_gateway += 1;
                continue;
            }
            let existing = match existing_row(conn, message.key())? {
                None if message.request_id.is_some() => existing_row(conn, &message.message_id)?,
                found => found,
            };
            match existing {
                None => {
                    self.insert(conn, message, price_version)?;
                    summary.rows_added += 1;
                }
                Some((id, stored)) => {
                    let mut merged = message.clone();
                    merged.absorb(&stored);
                    if (merged.usage, merged.ts_unix_ms, merged.complete, merged.key())
                        != (stored.usage, stored.ts_unix_ms, stored.complete, stored.key())
                    {
                        self.update(conn, id, &merged, price_version)?;
                        summary.rows_updated += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn insert(&mut self, conn: &Connection, m: &TranscriptMessage, price_version: i64) -> rusqlite::Result<()> {
        let model = self.names.id(conn, &m.model)?;
        let session = self.names.optional(conn, m.session.as_deref())?;
        let project = self.names.optional(conn, m.project.as_deref())?;
        let class = self.names.optional(conn, m.sidechain.then_some("subagent"))?;
        let cost = self.prices.cost_usd_with(&m.model, &m.usage, &m.extras);
        // Claude Code streams its requests; status 200 is all a transcript
        // line can say (failed requests write no usage).
        conn.prepare_cached(concat!(
            "INSERT INTO requests (id, source, request_id, client, model, upstream, status, streamed,
                 complete, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                 cache_read_tokens, cost_usd, price_version, ttfb_us, latency_us, session, device, project,
                 error_type, request_class, agent_type, prompt, compaction, flags)
             VALUES (",
            super::new_request_id!("?1"),
            ", ?2, ?3, NULL, ?4, NULL, 200, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL, ?13, NULL,
                 ?14, NULL, ?15, NULL, NULL, NULL, 0)"
        ))?
        .execute(params![
            m.ts_unix_ms,
            SOURCE_TRANSCRIPT,
            request_id::stored(m.key()),
            model,
            m.complete,
            count(m.usage.input_tokens),
            count(m.usage.output_tokens),
            count(m.usage.cache_write_5m_tokens),
            count(m.usage.cache_write_1h_tokens),
            count(m.usage.cache_read_tokens),
            cost,
            price_version,
            session,
            project,
            class,
        ])?;
        Ok(())
    }

    fn update(
        &mut self,
        conn: &Connection,
        id: i64,
        m: &TranscriptMessage,
        price_version: i64,
    ) -> rusqlite::Result<()> {
        let session = self.names.optional(conn, m.session.as_deref())?;
        let project = self.names.optional(conn, m.project.as_deref())?;
        let cost = self.prices.cost_usd_with(&m.model, &m.usage, &m.extras);
        // A new time is a new id (the id holds the time); a transcript row
        // has no window readings to follow it.
        conn.prepare_cached(concat!(
            "UPDATE requests SET id = CASE WHEN ts_unix_ms = ?2 THEN id ELSE ",
            super::new_request_id!("?2"),
            " END, complete = ?3, input_tokens = ?4, output_tokens = ?5,
                 cache_write_5m_tokens = ?6, cache_write_1h_tokens = ?7, cache_read_tokens = ?8, cost_usd = ?9,
                 price_version = ?10, session = COALESCE(session, ?11), project = COALESCE(project, ?12),
                 request_id = ?13
             WHERE id = ?1"
        ))?
        .execute(params![
            id,
            m.ts_unix_ms,
            m.complete,
            count(m.usage.input_tokens),
            count(m.usage.output_tokens),
            count(m.usage.cache_write_5m_tokens),
            count(m.usage.cache_write_1h_tokens),
            count(m.usage.cache_read_tokens),
            cost,
            price_version,
            session,
            project,
            request_id::stored(m.key()),
        ])?;
        Ok(())
    }
}

/// Request ids of gateway rows stamped in `[since_ms, until_ms]`.
fn gateway_request_ids(conn: &Connection, since_ms: i64, until_ms: i64) -> rusqlite::Result<HashSet<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT request_id FROM requests WHERE id >= ?1 AND id < ?2 AND source = 0 AND request_id IS NOT NULL",
    )?;
    let ids = statement.query_map([super::id_at(since_ms), super::id_at(until_ms.saturating_add(1))], |row| {
        Ok(request_id::read(row.get_ref(0)?))
    })?;
    ids.filter_map(Result::transpose).collect()
}

/// The transcript row with this `request_id`: its key, counts, time and
/// completeness, to fold into the new lines of the same message.
fn existing_row(conn: &Connection, key: &str) -> rusqlite::Result<Option<(i64, TranscriptMessage)>> {
    conn.prepare_cached(
        "SELECT id, ts_unix_ms, complete, input_tokens, output_tokens, cache_write_5m_tokens,
                cache_write_1h_tokens, cache_read_tokens, request_id
         FROM requests WHERE source = 1 AND request_id = ?1",
    )?
    .query_row([request_id::stored(key)], |row| {
        let tokens = |i| row.get::<_, i64>(i).map(|n| n.max(0) as u64);
        Ok((
            row.get(0)?,
            TranscriptMessage {
                message_id: String::new(),
                request_id: request_id::read(row.get_ref(8)?),
                model: String::new(),
                ts_unix_ms: row.get(1)?,
                session: None,
                project: None,
                sidechain: false,
                complete: row.get(2)?,
                usage: Usage {
                    input_tokens: tokens(3)?,
                    output_tokens: tokens(4)?,
                    cache_write_5m_tokens: tokens(5)?,
                    cache_write_1h_tokens: tokens(6)?,
                    cache_read_tokens: tokens(7)?,
                },
                extras: Default::default(),
            },
        ))
    })
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::transcript::tests::assistant_line;

    struct Fixture {
        dir: tempfile::TempDir,
    }

    /// A row as the tests compare it.
    #[derive(Debug, PartialEq)]
    struct Row {
        source: i64,
        request_id: String,
        model: String,
        output_tokens: i64,
        input_tokens: i64,
        cost_usd: Option<f64>,
        complete: bool,
        class: Option<String>,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture { dir: tempfile::tempdir().unwrap() }
        }

        fn claude_dir(&self) -> PathBuf {
            self.dir.path().join("claude")
        }

        fn ledger(&self) -> PathBuf {
            self.dir.path().join("ledger.sqlite3")
        }

        fn transcript(&self, relative: &str) -> PathBuf {
            let path = self.claude_dir().join("projects").join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            path
        }

        fn write(&self, relative: &str, text: &str) -> PathBuf {
            let path = self.transcript(relative);
            std::fs::write(&path, text).unwrap();
            path
        }

        fn append(&self, relative: &str, text: &str) {
            use std::io::Write;
            let path = self.transcript(relative);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }

        fn import(&self) -> ImportSummary {
            let mut last = ImportProgress::default();
            let summary =
                import_transcripts(&self.ledger(), &self.claude_dir(), &PriceTable::builtin(), &mut |p| last = p)
                    .unwrap();
            assert_eq!((last.files_done, last.bytes_done), (last.files_total, last.bytes_total), "{last:?}");
            summary
        }

        fn rows(&self) -> Vec<Row> {
            let conn = Connection::open(self.ledger()).unwrap();
            let mut statement = conn
                .prepare(concat!(
                    "SELECT source, ",
                    request_id::view_expression!("request_id"),
                    " AS id, m.value, output_tokens, input_tokens, cost_usd, complete, c.value
                     FROM requests LEFT JOIN names m ON m.id = requests.model
                     LEFT JOIN names c ON c.id = requests.request_class ORDER BY 2",
                ))
                .unwrap();
            statement
                .query_map([], |row| {
                    Ok(Row {
                        source: row.get(0)?,
                        request_id: row.get(1)?,
                        model: row.get(2)?,
                        output_tokens: row.get(3)?,
                        input_tokens: row.get(4)?,
                        cost_usd: row.get(5)?,
                        complete: row.get(6)?,
                        class: row.get(7)?,
                    })
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        }

        /// Rows recorded by the gateway's own writer, stamped at `ts`.
        fn gateway_rows(&self, request_ids: &[&str], ts: &str) {
            use crate::ledger::record::Exchange;
            let projects = crate::ledger::project::ProjectResolver::new(self.claude_dir());
            let (sender, writer) =
                crate::ledger::writer::LedgerWriter::spawn(&self.ledger(), PriceTable::builtin(), projects).unwrap();
            for request_id in request_ids {
                let body =
                    r#"{"id":"msg_x","type":"message","content":[],"usage":{"input_tokens":12,"output_tokens":5}}"#;
                sender.record(Exchange {
                    started_at: ts.parse().unwrap(),
                    request_id: Some(request_id.to_string()),
                    client: "claude-code".into(),
                    body: vec![bytes::Bytes::from_static(body.as_bytes())],
                    ..Exchange::sample()
                });
            }
            drop(sender);
            writer.join();
        }
    }

    fn line(message: &str, request: Option<&str>, ts: &str, output: u64, stop: bool) -> String {
        assistant_line(message, request, ts, 12, output, stop)
    }

    const T: &str = "2026-11-30T10:00:00Z";

    #[test]
    fn history_counts_what_any_import_brought() {
        let f = Fixture::new();
        assert_eq!(history(&f.ledger()).unwrap(), None, "no ledger yet");
        f.import();
        assert_eq!(history(&f.ledger()).unwrap(), None, "an import that found no transcript");
        f.write(
            "-home-me-app/s1.jsonl",
            &[line("msg_1", Some("req_1"), T, 3, true), line("msg_2", None, T, 4, true)].concat(),
        );
        f.write("-home-me-app/s2.jsonl", "{\"type\":\"user\"}\n");
        f.import();
        assert_eq!(history(&f.ledger()).unwrap(), Some(ImportedHistory { transcript_files: 2, requests: 2 }));
        // The gateway's row replaces the transcript's: not imported history any more.
        f.gateway_rows(&["req_1"], T);
        assert_eq!(history(&f.ledger()).unwrap(), Some(ImportedHistory { transcript_files: 2, requests: 1 }));
    }

    #[test]
    fn a_second_import_adds_nothing_and_opens_nothing() {
        let f = Fixture::new();
        f.write(
            "-home-me-app/s1.jsonl",
            &[
                "{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"hi\"}}\n".to_string(),
                line("msg_1", Some("req_1"), T, 3, false),
                line("msg_1", Some("req_1"), T, 159, true),
                line("msg_2", Some("req_2"), T, 40, true),
                line("msg_3", None, T, 41, true),
            ]
            .concat(),
        );
        let first = f.import();
        assert_eq!((first.files_read, first.messages_found, first.rows_added), (1, 3, 3), "{first:?}");
        let rows = f.rows();
        assert_eq!(rows.iter().map(|r| r.request_id.as_str()).collect::<Vec<_>>(), ["msg_3", "req_1", "req_2"]);
        assert_eq!(rows[1].output_tokens, 159, "the final count of a streamed message");
        assert!(rows.iter().all(|r| r.source == 1 && r.class.is_none() && r.cost_usd.is_some()));

        let second = f.import();
        assert_eq!(second, ImportSummary { files_unchanged: 1, ..ImportSummary::default() });
        assert_eq!(f.rows(), rows);
    }

    #[test]
    fn a_message_read_while_written_is_completed_by_the_next_import() {
        let f = Fixture::new();
        let relative = "-home-me-app/s1.jsonl";
        let partial = line("msg_1", Some("req_1"), T, 3, false);
        let last = line("msg_1", Some("req_1"), "2026-11-30T10:00:05Z", 159, true);
        // The final snapshot is half written when the first import runs.
        f.write(relative, &format!("{partial}{}", &last[..40]));
        assert_eq!(f.import().rows_added, 1);
        let before = f.rows();
        assert_eq!((before[0].output_tokens, before[0].complete), (3, false));

        f.append(relative, &last[40..]);
        let summary = f.import();
        assert_eq!((summary.rows_added, summary.rows_updated, summary.files_read), (0, 1, 1), "{summary:?}");
        let after = f.rows();
        assert_eq!(after.len(), 1);
        assert_eq!((after[0].output_tokens, after[0].complete), (159, true));
        assert!(after[0].cost_usd.unwrap() > before[0].cost_usd.unwrap(), "repriced with the final counts");
    }

    #[test]
    fn rewritten_truncated_and_replaced_files_never_duplicate() {
        let f = Fixture::new();
        let relative = "-home-me-app/s1.jsonl";
        let lines: Vec<String> =
            (1..=4).map(|i| line(&format!("msg_{i}"), Some(&format!("req_{i}")), T, 10 * i, true)).collect();
        f.write(relative, &lines[..3].concat());
        assert_eq!(f.import().rows_added, 3);

        // Rewritten in place, longer: the bytes under the fingerprints differ,
        // so it is read from the start; only the new message is added.
        let mut text = lines.concat();
        text.insert_str(0, "{\"type\":\"summary\",\"summary\":\"compacted\"}\n");
        f.write(relative, &text);
        let summary = f.import();
        assert_eq!((summary.rows_added, summary.messages_found), (1, 4), "{summary:?}");

        // Truncated to one line, then replaced by a new file (a new inode).
        f.write(relative, &lines[0]);
        assert_eq!(f.import().rows_added, 0);
        let path = f.transcript(relative);
        std::fs::remove_file(&path).unwrap();
        f.write(relative, &[lines[1].clone(), line("msg_5", Some("req_5"), T, 50, true)].concat());
        let summary = f.import();
        assert_eq!((summary.rows_added, summary.rows_updated), (1, 0), "{summary:?}");
        assert_eq!(f.rows().len(), 5);
    }

    #[test]
    fn the_same_message_in_several_transcripts_is_one_row() {
        let f = Fixture::new();
        let message = line("msg_1", Some("req_1"), T, 159, true);
        // A resumed session repeats earlier lines in its new file; a
        // subagent's transcript lives in a folder under the session.
        f.write("-home-me-app/s1.jsonl", &message);
        f.write("-home-me-app/s2.jsonl", &[message.clone(), line("msg_2", Some("req_2"), T, 5, true)].concat());
        f.write(
            "-home-me-app/s1/subagents/agent-a1.jsonl",
            &line("msg_3", Some("req_3"), T, 7, true).replace("\"isSidechain\":false", "\"isSidechain\":true"),
        );
        let summary = f.import();
        assert_eq!((summary.files_read, summary.messages_found, summary.rows_added), (3, 3, 3), "{summary:?}");
        // A later file repeating it again adds nothing either.
        f.write("-home-me-app/s3.jsonl", &message);
        assert_eq!(f.import().rows_added, 0);
        let rows = f.rows();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].class.as_deref(), Some("subagent"));
    }

    #[test]
    fn a_message_read_first_without_its_request_id_is_still_one_row() {
        let f = Fixture::new();
        // Lines without a requestId are keyed by their message id; when a
        // later line of the same message brings it, the row takes it.
        f.write(
            "-p/s.jsonl",
            &[line("msg_1", None, T, 3, false), line("msg_2", None, "2026-11-30T10:01:00Z", 4, false)].concat(),
        );
        assert_eq!(f.import().rows_added, 2);
        f.append("-p/s.jsonl", &line("msg_1", Some("req_1"), T, 159, true));
        let summary = f.import();
        assert_eq!((summary.rows_added, summary.rows_updated), (0, 1), "{summary:?}");
        let rows = f.rows();
        assert_eq!(
            rows.iter().map(|r| (r.request_id.as_str(), r.output_tokens)).collect::<Vec<_>>(),
            [("msg_2", 4), ("req_1", 159)]
        );
        // And when the gateway recorded it, the gateway's row replaces it.
        f.gateway_rows(&["req_2"], "2026-11-30T10:00:59Z");
        f.append("-p/s.jsonl", &line("msg_2", Some("req_2"), "2026-11-30T10:01:00Z", 40, true));
        assert_eq!(f.import().skipped_gateway, 1);
        let rows = f.rows();
        assert_eq!(
            rows.iter().map(|r| (r.request_id.as_str(), r.source)).collect::<Vec<_>>(),
            [("req_1", 1), ("req_2", 0)]
        );
    }

    #[test]
    fn an_unknown_model_has_no_price_rather_than_zero() {
        let f = Fixture::new();
        f.write("-p/s.jsonl", &line("msg_1", Some("req_1"), T, 5, true).replace("claude-sonnet-4-5", "claude-next-9"));
        f.import();
        let rows = f.rows();
        assert_eq!((rows[0].model.as_str(), rows[0].cost_usd), ("claude-next-9", None));
    }

    #[test]
    fn the_gateway_row_wins_whichever_is_recorded_first() {
        let f = Fixture::new();
        // Recorded by the gateway before the import runs: skipped.
        f.gateway_rows(&["req_1"], "2026-11-30T09:59:58Z");
        f.write(
            "-p/s.jsonl",
            &[line("msg_1", Some("req_1"), T, 159, true), line("msg_2", Some("req_2"), T, 5, true)].concat(),
        );
        let summary = f.import();
        assert_eq!((summary.skipped_gateway, summary.rows_added), (1, 1), "{summary:?}");
        // Recorded by the gateway after the import added it: the gateway's
        // writer removes the transcript row as it inserts its own.
        f.gateway_rows(&["req_2"], "2026-11-30T09:59:59Z");
        let rows = f.rows();
        assert_eq!(
            rows.iter().map(|r| (r.request_id.as_str(), r.source)).collect::<Vec<_>>(),
            [("req_1", 0), ("req_2", 0)]
        );
        // Reading the whole file again (rewritten) adds neither back.
        let text = std::fs::read_to_string(f.transcript("-p/s.jsonl")).unwrap();
        f.write("-p/s.jsonl", &format!("{{\"type\":\"summary\"}}\n{text}"));
        let summary = f.import();
        assert_eq!((summary.skipped_gateway, summary.rows_added, summary.rows_updated), (2, 0, 0), "{summary:?}");
        assert_eq!(f.rows().len(), 2);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// However a transcript grows between imports (cut mid-line
        /// anywhere), and even if a resumed session repeats it in another
        /// file, each message ends up as one row with its final counts.
        #[test]
        fn any_way_a_transcript_grows_gives_each_message_once_with_its_final_counts(
            snapshots in proptest::collection::vec(proptest::collection::vec(1u64..5000, 1..4), 1..6),
            cuts in proptest::collection::vec(0usize..1000, 0..6),
            repeated in proptest::bool::ANY,
        ) {
            let f = Fixture::new();
            let mut text = String::new();
            for (i, outputs) in snapshots.iter().enumerate() {
                let mut outputs = outputs.clone();
                outputs.sort();
                for (j, &output) in outputs.iter().enumerate() {
                    let last = j + 1 == outputs.len();
                    let (id, request) = (format!("msg_{i}"), format!("req_{i}"));
                    // Early snapshots carry Claude Code's placeholder input count.
                    text += &assistant_line(&id, Some(&request), T, if last { 12 } else { 1 }, output, last);
                }
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c * text.len() / 1000).collect();
            cuts.sort();
            cuts.push(text.len());
            let mut written = 0;
            for cut in cuts {
                f.append("-p/s.jsonl", &text[written..cut]);
                written = cut;
                f.import();
            }
            if repeated {
                f.write("-p/s2.jsonl", &text);
                f.import();
            }
            let rows = f.rows();
            proptest::prop_assert_eq!(rows.len(), snapshots.len());
            for (i, (row, outputs)) in rows.iter().zip(&snapshots).enumerate() {
                proptest::prop_assert_eq!(&row.request_id, &format!("req_{i}"));
                proptest::prop_assert_eq!(row.output_tokens, *outputs.iter().max().unwrap() as i64);
                proptest::prop_assert_eq!(row.input_tokens, 12);
                proptest::prop_assert!(row.complete && row.source == 1);
            }
        }
    }

    #[test]
    fn no_transcripts_is_an_empty_import() {
        let f = Fixture::new();
        assert_eq!(f.import(), ImportSummary::default());
        assert!(f.rows().is_empty());
    }

    #[test]
    fn coverage_counts_each_source_once() {
        let f = Fixture::new();
        f.gateway_rows(&["req_1", "req_2", "req_3"], T);
        f.write(
            "-p/s.jsonl",
            &[line("msg_9", Some("req_9"), T, 1, true), line("msg_3", Some("req_3"), T, 1, true)].concat(),
        );
        f.import();
        let conn = Connection::open(f.ledger()).unwrap();
        let ms = |t: &str| t.parse::<jiff::Timestamp>().unwrap().as_millisecond();
        let coverage =
            crate::ledger::coverage::coverage(&conn, ms("2026-11-30T00:00:00Z"), ms("2026-12-01T00:00:00Z")).unwrap();
        assert_eq!(coverage, crate::ledger::coverage::Coverage { gateway_requests: 3, imported_requests: 1 });
        assert_eq!(coverage.gateway_share(), Some(0.75));
        let empty = crate::ledger::coverage::coverage(&conn, 0, 1).unwrap();
        assert_eq!(empty.gateway_share(), None);
    }
}
