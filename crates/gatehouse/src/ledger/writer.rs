//! The ledger writer: a thread that turns finished exchanges into rows.
//!
//! The gateway sends each [`Exchange`] down an unbounded channel, which
//! never blocks the request path. The writer wakes, drains whatever has
//! queued up, and commits it as one transaction, so a burst of requests
//! costs one fsync. Parsing usage and pricing happen here too.

use std::thread::JoinHandle;

use rusqlite::{Connection, params};
use tokio::sync::mpsc;

use super::project::{ProjectResolver, Resolution};
use super::record::{Exchange, Outcome};
use crate::gateway::response_usage;
use crate::pricing::PriceTable;

/// Largest number of rows committed in one transaction.
const MAX_BATCH: usize = 512;

/// The sending side, held by the gateway. Cheap to clone.
#[derive(Clone)]
pub struct LedgerSender(mpsc::UnboundedSender<Exchange>);

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
        let (tx, rx) = mpsc::unbounded_channel();
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

fn run(mut conn: Connection, prices: PriceTable, mut projects: ProjectResolver, mut rx: mpsc::UnboundedReceiver<Exchange>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        if let Err(e) = write_batch(&mut conn, &prices, &mut projects, &batch) {
            tracing::error!(error = %e, rows = batch.len(), "could not write to the ledger");
        }
        batch.clear();
    }
}

fn write_batch(
    conn: &mut Connection,
    prices: &PriceTable,
    projects: &mut ProjectResolver,
    batch: &[Exchange],
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
            let model = summary.model.as_deref().filter(|m| !m.is_empty()).unwrap_or(&exchange.model);
            let cost = prices.cost_usd(model, &usage);
            let success = (200..300).contains(&exchange.status);
            let complete = exchange.outcome == Outcome::Relayed && (!success || summary.finished);
            let error_type = summary.error_type.as_deref().or(exchange.gateway_error).or(match exchange.outcome {
                Outcome::Relayed => None,
                Outcome::UpstreamFailed => Some("upstream_failed"),
                Outcome::ClientGone => Some("client_gone"),
            });
            let project = match exchange.session_id.as_deref().map(|s| (s, projects.resolve(s))) {
                Some((_, Resolution::Known(project))) => Some(project),
                Some((session, Resolution::Found(project))) => {
                    backfill.execute(params![project, session])?;
                    Some(project)
                }
                _ => None,
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
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_write_5m_tokens,
                usage.cache_write_1h_tokens,
                usage.cache_read_tokens,
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
