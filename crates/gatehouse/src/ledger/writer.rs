//! The ledger writer: a thread that turns finished exchanges into rows.
//!
//! The gateway sends each [`Exchange`] down an unbounded channel, which
//! never blocks the request path. The writer parses usage and prices each
//! exchange as it arrives (so the response body is freed at once), then
//! commits every row that has queued up as one transaction. Idle, a row is
//! committed as soon as it arrives; under load, the rows that arrive during
//! one commit go into the next, so a burst costs one fsync per commit and a
//! row waits at most for the commit in progress and then its own. That is
//! the window a `kill -9` can lose.
//!
//! A commit that fails (a full disk, a ledger that cannot be opened) loses
//! nothing: its rows stay in memory, up to [`MAX_PENDING_ROWS`], and are
//! retried with backoff, while [`LedgerStatus`] says why recording fails.
//! Before each commit the writer checks that the ledger file is still the
//! one it opened, and recreates it if it was deleted or replaced. After a
//! commit that leaves the WAL over [`WAL_LIMIT_BYTES`], the WAL is
//! checkpointed into the ledger and truncated.
//!
//! Each row also gets the subscription windows' readings its response
//! carried (see [`super::windows_tracker`]) and the [`super::flags`] that
//! explain a jump: a cache rebuilt after the session sat idle past the
//! cache's lifetime or switched models. A gateway row replaces any row the
//! transcript import made of the same request, in the same transaction, so
//! nothing is counted twice whoever comes first.
//!
//! Claude Code may write a session's transcript only after its first
//! response, so a session whose project is not yet known is looked up
//! again every few seconds for a while, and its rows filled in when found.

use std::collections::{HashMap, VecDeque};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use super::flags;
use super::health::{LedgerStatus, MAX_PENDING_ROWS};
use super::names::NameCache;
use super::project::{ProjectResolver, Resolution};
use super::prompt_id;
use super::record::{Exchange, Outcome};
use super::request_id;
use super::windows_tracker::WindowsTracker;
use crate::anthropic::ratelimit::Unified;
use crate::anthropic::request::Hints;
use crate::dashboard::rollup;
use crate::pricing::PriceTable;
use crate::usage::Usage;

/// Most exchanges taken off the channel for one commit.
const MAX_BATCH: usize = 512;
/// The first wait before a failed commit is tried again; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// A WAL larger than this after a commit is checkpointed and truncated.
const WAL_LIMIT_BYTES: u64 = 1024 * 1024;
/// How often unresolved sessions are looked up again.
const PROJECT_RETRY_EVERY: Duration = Duration::from_secs(2);
/// How often a test's hold on commits is looked at (see `failpoint`).
const HOLD_POLL: Duration = Duration::from_millis(20);
/// How long a session's project is looked for before giving up.
const PROJECT_RETRY_FOR: Duration = Duration::from_secs(600);
/// Sessions whose last request the writer remembers, for the cache-rebuild
/// flags; past this it starts afresh (and asks the ledger).
const SESSIONS_REMEMBERED: usize = 10_000;
/// How long a prompt cache lives without being read: 5 minutes, or an hour
/// for 1-hour cache marks.
const CACHE_TTL_5M_MS: i64 = 5 * 60 * 1000;
const CACHE_TTL_1H_MS: i64 = 60 * 60 * 1000;

/// The sending side, held by the gateway. Cheap to clone.
#[derive(Clone)]
pub struct LedgerSender {
    tx: mpsc::Sender<Exchange>,
    status: Arc<Mutex<LedgerStatus>>,
}

impl LedgerSender {
    /// Queues an exchange. If the writer has died the row is lost, which is
    /// logged, but the client's request is never failed over bookkeeping.
    pub fn record(&self, exchange: Exchange) {
        if self.tx.send(exchange).is_err() {
            tracing::error!("ledger writer is not running; a request was not recorded");
        }
    }

    /// How recording is going.
    pub fn status(&self) -> LedgerStatus {
        lock(&self.status).clone()
    }
}

/// The writer thread. Dropping every [`LedgerSender`] lets it drain and stop.
pub struct LedgerWriter {
    thread: JoinHandle<()>,
}

impl LedgerWriter {
    /// Opens (creating or migrating) the ledger at `path` and starts writing to it.
    pub fn spawn(
        path: &Path,
        prices: PriceTable,
        projects: ProjectResolver,
    ) -> rusqlite::Result<(LedgerSender, LedgerWriter)> {
        let ledger = Ledger::open(path)?;
        let status = Arc::new(Mutex::new(LedgerStatus::default()));
        let (tx, rx) = mpsc::channel();
        let writer = Writer {
            ledger,
            prices,
            projects,
            unresolved: Unresolved::new(),
            projects_checked: Instant::now(),
            pending: VecDeque::new(),
            backfills: Vec::new(),
            names: NameCache::default(),
            windows: WindowsTracker::default(),
            cached_for: 1,
            sessions: HashMap::new(),
            failing: None,
            backoff: RETRY_FIRST,
            status: status.clone(),
            hold: crate::failpoint::ledger_hold_file(),
        };
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer.run(rx))
            .expect("spawning the ledger writer thread");
        Ok((LedgerSender { tx, status }, LedgerWriter { thread }))
    }

    /// Waits until every queued row is committed. Call after the senders are dropped.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the ledger writer panicked");
        }
    }
}

/// Sessions whose project directory is not known yet, with when first seen.
type Unresolved = HashMap<String, Instant>;

/// Which file an open ledger is: device and inode.
type FileId = (u64, u64);

fn file_id(path: &Path) -> std::io::Result<FileId> {
    std::fs::metadata(path).map(|m| (m.dev(), m.ino()))
}

/// The ledger file and the connection writing it.
struct Ledger {
    path: PathBuf,
    wal: PathBuf,
    /// `None` after the file vanished and could not be recreated yet.
    conn: Option<Connection>,
    file: Option<FileId>,
    /// Counts the connections opened: ids cached from an earlier one may
    /// not exist in the file opened since.
    opened: u64,
}

impl Ledger {
    fn open(path: &Path) -> rusqlite::Result<Ledger> {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let mut ledger =
            Ledger { path: path.to_path_buf(), wal: PathBuf::from(wal), conn: None, file: None, opened: 0 };
        ledger.connection()?;
        Ok(ledger)
    }

    /// The connection to write with. If the file was deleted or replaced
    /// since it was opened, rows written through the old connection would
    /// land in a file nobody can read any more: the ledger is opened again,
    /// which creates a new one where it was deleted.
    fn connection(&mut self) -> rusqlite::Result<&mut Connection> {
        if self.conn.is_some() {
            // A path that cannot be looked up any more (deleted, or its
            // directory gone) reaches no file a reader could open either.
            let moved = match file_id(&self.path) {
                Ok(id) => (Some(id) != self.file).then_some("replaced"),
                Err(_) => Some("deleted"),
            };
            if let Some(how) = moved {
                tracing::warn!(
                    ledger = %self.path.display(),
                    "the spend ledger was {how} while the gateway ran; new requests are recorded in a ledger \
                     opened again at the same path (the rows of the old file are not copied into it)"
                );
                // Closed first: closing checkpoints into the old file and
                // deletes its WAL, which a new ledger at the same path must
                // never pick up.
                if let Some(Err((_, error))) = self.conn.take().map(Connection::close) {
                    tracing::debug!("closing the old ledger: {error}");
                }
            }
        }
        match self.conn {
            Some(ref mut conn) => Ok(conn),
            None => {
                let conn = super::open(&self.path)?;
                self.file = file_id(&self.path).ok();
                self.opened += 1;
                Ok(self.conn.insert(conn))
            }
        }
    }

    /// Keeps the WAL small: once a commit leaves it over
    /// [`WAL_LIMIT_BYTES`], its pages are copied into the ledger and it is
    /// truncated. SQLite's own automatic checkpoint lets the WAL be reused
    /// but never shrinks the file (measured: 2.5 MB after 200 commits).
    fn checkpoint_if_large(&self) {
        let Some(conn) = &self.conn else { return };
        if std::fs::metadata(&self.wal).map_or(true, |m| m.len() <= WAL_LIMIT_BYTES) {
            return;
        }
        match conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0)) {
            Ok(0) => tracing::debug!("checkpointed and truncated the ledger's WAL"),
            Ok(_) => tracing::debug!("readers kept the ledger's WAL busy; checkpointing again after the next commit"),
            Err(error) => tracing::warn!("cannot checkpoint the ledger's WAL: {error}"),
        }
    }
}

/// A row ready to insert; small, so many can wait while the ledger cannot be written.
struct Row {
    started_at: jiff::Timestamp,
    request_id: Option<String>,
    client: Arc<str>,
    model: String,
    upstream: Arc<str>,
    status: u16,
    streamed: bool,
    complete: bool,
    usage: Usage,
    cost_usd: Option<f64>,
    ttfb_us: Option<i64>,
    latency_us: i64,
    session_id: Option<String>,
    device_id: Option<String>,
    project: Option<String>,
    error_type: Option<String>,
    hints: Hints,
    flags: i64,
    /// The response's unified rate-limit headers, parsed.
    unified: Option<Unified>,
}

/// A session's latest request, for telling a rebuilt cache.
#[derive(Debug, Clone)]
struct LastRequest {
    at_ms: i64,
    model: String,
}

struct Writer {
    ledger: Ledger,
    prices: PriceTable,
    projects: ProjectResolver,
    unresolved: Unresolved,
    projects_checked: Instant,
    /// Rows not committed yet: the next batch, and all that failed before it.
    pending: VecDeque<Row>,
    /// Sessions whose project was found, to fill in on the next commit.
    backfills: Vec<(String, String)>,
    names: NameCache,
    windows: WindowsTracker,
    /// Which of the ledger's connections `names` and `windows` belong to.
    cached_for: u64,
    sessions: HashMap<String, LastRequest>,
    /// While commits fail: when to try again.
    failing: Option<Instant>,
    backoff: Duration,
    status: Arc<Mutex<LedgerStatus>>,
    /// A test's hold: no commit while this file exists (see `failpoint`).
    hold: Option<PathBuf>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Exchange>) {
        loop {
            let next = match self.next_wake() {
                None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
                Some(wait) => rx.recv_timeout(wait),
            };
            let disconnected = match next {
                Ok(first) => {
                    self.add(first);
                    // Whatever queued up meanwhile goes into the same commit.
                    for next in rx.try_iter().take(MAX_BATCH - 1) {
                        self.add(next);
                    }
                    false
                }
                Err(mpsc::RecvTimeoutError::Timeout) => false,
                Err(mpsc::RecvTimeoutError::Disconnected) => true,
            };
            if !self.unresolved.is_empty() && self.projects_checked.elapsed() >= PROJECT_RETRY_EVERY {
                self.retry_unresolved();
            }
            if disconnected {
                self.finish();
                return;
            }
            if self.failing.is_none_or(|retry_at| Instant::now() >= retry_at) && !self.held() {
                self.flush();
            }
        }
    }

    /// How long to wait for the next exchange before there is work anyway.
    fn next_wake(&self) -> Option<Duration> {
        let retry = self.failing.filter(|_| self.has_work()).map(|at| at.saturating_duration_since(Instant::now()));
        let projects = (!self.unresolved.is_empty())
            .then(|| (self.projects_checked + PROJECT_RETRY_EVERY).saturating_duration_since(Instant::now()));
        // A test's hold is looked at again soon.
        let retry = if self.has_work() && self.held() { Some(HOLD_POLL) } else { retry };
        match (retry, projects) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn held(&self) -> bool {
        self.hold.as_deref().is_some_and(Path::exists)
    }

    fn has_work(&self) -> bool {
        !self.pending.is_empty() || !self.backfills.is_empty()
    }

    /// Turns an exchange into a pending row, unless too many already wait.
    fn add(&mut self, exchange: Exchange) {
        if self.pending.len() >= MAX_PENDING_ROWS {
            let mut status = lock(&self.status);
            status.dropped_rows += 1;
            if status.dropped_rows == 1 {
                tracing::error!(
                    "{MAX_PENDING_ROWS} requests wait to be recorded while the ledger cannot be written; \
                     further requests are served but not recorded"
                );
            }
            return;
        }
        let row = self.row(exchange);
        self.pending.push_back(row);
        if self.failing.is_some() {
            lock(&self.status).pending_rows = self.pending.len();
        }
    }

    fn row(&mut self, exchange: Exchange) -> Row {
        let summary = exchange.summary();
        let usage = summary.usage.unwrap_or_default();
        // Priced by the model the client asked for, as Claude Code does.
        let cost_usd = self.prices.cost_usd_with(&exchange.model, &usage, &summary.extras);
        let success = (200..300).contains(&exchange.status);
        let complete = exchange.outcome == Outcome::Relayed && (!success || summary.finished);
        let error_type = summary.error_type.or(exchange.gateway_error.map(str::to_string)).or(match exchange.outcome {
            // Every byte arrived, yet a successful answer did not finish: the
            // upstream ended it early (a JSON body cut short by a closed
            // connection; streams are labelled by the gateway).
            Outcome::Relayed if !complete => Some("upstream_truncated".to_string()),
            Outcome::Relayed => None,
            Outcome::UpstreamFailed => Some("upstream_failed".to_string()),
            Outcome::ClientGone => Some("client_gone".to_string()),
        });
        let project = match exchange.session_id.as_deref() {
            // A miss costs a directory scan; `retry_unresolved` looks again
            // later and fills in the row if found.
            Some(session) if self.unresolved.contains_key(session) => None,
            Some(session) => match self.projects.resolve(session) {
                Resolution::Known(project) => Some(project),
                Resolution::Found(project) => {
                    // Earlier rows of the session are filled in too.
                    self.backfills.push((project.clone(), session.to_string()));
                    Some(project)
                }
                Resolution::NotFound => {
                    self.unresolved.insert(session.to_string(), Instant::now());
                    None
                }
            },
            None => None,
        };
        let mut flags = self.cache_rebuild(&exchange, &usage, success);
        if exchange.unified_headers.is_some() {
            flags |= flags::WINDOW_HEADERS;
        }
        flags |= exchange.flags;
        let unified = exchange.unified_headers.as_deref().map(Unified::from_lines);
        Row {
            started_at: exchange.started_at,
            request_id: exchange.request_id,
            client: exchange.client,
            model: exchange.model,
            upstream: exchange.upstream,
            status: exchange.status,
            streamed: exchange.streamed,
            complete,
            usage,
            cost_usd,
            ttfb_us: exchange.ttfb.map(micros),
            latency_us: micros(exchange.latency),
            session_id: exchange.session_id,
            device_id: exchange.device_id,
            project,
            error_type,
            hints: exchange.hints,
            flags,
            unified,
        }
    }

    /// The cache-rebuild flags of a successful request: a large cache write
    /// after its session sat idle past the cache's lifetime, or after the
    /// session's previous request used another model. Remembers the request
    /// as the session's latest.
    fn cache_rebuild(&mut self, exchange: &Exchange, usage: &Usage, success: bool) -> i64 {
        let Some(session) = exchange.session_id.as_deref() else { return 0 };
        let at_ms = exchange.started_at.as_millisecond();
        let previous = match self.sessions.get(session) {
            Some(previous) => Some(previous.clone()),
            None => self.last_request_in_ledger(session),
        };
        if success {
            if self.sessions.len() >= SESSIONS_REMEMBERED {
                self.sessions.clear();
            }
            self.sessions.insert(session.to_string(), LastRequest { at_ms, model: exchange.model.clone() });
        }
        let written = usage.cache_write_5m_tokens + usage.cache_write_1h_tokens;
        let Some(previous) = previous.filter(|_| success) else { return 0 };
        if written < flags::REBUILD_MIN_TOKENS || written <= usage.cache_read_tokens {
            return 0;
        }
        let ttl = if usage.cache_write_1h_tokens > 0 { CACHE_TTL_1H_MS } else { CACHE_TTL_5M_MS };
        let mut found = 0;
        if at_ms - previous.at_ms > ttl {
            found |= flags::CACHE_REBUILD_IDLE;
        }
        if previous.model != exchange.model {
            found |= flags::CACHE_REBUILD_MODEL_SWITCH;
        }
        found
    }

    /// The session's latest successful request in the ledger, for a session
    /// this writer has not seen yet (after a restart).
    fn last_request_in_ledger(&mut self, session: &str) -> Option<LastRequest> {
        let conn = self.ledger.connection().ok()?;
        let lookup = || -> rusqlite::Result<Option<LastRequest>> {
            let Some(session) = name_id(conn, session)? else { return Ok(None) };
            let Some((first, last)) = rollup::session_span(conn, session)? else { return Ok(None) };
            conn.prepare_cached(
                "SELECT r.ts_unix_ms, m.value FROM requests r JOIN names m ON m.id = r.model
                 WHERE r.id >= ?2 AND r.id < ?3 AND r.session = ?1 AND r.status BETWEEN 200 AND 299
                 ORDER BY r.id DESC LIMIT 1",
            )?
            .query_row(params![session, super::id_at(first), super::id_at(last + 1)], |row| {
                Ok(LastRequest { at_ms: row.get(0)?, model: row.get(1)? })
            })
            .optional()
        };
        lookup().unwrap_or_else(|error| {
            tracing::debug!("cannot look up the session's last request: {error}");
            None
        })
    }

    /// Looks unresolved sessions up again; found ones are filled in on the next commit.
    fn retry_unresolved(&mut self) {
        self.projects_checked = Instant::now();
        let (projects, backfills) = (&mut self.projects, &mut self.backfills);
        self.unresolved.retain(|session, first_seen| match projects.resolve(session) {
            Resolution::Found(project) | Resolution::Known(project) => {
                backfills.push((project, session.clone()));
                false
            }
            Resolution::NotFound => first_seen.elapsed() < PROJECT_RETRY_FOR,
        });
    }

    /// Commits every pending row; on failure keeps them and schedules a retry.
    fn flush(&mut self) {
        if !self.has_work() {
            return;
        }
        let price_version = self.prices.version();
        // A ledger opened again (deleted, replaced) knows none of the cached ids.
        if self.ledger.connection().is_ok() && self.ledger.opened != self.cached_for {
            self.names.forget();
            self.windows.forget();
            self.cached_for = self.ledger.opened;
        }
        let (names, windows) = (&mut self.names, &mut self.windows);
        let result = self.ledger.connection().and_then(|conn| {
            write_rows(conn, Batch { price_version, rows: &self.pending, backfills: &self.backfills, names, windows })
        });
        match result {
            Ok(()) => {
                if self.failing.take().is_some() {
                    tracing::info!(
                        rows = self.pending.len(),
                        "the spend ledger can be written again; the requests kept meanwhile are recorded"
                    );
                    let mut status = lock(&self.status);
                    status.error = None;
                    status.failing_since = None;
                    status.pending_rows = 0;
                }
                self.pending.clear();
                self.backfills.clear();
                self.backoff = RETRY_FIRST;
                self.ledger.checkpoint_if_large();
            }
            Err(error) => {
                // Ids handed out inside the rolled-back transaction are gone.
                self.names.forget();
                self.windows.forget();
                let error = format!("cannot write {}: {error}", self.ledger.path.display());
                let mut status = lock(&self.status);
                if status.error.as_ref() != Some(&error) {
                    tracing::error!(
                        rows = self.pending.len(),
                        "{error}; the requests are kept in memory and retried until it works"
                    );
                }
                status.failing_since.get_or_insert_with(|| jiff::Timestamp::now().to_string());
                status.error = Some(error);
                status.pending_rows = self.pending.len();
                self.failing = Some(Instant::now() + self.backoff);
                self.backoff = (self.backoff * 2).min(RETRY_MAX);
            }
        }
    }

    /// On shutdown: one last try, and a clear count of what is lost if it fails.
    fn finish(&mut self) {
        self.flush();
        if self.failing.is_some() && !self.pending.is_empty() {
            let status = lock(&self.status);
            tracing::error!(
                "the gateway is stopping while the ledger cannot be written ({}): {} served requests are not \
                 recorded",
                status.error.as_deref().unwrap_or("unknown error"),
                self.pending.len()
            );
        }
    }
}

/// SQLite integers are signed; an absurd count from a broken upstream is
/// clamped rather than failing the whole batch.
fn sql_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Microseconds, as the ledger stores durations.
fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

/// What one commit writes.
struct Batch<'a> {
    price_version: &'a str,
    rows: &'a VecDeque<Row>,
    backfills: &'a [(String, String)],
    names: &'a mut NameCache,
    windows: &'a mut WindowsTracker,
}

fn write_rows(conn: &mut Connection, batch: Batch<'_>) -> rusqlite::Result<()> {
    let Batch { price_version, rows, backfills, names, windows } = batch;
    let tx = conn.transaction()?;
    {
        let price_version = names.id(&tx, price_version)?;
        for row in rows {
            let ids = [
                Some(names.id(&tx, &row.client)?),
                Some(names.id(&tx, &row.model)?),
                Some(names.id(&tx, &row.upstream)?),
                names.optional(&tx, row.session_id.as_deref())?,
                names.optional(&tx, row.device_id.as_deref())?,
                names.optional(&tx, row.project.as_deref())?,
                names.optional(&tx, row.error_type.as_deref())?,
                names.optional(&tx, row.hints.request_class.as_deref())?,
                names.optional(&tx, row.hints.agent_type.as_deref())?,
                names.optional(&tx, row.hints.compaction.as_deref())?,
            ];
            let [client, model, upstream, session, device, project, error_type, class, agent, compaction] = ids;
            let prompt = row.hints.prompt_id.as_deref().map(prompt_id::stored);
            tx.prepare_cached(concat!(
                "INSERT INTO requests (id, source, request_id, client, model, upstream, status, streamed,
                    complete, input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens,
                    cache_read_tokens, cost_usd, price_version, ttfb_us, latency_us, session, device, project,
                    error_type, request_class, agent_type, prompt, compaction, flags)
                 VALUES (",
                super::new_request_id!("?1"),
                ", 0, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                    ?20, ?21, ?22, ?23, ?24, ?25, ?26)"
            ))?
            .execute(params![
                row.started_at.as_millisecond(),
                row.request_id.as_deref().map(request_id::stored),
                client,
                model,
                upstream,
                row.status,
                row.streamed,
                row.complete,
                sql_count(row.usage.input_tokens),
                sql_count(row.usage.output_tokens),
                sql_count(row.usage.cache_write_5m_tokens),
                sql_count(row.usage.cache_write_1h_tokens),
                sql_count(row.usage.cache_read_tokens),
                row.cost_usd,
                price_version,
                row.ttfb_us,
                row.latency_us,
                session,
                device,
                project,
                error_type,
                class,
                agent,
                prompt,
                compaction,
                row.flags,
            ])?;
            let id = tx.last_insert_rowid();
            if let Some(request_id) = &row.request_id {
                // The gateway's row wins over the transcript import's.
                tx.prepare_cached("DELETE FROM requests WHERE source = 1 AND request_id = ?1")?
                    .execute(params![request_id::stored(request_id)])?;
            }
            if let Some(unified) = &row.unified {
                windows.record(&tx, id, unified)?;
            }
        }
        // After the inserts, so rows of this very batch are filled in too.
        for (project, session) in backfills {
            let Some(session) = name_id(&tx, session)? else { continue };
            let Some((first, last)) = rollup::session_span(&tx, session)? else { continue };
            let project = names.id(&tx, project)?;
            tx.prepare_cached(
                "UPDATE requests SET project = ?1
                 WHERE id >= ?3 AND id < ?4 AND session = ?2 AND project IS NULL",
            )?
            .execute(params![project, session, super::id_at(first), super::id_at(last + 1)])?;
        }
    }
    tx.commit()
}

/// The id `names` gives `value`, if it has one.
fn name_id(conn: &Connection, value: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM names WHERE value = ?1")?.query_row(params![value], |row| row.get(0)).optional()
}

/// A poisoned lock only means another thread panicked mid-update of plain
/// data; the data is still the best there is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange() -> Exchange {
        Exchange::sample()
    }

    fn rows(path: &Path) -> usize {
        Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|conn| conn.query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0)))
            .unwrap_or(0)
    }

    fn wait_until(sender: &LedgerSender, what: &str, done: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {:?}", sender.status());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// An exchange of session `s-1` at `minute`, writing `cache_write`
    /// 1-hour cache tokens, whose response said the 5-hour window is at `five_hour`.
    fn subscription_turn(minute: i64, model: &str, cache_write: u64, five_hour: &str) -> Exchange {
        let mut turn = exchange();
        turn.started_at = jiff::Timestamp::from_second(1_764_583_200 + minute * 60).unwrap();
        turn.model = model.to_string();
        turn.session_id = Some("s-1".to_string());
        turn.request_id = Some(format!("req_{minute}"));
        turn.body = vec![bytes::Bytes::from(format!(
            r#"{{"id":"msg_{minute}","type":"message","content":[],"usage":{{"input_tokens":3,"output_tokens":9,
            "cache_creation_input_tokens":{cache_write},"cache_read_input_tokens":500,
            "cache_creation":{{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":{cache_write}}}}}}}"#
        ))];
        turn.unified_headers = Some(format!(
            "status\tallowed\n5h-utilization\t{five_hour}\n5h-reset\t1764600000\n7d-utilization\t0.3\n\
             7d-reset\t1765000000\n7d_oi-utilization\t0.05\n"
        ));
        turn
    }

    #[test]
    fn each_row_keeps_its_hints_its_window_rise_and_what_rebuilt_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let projects = ProjectResolver::new(dir.path().join("claude"));
        let (sender, writer) = LedgerWriter::spawn(&path, PriceTable::builtin(), projects).unwrap();
        let mut first = subscription_turn(0, "claude-sonnet-4-5", 20_000, "0.10");
        first.hints = Hints {
            request_class: Some("main".into()),
            agent_type: None,
            prompt_id: Some("p-1".into()),
            compaction: None,
        };
        sender.record(first);
        // Two minutes later, a small write: the cache was still warm.
        let mut warm = subscription_turn(2, "claude-sonnet-4-5", 100, "0.10");
        warm.hints.prompt_id = Some(PROMPT_UUID.into());
        sender.record(warm);
        // Ninety minutes later the 1-hour cache has expired: rebuilt.
        let mut idle = subscription_turn(92, "claude-sonnet-4-5", 30_000, "0.22");
        idle.hints.request_class = Some("subagent".into());
        idle.hints.agent_type = Some("Explore".into());
        sender.record(idle);
        // Right after, another model: its cache is written from scratch.
        let mut switched = subscription_turn(93, "claude-haiku-4-5", 30_000, "0.25");
        switched.hints.compaction = Some("manual".into());
        switched.hints.request_class = Some("compaction".into());
        sender.record(switched);
        drop(sender);
        writer.join();

        let conn = Connection::open(&path).unwrap();
        type Text = Option<String>;
        let rows: Vec<(String, Text, Text, Text, i64, Option<f64>)> = conn
            .prepare(
                "SELECT r.request_id, r.request_class, r.agent_type, r.compaction, r.flags,
                    (SELECT delta FROM window_readings wr JOIN windows w ON w.id = wr.window
                     WHERE wr.request = r.id AND w.name = '5h')
                 FROM request_rows r ORDER BY r.id",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let rounded = |delta: Option<f64>| delta.map(|d| (d * 100.0).round() as i64);
        let w = flags::WINDOW_HEADERS;
        assert_eq!(
            rows.iter()
                .map(|r| (r.0.as_str(), r.1.as_deref(), r.2.as_deref(), r.3.as_deref(), r.4, rounded(r.5)))
                .collect::<Vec<_>>(),
            vec![
                ("req_0", Some("main"), None, None, w, None),
                ("req_2", None, None, None, w, None),
                ("req_92", Some("subagent"), Some("Explore"), None, w | flags::CACHE_REBUILD_IDLE, Some(12)),
                ("req_93", Some("compaction"), None, Some("manual"), w | flags::CACHE_REBUILD_MODEL_SWITCH, Some(3)),
            ]
        );
        let windows: Vec<String> = conn
            .prepare("SELECT name FROM windows ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(windows, ["5h", "7d", "7d_oi", "unified"], "unknown windows are kept");
        let prompt: Option<String> =
            conn.query_row("SELECT prompt_id FROM request_rows WHERE request_id = 'req_0'", [], |r| r.get(0)).unwrap();
        assert_eq!(prompt.as_deref(), Some("p-1"));
        let (stored, prompt): (String, String) = conn
            .query_row(
                "SELECT typeof(r.prompt), v.prompt_id FROM requests r JOIN request_rows v ON v.id = r.id
                 WHERE v.request_id = 'req_2'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((stored.as_str(), prompt.as_str()), ("blob", PROMPT_UUID), "a UUID is kept as its 16 bytes");
        let interned: i64 = conn
            .query_row("SELECT COUNT(*) FROM names WHERE value IN ('p-1', ?1)", [PROMPT_UUID], |r| r.get(0))
            .unwrap();
        assert_eq!(interned, 0, "prompt ids are not interned");
    }

    const PROMPT_UUID: &str = "0f8e2c1a-5b3d-4e6f-9a7b-1c2d3e4f5a6b";

    /// The ledger keeps no index on the session: a writer that has not seen
    /// a session finds its last request through the session's span in the
    /// rollup, so a restart loses no cache-rebuild flag.
    #[test]
    fn a_restarted_writer_finds_the_sessions_last_request_in_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let record = |turns: Vec<Exchange>| {
            let projects = ProjectResolver::new(dir.path().join("claude"));
            let (sender, writer) = LedgerWriter::spawn(&path, PriceTable::builtin(), projects).unwrap();
            for turn in turns {
                sender.record(turn);
            }
            drop(sender);
            writer.join();
        };
        let mut other = subscription_turn(1, "claude-haiku-4-5", 100, "0.10");
        other.session_id = Some("s-2".to_string());
        record(vec![subscription_turn(0, "claude-sonnet-4-5", 20_000, "0.10"), other]);
        // A new writer; s-1's last request (sonnet, minute 0) is only in the ledger.
        record(vec![subscription_turn(2, "claude-haiku-4-5", 30_000, "0.10")]);
        record(vec![subscription_turn(95, "claude-haiku-4-5", 30_000, "0.20")]);
        let conn = Connection::open(&path).unwrap();
        let flags: Vec<(String, i64)> = conn
            .prepare("SELECT request_id, flags FROM request_rows ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? & !flags::WINDOW_HEADERS)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            flags,
            [
                ("req_0".to_string(), 0),
                ("req_1".to_string(), 0),
                ("req_2".to_string(), flags::CACHE_REBUILD_MODEL_SWITCH),
                ("req_95".to_string(), flags::CACHE_REBUILD_IDLE),
            ]
        );
    }

    /// A session whose project is found later (its transcript appears after
    /// its first requests) has every row filled in, found by its span.
    #[test]
    fn a_session_resolved_later_gets_its_project_on_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let projects = ProjectResolver::new(dir.path().join("claude"));
        let (sender, writer) = LedgerWriter::spawn(&path, PriceTable::builtin(), projects).unwrap();
        let mut early = subscription_turn(0, "claude-sonnet-4-5", 100, "0.10");
        early.session_id = Some("s-late".to_string());
        let mut other = subscription_turn(1, "claude-sonnet-4-5", 100, "0.10");
        other.session_id = Some("s-other".to_string());
        sender.record(early);
        sender.record(other);
        let conn = Connection::open(&path).unwrap();
        let projects = || -> Vec<(String, Option<String>)> {
            conn.prepare("SELECT request_id, project FROM request_rows ORDER BY id")
                .and_then(|mut s| s.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect())
                .unwrap_or_default()
        };
        wait_until(&sender, "the first rows", || projects().len() == 2);
        let folder = dir.path().join("claude").join("projects").join("-work-app");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("s-late.jsonl"), "{\"cwd\":\"/work/app\"}\n").unwrap();
        wait_until(&sender, "the project filled in", || projects()[0].1.is_some());
        let mut later = subscription_turn(3, "claude-sonnet-4-5", 100, "0.10");
        later.session_id = Some("s-late".to_string());
        sender.record(later);
        drop(sender);
        writer.join();
        let app = Some("/work/app".to_string());
        assert_eq!(
            projects(),
            [("req_0".to_string(), app.clone()), ("req_1".to_string(), None), ("req_3".to_string(), app)]
        );
    }

    #[test]
    fn the_gateways_row_replaces_a_transcript_rows_of_the_same_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        {
            let conn = super::super::open(&path).unwrap();
            let model = super::super::names::id(&conn, "claude-sonnet-4-5").unwrap();
            for request_id in ["req_0", "req_other"] {
                conn.execute(
                    "INSERT INTO requests (id, source, request_id, model, status, streamed, complete,
                     input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
                     price_version) VALUES ((1764583200000 << 10) + length(?1), 1, ?1, ?2, 200, 1, 1, 3, 9, 0, 0, 500, ?2)",
                    params![request_id::stored(request_id), model],
                )
                .unwrap();
            }
        }
        let projects = ProjectResolver::new(dir.path().join("claude"));
        let (sender, writer) = LedgerWriter::spawn(&path, PriceTable::builtin(), projects).unwrap();
        sender.record(subscription_turn(0, "claude-sonnet-4-5", 0, "0.1"));
        drop(sender);
        writer.join();
        let conn = Connection::open(&path).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT request_id, source FROM request_rows ORDER BY request_id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [("req_0".to_string(), "gateway".to_string()), ("req_other".to_string(), "transcript".to_string())]
        );
    }

    #[test]
    fn a_successful_answer_cut_short_is_recorded_as_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite3");
        let projects = ProjectResolver::new(dir.path().join("claude"));
        let (sender, writer) = LedgerWriter::spawn(&path, PriceTable::builtin(), projects).unwrap();
        let mut cut = exchange();
        cut.body = vec![bytes::Bytes::from_static(br#"{"id":"msg_1","type":"message","usage":{"input_tokens":5,"#)];
        sender.record(cut);
        let mut whole = exchange();
        whole.body = vec![bytes::Bytes::from_static(
            br#"{"id":"msg_2","type":"message","content":[],"usage":{"input_tokens":5,"output_tokens":1}}"#,
        )];
        sender.record(whole);
        drop(sender);
        writer.join();
        let conn = Connection::open(&path).unwrap();
        let rows: Vec<(bool, Option<String>)> = conn
            .prepare("SELECT complete, error_type FROM request_rows ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows, vec![(false, Some("upstream_truncated".to_string())), (true, None)]);
    }

    #[test]
    fn rows_that_cannot_be_committed_are_kept_up_to_a_bound_and_retried() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let path = data.join("ledger.sqlite3");
        let projects = ProjectResolver::new(dir.path().join("claude"));
        let (sender, writer) = LedgerWriter::spawn(&path, PriceTable::builtin(), projects).unwrap();
        sender.record(exchange());
        wait_until(&sender, "the first row", || rows(&path) == 1);

        // The data directory becomes a file: the ledger can be neither
        // found nor created again.
        std::fs::remove_dir_all(&data).unwrap();
        std::fs::write(&data, "in the way").unwrap();
        for _ in 0..MAX_PENDING_ROWS + 3 {
            sender.record(exchange());
        }
        wait_until(&sender, "recording to fail with every row it can keep", || {
            let status = sender.status();
            status.error.is_some() && status.pending_rows == MAX_PENDING_ROWS && status.dropped_rows == 3
        });
        let status = sender.status();
        assert!(status.error.as_deref().unwrap().contains(&*path.to_string_lossy()), "{status:?}");
        assert!(status.failing_since.is_some());

        std::fs::remove_file(&data).unwrap();
        wait_until(&sender, "the kept rows in a new ledger", || rows(&path) == MAX_PENDING_ROWS);
        wait_until(&sender, "recording to work again", || sender.status().error.is_none());
        let status = sender.status();
        assert_eq!((status.pending_rows, status.dropped_rows, status.failing_since), (0, 3, None));
        drop(sender);
        writer.join();
    }
}
