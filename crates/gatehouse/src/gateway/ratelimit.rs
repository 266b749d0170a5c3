//! The latest rate-limit picture, from the headers Anthropic returns.
//!
//! Subscription traffic carries `anthropic-ratelimit-unified-*` headers: how
//! full the 5-hour and 7-day windows are and when they reset. API-key traffic
//! carries the classic per-minute `anthropic-ratelimit-requests-*` and
//! `-tokens-*` headers. The gateway reads them as they pass (it never needs
//! the user's token to do so) and keeps the latest value of each.

use std::collections::BTreeMap;

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderName};
use serde::{Deserialize, Serialize};

const PREFIX: &str = "anthropic-ratelimit-";
const UNIFIED: &str = "anthropic-ratelimit-unified-";

/// One subscription window (5-hour or 7-day).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// How full the window is, from 0 to 1.
    pub utilization: Option<f64>,
    /// When it resets, as Unix seconds.
    pub resets_at: Option<i64>,
    pub status: Option<String>,
}

/// A moment in local time, short: "14:00" today, "Sat 14:00" another day.
fn local_time(secs: i64, now: &jiff::Zoned) -> Option<String> {
    let local = jiff::Timestamp::from_second(secs).ok()?.to_zoned(now.time_zone().clone());
    let format = if local.date() == now.date() { "%H:%M" } else { "%a %H:%M" };
    Some(local.strftime(format).to_string())
}

impl Window {
    /// "42% · resets 14:00" in local time; the weekday is added when the
    /// reset is not today ("resets Sat 14:00"). A reset that has passed is
    /// said so: the figure belongs to a window that is over.
    pub fn describe(&self) -> String {
        self.describe_at(&jiff::Zoned::now())
    }

    fn describe_at(&self, now: &jiff::Zoned) -> String {
        let used = self.utilization.map_or_else(|| "unknown".to_string(), |u| format!("{:.0}%", u * 100.0));
        let Some(secs) = self.resets_at else { return used };
        let Some(at) = local_time(secs, now) else { return used };
        if secs <= now.timestamp().as_second() {
            format!("{used} · reset at {at} (passed)")
        } else {
            format!("{used} · resets {at}")
        }
    }
}

/// The latest rate-limit headers seen, raw and interpreted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RateLimitSnapshot {
    /// When headers were last seen (RFC 3339).
    pub observed_at: Option<String>,
    /// `allowed`, `allowed_warning` or `rejected`.
    pub unified_status: Option<String>,
    pub unified_resets_at: Option<i64>,
    /// Which window decides the status: `five_hour`, `seven_day`, …
    pub representative_claim: Option<String>,
    pub five_hour: Window,
    pub seven_day: Window,
    /// Seconds to wait, from the last `retry-after`.
    pub retry_after_secs: Option<u64>,
    /// Every `anthropic-ratelimit-*` header, latest value of each.
    pub headers: BTreeMap<String, String>,
}

impl RateLimitSnapshot {
    /// True when no rate-limit header has been seen yet.
    pub fn is_empty(&self) -> bool {
        self.observed_at.is_none()
    }

    /// The subscription's status: "allowed", "allowed_warning", or
    /// "rejected until 15:00" (with "passed" once that time is over).
    pub(crate) fn describe_status(&self) -> String {
        self.describe_status_at(&jiff::Zoned::now())
    }

    fn describe_status_at(&self, now: &jiff::Zoned) -> String {
        let status = self.unified_status.as_deref().unwrap_or("unknown");
        match (status, self.unified_resets_at) {
            ("rejected", Some(secs)) => match local_time(secs, now) {
                Some(at) if secs <= now.timestamp().as_second() => format!("rejected until {at} (passed)"),
                Some(at) => format!("rejected until {at}"),
                None => status.to_string(),
            },
            _ => status.to_string(),
        }
    }

    /// "as of 14:02": when the headers were seen, in local time.
    pub(crate) fn as_of(&self) -> Option<String> {
        self.as_of_at(&jiff::Zoned::now())
    }

    fn as_of_at(&self, now: &jiff::Zoned) -> Option<String> {
        let seen: jiff::Timestamp = self.observed_at.as_deref()?.parse().ok()?;
        local_time(seen.as_second(), now).map(|at| format!("as of {at}"))
    }

    /// Reads a snapshot saved by [`RateLimitSnapshot::save`]; `None` when
    /// there is none or it cannot be read (it is only a cache).
    pub(crate) fn load(path: &std::path::Path) -> Option<RateLimitSnapshot> {
        let text = std::fs::read(path).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Saves the snapshot atomically, so a restarted gateway (or `gatehouse
    /// status` while none runs) still knows the windows.
    pub(crate) fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fs_atomic::write_private(path, &json)
    }

    fn apply_unified(&mut self, field: &str, value: &str) {
        match field {
            "status" => self.unified_status = Some(value.to_string()),
            "reset" => self.unified_resets_at = value.parse().ok(),
            "representative-claim" => self.representative_claim = Some(value.to_string()),
            _ => {
                let window = match field.split_once('-') {
                    Some(("5h", attribute)) => Some((&mut self.five_hour, attribute)),
                    Some(("7d", attribute)) => Some((&mut self.seven_day, attribute)),
                    _ => None,
                };
                if let Some((target, attribute)) = window {
                    match attribute {
                        "utilization" => target.utilization = value.parse().ok(),
                        "reset" => target.resets_at = value.parse().ok(),
                        "status" => target.status = Some(value.to_string()),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// The rate-limit headers as they arrived: the latest value of each, kept
/// raw. Every response carries a dozen of them, and `/status` is asked
/// rarely, so they are interpreted only when a [`RateLimitSnapshot`] is
/// wanted. A value that repeats (most do) costs a comparison, and one that
/// changes is copied into the buffer the old one used. Values are copied
/// rather than shared: a `HeaderValue` from hyper would keep its whole read
/// buffer alive.
#[derive(Debug, Default)]
pub struct RateLimitHeaders {
    /// In the order first seen; names are unique.
    latest: Vec<(HeaderName, String)>,
    retry_after: Option<String>,
    observed_at: Option<jiff::Timestamp>,
    /// Counts the changes of any value, so that a saver can tell whether
    /// there is anything new to save.
    changes: u64,
}

/// Overwrites `known` with `value`, reusing its allocation; returns whether it changed.
fn store(known: &mut String, value: &str) -> bool {
    if known == value {
        return false;
    }
    known.clear();
    known.push_str(value);
    true
}

impl RateLimitHeaders {
    /// Starts from a saved snapshot, as if its headers had just been seen
    /// at the time they were.
    pub(crate) fn from_snapshot(snapshot: &RateLimitSnapshot) -> RateLimitHeaders {
        RateLimitHeaders {
            latest: snapshot
                .headers
                .iter()
                .filter_map(|(name, value)| Some((HeaderName::try_from(name.as_str()).ok()?, value.clone())))
                .collect(),
            retry_after: snapshot.retry_after_secs.map(|secs| secs.to_string()),
            observed_at: snapshot.observed_at.as_deref().and_then(|at| at.parse().ok()),
            changes: 0,
        }
    }

    /// How many times a value has changed: equal counts mean nothing new.
    pub(crate) fn changes(&self) -> u64 {
        self.changes
    }

    /// Takes in the rate-limit headers of one response; returns whether any were present.
    pub fn observe(&mut self, headers: &HeaderMap) -> bool {
        let mut seen = false;
        let mut changed = false;
        // Responses repeat the same headers in the same order, so the slot
        // after the last one matched is almost always the next one's.
        let mut next = 0;
        for (name, value) in headers {
            if name == RETRY_AFTER {
                if let Ok(value) = value.to_str() {
                    changed |= store(self.retry_after.get_or_insert_default(), value);
                    seen = true;
                }
                continue;
            }
            if !name.as_str().starts_with(PREFIX) {
                continue;
            }
            let Ok(value) = value.to_str() else { continue };
            seen = true;
            let slot = match self.latest.get(next) {
                Some((known, _)) if known == name => Some(next),
                _ => self.latest.iter().position(|(known, _)| known == name),
            };
            match slot {
                Some(slot) => {
                    changed |= store(&mut self.latest[slot].1, value);
                    next = slot + 1;
                }
                None => {
                    self.latest.push((name.clone(), value.to_string()));
                    next = self.latest.len();
                    changed = true;
                }
            }
        }
        if seen {
            self.observed_at = Some(jiff::Timestamp::now());
        }
        if changed {
            self.changes += 1;
        }
        seen
    }

    /// What the headers seen so far say.
    pub fn snapshot(&self) -> RateLimitSnapshot {
        let mut snapshot = RateLimitSnapshot {
            observed_at: self.observed_at.map(|at| at.to_string()),
            retry_after_secs: self.retry_after.as_ref().and_then(|v| v.trim().parse().ok()),
            ..RateLimitSnapshot::default()
        };
        for (name, value) in &self.latest {
            if let Some(field) = name.as_str().strip_prefix(UNIFIED) {
                snapshot.apply_unified(field, value.trim());
            }
            snapshot.headers.insert(name.to_string(), value.clone());
        }
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn unified_headers_are_interpreted() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-reset", "1763800000"),
            ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
            ("anthropic-ratelimit-unified-5h-utilization", "1.0"),
            ("anthropic-ratelimit-unified-5h-reset", "1763800000"),
            ("anthropic-ratelimit-unified-7d-utilization", "0.17"),
            ("anthropic-ratelimit-unified-7d-reset", "1764300000"),
            ("retry-after", "120"),
            ("content-type", "application/json"),
        ] {
            headers.insert(k, v.parse().unwrap());
        }
        let mut seen = RateLimitHeaders::default();
        assert!(seen.observe(&headers));
        let snapshot = seen.snapshot();
        assert_eq!(snapshot.unified_status.as_deref(), Some("rejected"));
        assert_eq!(snapshot.representative_claim.as_deref(), Some("five_hour"));
        assert_eq!(snapshot.five_hour.utilization, Some(1.0));
        assert_eq!(snapshot.seven_day.resets_at, Some(1764300000));
        assert_eq!(snapshot.retry_after_secs, Some(120));
        assert_eq!(snapshot.headers.len(), 7);
    }

    #[test]
    fn latest_value_of_each_header_is_kept() {
        let response = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            headers
        };
        let mut seen = RateLimitHeaders::default();
        seen.observe(&response(&[
            ("anthropic-ratelimit-unified-status", "allowed"),
            ("anthropic-ratelimit-unified-5h-utilization", "0.5"),
        ]));
        seen.observe(&response(&[
            ("anthropic-ratelimit-unified-5h-utilization", "0.75"),
            ("anthropic-ratelimit-unified-status", "allowed_warning"),
        ]));
        seen.observe(&response(&[("anthropic-ratelimit-unified-7d-utilization", "0.1")]));
        let snapshot = seen.snapshot();
        assert_eq!(snapshot.unified_status.as_deref(), Some("allowed_warning"));
        assert_eq!(snapshot.five_hour.utilization, Some(0.75));
        assert_eq!(snapshot.seven_day.utilization, Some(0.1));
        assert_eq!(snapshot.headers.len(), 3);
        assert_eq!(snapshot.headers["anthropic-ratelimit-unified-status"], "allowed_warning");
    }

    #[test]
    fn windows_are_described_in_local_time() {
        let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        let now = jiff::Timestamp::from_second(1_763_800_000).unwrap().to_zoned(zone); // Sat 10:26 +02
        let soon = Window { utilization: Some(0.423), resets_at: Some(1_763_800_000 + 3600), status: None };
        assert_eq!(soon.describe_at(&now), "42% · resets 11:26");
        let later = Window { utilization: Some(0.17), resets_at: Some(1_763_800_000 + 2 * 86_400), status: None };
        assert_eq!(later.describe_at(&now), "17% · resets Mon 10:26");
        assert_eq!(Window::default().describe_at(&now), "unknown");
    }

    #[test]
    fn a_passed_reset_is_shown_as_passed() {
        let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        let now = jiff::Timestamp::from_second(1_763_800_000).unwrap().to_zoned(zone); // Sat 10:26 +02
        let over = Window { utilization: Some(0.9), resets_at: Some(1_763_800_000 - 3600), status: None };
        assert_eq!(over.describe_at(&now), "90% · reset at 09:26 (passed)");
        let days_ago = Window { utilization: Some(0.5), resets_at: Some(1_763_800_000 - 2 * 86_400), status: None };
        assert!(
            days_ago.describe_at(&now).starts_with("50% · reset at Thu 10:26 (passed)"),
            "{}",
            days_ago.describe_at(&now)
        );
    }

    #[test]
    fn status_says_rejected_with_its_reset_and_the_snapshot_its_age() {
        let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        let now = jiff::Timestamp::from_second(1_763_800_000).unwrap().to_zoned(zone); // Sat 10:26 +02
        let mut snapshot = RateLimitSnapshot {
            observed_at: Some(jiff::Timestamp::from_second(1_763_800_000 - 600).unwrap().to_string()),
            unified_status: Some("rejected".into()),
            unified_resets_at: Some(1_763_800_000 + 1800),
            ..RateLimitSnapshot::default()
        };
        assert_eq!(snapshot.describe_status_at(&now), "rejected until 10:56");
        assert_eq!(snapshot.as_of_at(&now).as_deref(), Some("as of 10:16"));
        snapshot.unified_resets_at = Some(1_763_800_000 - 60);
        assert_eq!(snapshot.describe_status_at(&now), "rejected until 10:25 (passed)");
        snapshot.unified_status = Some("allowed".into());
        assert_eq!(snapshot.describe_status_at(&now), "allowed");
        snapshot.observed_at = Some(jiff::Timestamp::from_second(1_763_800_000 - 86_400).unwrap().to_string());
        assert_eq!(snapshot.as_of_at(&now).as_deref(), Some("as of Fri 10:26"));
    }

    #[test]
    fn a_saved_snapshot_restores_the_same_picture_and_counts_changes() {
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-ratelimit-unified-status", HeaderValue::from_static("allowed"));
        headers.insert("anthropic-ratelimit-unified-5h-utilization", HeaderValue::from_static("0.25"));
        headers.insert("anthropic-ratelimit-unified-5h-reset", HeaderValue::from_static("1763800000"));
        headers.insert("retry-after", HeaderValue::from_static("30"));
        let mut seen = RateLimitHeaders::default();
        seen.observe(&headers);
        assert_eq!(seen.changes(), 1);
        seen.observe(&headers);
        assert_eq!(seen.changes(), 1, "the same values again are no change");
        headers.insert("anthropic-ratelimit-unified-5h-utilization", HeaderValue::from_static("0.3"));
        seen.observe(&headers);
        assert_eq!(seen.changes(), 2);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("ratelimit.json");
        assert_eq!(RateLimitSnapshot::load(&path), None);
        let snapshot = seen.snapshot();
        snapshot.save(&path).unwrap();
        let loaded = RateLimitSnapshot::load(&path).unwrap();
        assert_eq!(loaded, snapshot);
        assert_eq!(RateLimitHeaders::from_snapshot(&loaded).snapshot(), snapshot);
    }

    #[test]
    fn other_headers_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/event-stream".parse().unwrap());
        let mut seen = RateLimitHeaders::default();
        assert!(!seen.observe(&headers));
        assert!(seen.snapshot().is_empty());
    }
}
