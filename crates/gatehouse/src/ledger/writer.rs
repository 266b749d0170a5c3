//! The ledger writer: a thread that turns finished exchanges into rows.
//!
//! The gateway sends each [`Exchange`] down an unbounded channel, which
//! never blocks the request path. The writer wakes, drains whatever has
//! queued up, and commits it as one transaction, so a burst of requests
//! costs one fsync. Parsing usage and pricing happen here too.
//!
//! Claude Code may write a session's transcript only after its first
//! response, so a session whose project is not yet known is looked up
//! again every few seconds for a while, and its rows filled in when found.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};

use super::project::{ProjectResolver, Resolution};
use super::record::{Exchange, Outcome};
use crate::gateway::response_usage;
use crate::pricing::PriceTable;

/// Largest number of rows committed in one transaction.
const MAX_BATCH: usize = 512;
/// How long the writer waits for more rows before committing a batch.
const COALESCE_FOR: Duration = Duration::from_millis(25);
/// How often unresolved sessions are looked up again.
const PROJECT_RETRY_EVERY: Duration = Duration::from_secs(2);
/// How long a session's project is looked for before giving up.
const PROJECT_RETRY_FOR: Duration = Duration::from_secs(600);

/// Sessions whose project directory is not known yet, with when first seen.
type Unresolved = HashMap<String, Instant>;

/// The sending side, held by the gateway. Cheap to clone.
#[derive(Clone)]
pub struct LedgerSender(mpsc::Sender<Exchange>);

impl LedgerSender {
    /// Queues an exchange. If the writer has died the row is lost, which is
    /// logged, but the client's request is never failed over bookkeeping.
    pub fn record(&self, exchange: Exchange) {
        if self.0.send(exchange).is_err() {
            tracing::error!("ledger writer is not running; a request was not recorded");
        }
    }
}

/// The writer thread. Dropping every [`LedgerSender`] lets it drain and stop.
pub struct LedgerWriter {
    thread: JoinHandle<()>,
}

impl LedgerWriter {
    pub fn spawn(conn: Connection, prices: PriceTable, projects: ProjectResolver) -> (LedgerSender, LedgerWriter) {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || run(conn, prices, projects, rx))
            .expect("spawning the ledger writer thread");
        (LedgerSender(tx), LedgerWriter { thread })
    }

    /// Waits until every queued row is committed. Call after the senders are dropped.
    pub fn join(self) {
        if self.thread.join().is_err() {
            tracing::error!("the ledger writer panicked");
        }
    }
}

fn run(mut conn: Connection, prices: PriceTable, mut projects: ProjectResolver, rx: mpsc::Receiver<Exchange>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut unresolved = Unresolved::new();
    loop {
        let next = if unresolved.is_empty() {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(PROJECT_RETRY_EVERY)
        };
        let disconnected = match next {
            Ok(first) => {
                batch.push(first);
                // Under load, let a few more rows arrive so that one fsync
                // covers many requests; idle, this adds only a short delay
                // before a row becomes visible.
                let deadline = Instant::now() + COALESCE_FOR;
                while batch.len() < MAX_BATCH {
                    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                false
            }
            Err(mpsc::RecvTimeoutError::Timeout) => false,
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
        };
        if !batch.is_empty() {
            if let Err(e) = write_batch(&mut conn, &prices, &mut projects, &batch, &mut unresolved) {
                tracing::error!(error = %e, rows = batch.len(), "could not write to the ledger");
            }
            batch.clear();
        }
        if let Err(e) = retry_unresolved(&conn, &mut projects, &mut unresolved) {
            tracing::warn!(error = %e, "could not fill in project directories");
        }
        if disconnected {
            return;
        }
    }
}

/// SQLite integers are signed; an absurd count from a broken upstream is
/// clamped rather than failing the whole batch.
fn sql_count(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Looks unresolved sessions up again and fills in their rows.
fn retry_unresolved(
    conn: &Connection,
    projects: &mut ProjectResolver,
    unresolved: &mut Unresolved,
) -> rusqlite::Result<()> {
    let mut backfill =
        conn.prepare_cached("UPDATE requests SET project = ?1 WHERE session_id = ?2 AND project IS NULL")?;
    let mut result = Ok(());
    unresolved.retain(|session, first_seen| match projects.resolve(session) {
        Resolution::Found(project) | Resolution::Known(project) => {
            if let Err(e) = backfill.execute(params![project, session]) {
                result = Err(e);
            }
            false
        }
        Resolution::NotFound => first_seen.elapsed() < PROJECT_RETRY_FOR,
    });
    result
}

fn write_batch(
    conn: &mut Connection,
    prices: &PriceTable,
    projects: &mut ProjectResolver,
    batch: &[Exchange],
    unresolved: &mut Unresolved,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO requests (ts, ts_unix_ms, request_id, client, model, upstream, status, streamed, complete,
                input_tokens, output_tokens, cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens,
                cost_usd, price_version, ttfb_ms, latency_ms, session_id, device_id, project, error_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        )?;
        let mut backfill =
            tx.prepare_cached("UPDATE requests SET project = ?1 WHERE session_id = ?2 AND project IS NULL")?;
        for exchange in batch {
            let summary = response_usage::summarize(exchange.event_stream, &exchange.body);
            let usage = summary.usage.unwrap_or_default();
            // Priced by the model the client asked for, as Claude Code does.
            let model = exchange.model.as_str();
            let cost = prices.cost_usd_with(model, &usage, &summary.extras);
            let success = (200..300).contains(&exchange.status);
            let complete = exchange.outcome == Outcome::Relayed && (!success || summary.finished);
            let error_type = summary.error_type.as_deref().or(exchange.gateway_error).or(match exchange.outcome {
                Outcome::Relayed => None,
                Outcome::UpstreamFailed => Some("upstream_failed"),
                Outcome::ClientGone => Some("client_gone"),
            });
            let project = match exchange.session_id.as_deref() {
                // A miss costs a directory scan; `retry_unresolved` looks
                // again after this batch and fills in the row if found.
                Some(session) if unresolved.contains_key(session) => None,
                Some(session) => match projects.resolve(session) {
                    Resolution::Known(project) => Some(project),
                    Resolution::Found(project) => {
                        backfill.execute(params![project, session])?;
                        Some(project)
                    }
                    Resolution::NotFound => {
                        unresolved.insert(session.to_string(), Instant::now());
                        None
                    }
                },
                None => None,
            };
            insert.execute(params![
                exchange.started_at.to_string(),
                exchange.started_at.as_millisecond(),
                exchange.request_id,
                &*exchange.client,
                model,
                &*exchange.upstream,
                exchange.status,
                exchange.streamed,
                complete,
                sql_count(usage.input_tokens),
                sql_count(usage.output_tokens),
                sql_count(usage.cache_write_5m_tokens),
                sql_count(usage.cache_write_1h_tokens),
                sql_count(usage.cache_read_tokens),
                cost,
                prices.version(),
                exchange.ttfb.map(|d| d.as_secs_f64() * 1000.0),
                exchange.latency.as_secs_f64() * 1000.0,
                exchange.session_id,
                exchange.device_id,
                project,
                error_type,
            ])?;
        }
    }
    tx.commit()
}
