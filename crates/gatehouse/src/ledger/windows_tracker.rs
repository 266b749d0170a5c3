//! Subscription window readings, stored per request as change points.
//!
//! Every subscription response carries the windows' utilization. Most
//! repeat the previous value, so a reading is stored only when it is news:
//! the first reading of a window instance (a window name with one reset
//! time; a new reset time starts a new instance), a utilization higher
//! than any stored for that instance, or a new status. A stored reading's
//! `delta` is its rise over the highest before it: the share of the window
//! that request's response revealed as used. Responses can finish out of
//! order, so a lower reading than the highest is stale and stored as
//! nothing: a window never goes down within an instance, and no rise is
//! counted twice. A response that changed nothing stores nothing; its
//! reading is the latest one stored at or before it.
//!
//! The top-level fields (`status`, `reset`, `representative-claim`,
//! `overage-*`, …) are kept as a pseudo-window named `unified`, stored
//! whenever any of their raw values changes.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::anthropic::ratelimit::Unified;

/// The pseudo-window that holds the top-level unified fields.
pub(crate) const UNIFIED: &str = "unified";

/// What is known of one window instance.
#[derive(Debug, Clone)]
struct Instance {
    id: i64,
    highest: Option<f64>,
    status: Option<String>,
    raw: Option<String>,
}

/// The writer's memory of the window instances it has seen.
#[derive(Debug, Default)]
pub(crate) struct WindowsTracker {
    instances: HashMap<(String, i64), Instance>,
}

fn join_raw(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(field, value)| format!("{field}={value}")).collect::<Vec<_>>().join("; ")
}

impl WindowsTracker {
    /// Stores what the unified headers of request `request` say that is new.
    pub(crate) fn record(&mut self, conn: &Connection, request: i64, unified: &Unified) -> rusqlite::Result<()> {
        for (name, (window, raw)) in &unified.windows {
            let reading = Reading {
                utilization: window.utilization,
                status: window.status.clone(),
                raw: join_raw(raw),
                compare_raw: false,
            };
            self.observe(conn, request, name, window.resets_at.unwrap_or(0), reading)?;
        }
        if !unified.top.is_empty() {
            let resets_at = unified.field("reset").and_then(|v| v.parse().ok()).unwrap_or(0);
            let reading = Reading {
                utilization: None,
                status: unified.field("status").map(str::to_string),
                raw: join_raw(&unified.top),
                compare_raw: true,
            };
            self.observe(conn, request, UNIFIED, resets_at, reading)?;
        }
        Ok(())
    }

    /// Drops what it knows: after a rollback the ledger is the truth.
    pub(crate) fn forget(&mut self) {
        self.instances.clear();
    }

    fn instance(&mut self, conn: &Connection, name: &str, resets_at: i64) -> rusqlite::Result<&mut Instance> {
        let key = (name.to_string(), resets_at);
        if !self.instances.contains_key(&key) {
            conn.prepare_cached("INSERT OR IGNORE INTO windows (name, resets_at) VALUES (?1, ?2)")?
                .execute(params![name, resets_at])?;
            let id: i64 = conn
                .prepare_cached("SELECT id FROM windows WHERE name = ?1 AND resets_at = ?2")?
                .query_row(params![name, resets_at], |row| row.get(0))?;
            let highest = conn
                .prepare_cached("SELECT MAX(utilization) FROM window_readings WHERE window = ?1")?
                .query_row(params![id], |row| row.get(0))?;
            let latest: Option<(Option<String>, String)> = conn
                .prepare_cached(
                    "SELECT status, raw FROM window_readings WHERE window = ?1 ORDER BY request DESC LIMIT 1",
                )?
                .query_row(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            let (status, raw) = latest.map_or((None, None), |(status, raw)| (status, Some(raw)));
            self.instances.insert(key.clone(), Instance { id, highest, status, raw });
        }
        Ok(self.instances.get_mut(&key).expect("inserted above"))
    }

    fn observe(
        &mut self,
        conn: &Connection,
        request: i64,
        name: &str,
        resets_at: i64,
        reading: Reading,
    ) -> rusqlite::Result<()> {
        let instance = self.instance(conn, name, resets_at)?;
        let first = instance.raw.is_none();
        let first_utilization = instance.highest.is_none() && reading.utilization.is_some();
        let rise = match (reading.utilization, instance.highest) {
            (Some(now), Some(highest)) if now > highest => Some(now - highest),
            _ => None,
        };
        let status_changed = reading.status.is_some() && reading.status != instance.status;
        let raw_changed = reading.compare_raw && instance.raw.as_deref() != Some(reading.raw.as_str());
        if !(first || first_utilization || rise.is_some() || status_changed || raw_changed) {
            return Ok(());
        }
        let delta = if first { None } else { Some(rise.unwrap_or(0.0)) };
        conn.prepare_cached(
            "INSERT OR REPLACE INTO window_readings (window, request, utilization, delta, status, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![instance.id, request, reading.utilization, delta, reading.status, reading.raw])?;
        if rise.is_some() || first_utilization {
            instance.highest = reading.utilization;
        }
        if reading.status.is_some() {
            instance.status = reading.status;
        }
        instance.raw = Some(reading.raw);
        Ok(())
    }
}

/// One window's values in one response.
struct Reading {
    utilization: Option<f64>,
    status: Option<String>,
    raw: String,
    /// Store whenever the raw values change (the top-level fields).
    compare_raw: bool,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn unified(pairs: &[(&str, String)]) -> Unified {
        Unified::parse(pairs.iter().map(|(name, value)| (*name, value.as_str())))
    }

    fn five_hour(utilization: f64, reset: i64) -> Unified {
        unified(&[("5h-utilization", utilization.to_string()), ("5h-reset", reset.to_string())])
    }

    /// (request, utilization, delta) of window `name`, in request order.
    fn readings(conn: &Connection, name: &str) -> Vec<(i64, i64, Option<f64>, Option<f64>)> {
        let mut statement = conn
            .prepare(
                "SELECT w.resets_at, r.request, r.utilization, r.delta FROM window_readings r
                 JOIN windows w ON w.id = r.window WHERE w.name = ?1 ORDER BY r.request",
            )
            .unwrap();
        statement
            .query_map([name], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn ledger() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
        (dir, conn)
    }

    #[test]
    fn only_rises_are_stored_and_a_reset_starts_a_new_window() {
        let (_dir, conn) = ledger();
        let mut tracker = WindowsTracker::default();
        for (request, utilization, reset) in
            [(1, 0.10, 100), (2, 0.10, 100), (3, 0.25, 100), (4, 0.20, 100), (5, 0.30, 100), (6, 0.02, 200)]
        {
            tracker.record(&conn, request, &five_hour(utilization, reset)).unwrap();
        }
        let stored = readings(&conn, "5h");
        let rounded: Vec<_> = stored
            .iter()
            .map(|(reset, request, utilization, delta)| {
                (*reset, *request, utilization.unwrap(), delta.map(|d| (d * 100.0).round() as i64))
            })
            .collect();
        assert_eq!(
            rounded,
            vec![(100, 1, 0.10, None), (100, 3, 0.25, Some(15)), (100, 5, 0.30, Some(5)), (200, 6, 0.02, None)]
        );
    }

    #[test]
    fn a_restarted_writer_continues_where_the_ledger_left_off() {
        let (_dir, conn) = ledger();
        WindowsTracker::default().record(&conn, 1, &five_hour(0.4, 100)).unwrap();
        let mut restarted = WindowsTracker::default();
        restarted.record(&conn, 2, &five_hour(0.4, 100)).unwrap();
        restarted.record(&conn, 3, &five_hour(0.5, 100)).unwrap();
        let deltas: Vec<_> = readings(&conn, "5h").iter().map(|r| (r.1, r.3.map(|d| (d * 100.0).round()))).collect();
        assert_eq!(deltas, vec![(1, None), (3, Some(10.0))]);
    }

    #[test]
    fn status_changes_and_top_level_fields_are_kept() {
        let (_dir, conn) = ledger();
        let mut tracker = WindowsTracker::default();
        let response = |status: &str, utilization: &str| {
            unified(&[
                ("status", status.to_string()),
                ("reset", "100".to_string()),
                ("overage-status", "rejected".to_string()),
                ("7d_oi-utilization", utilization.to_string()),
                ("7d_oi-status", status.to_string()),
            ])
        };
        tracker.record(&conn, 1, &response("allowed", "0.99")).unwrap();
        tracker.record(&conn, 2, &response("allowed", "0.99")).unwrap();
        tracker.record(&conn, 3, &response("rejected", "0.99")).unwrap();
        assert_eq!(readings(&conn, "7d_oi").iter().map(|r| r.1).collect::<Vec<_>>(), [1, 3]);
        let raw: Vec<String> = conn
            .prepare("SELECT raw FROM window_readings r JOIN windows w ON w.id = r.window WHERE w.name = 'unified'")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            raw,
            [
                "status=allowed; reset=100; overage-status=rejected",
                "status=rejected; reset=100; overage-status=rejected"
            ]
        );
    }

    proptest! {
        /// Whatever order responses arrive in, the deltas of an instance add
        /// up to its highest reading minus its first, none is negative, and
        /// the stored utilizations only rise.
        #[test]
        fn deltas_add_up_to_the_rise_whatever_the_order(
            sequence in proptest::collection::vec((0u32..=100, 0i64..3), 1..40)
        ) {
            let (_dir, conn) = ledger();
            let mut tracker = WindowsTracker::default();
            for (request, (percent, reset)) in sequence.iter().enumerate() {
                let reading = five_hour(f64::from(*percent) / 100.0, *reset);
                tracker.record(&conn, request as i64 + 1, &reading).unwrap();
            }
            for reset in 0..3 {
                let of_instance: Vec<_> = readings(&conn, "5h").into_iter().filter(|r| r.0 == reset).collect();
                let sent: Vec<f64> =
                    sequence.iter().filter(|(_, r)| *r == reset).map(|(p, _)| f64::from(*p) / 100.0).collect();
                if sent.is_empty() {
                    prop_assert!(of_instance.is_empty());
                    continue;
                }
                let highest = sent.iter().cloned().fold(f64::MIN, f64::max);
                let sum: f64 = of_instance.iter().filter_map(|r| r.3).sum();
                prop_assert!((sum - (highest - sent[0])).abs() < 1e-9, "{sum} vs {highest} - {}", sent[0]);
                prop_assert!(of_instance.iter().filter_map(|r| r.3).all(|d| d >= 0.0));
                prop_assert!(of_instance.windows(2).all(|w| w[0].2 < w[1].2));
            }
        }
    }
}
