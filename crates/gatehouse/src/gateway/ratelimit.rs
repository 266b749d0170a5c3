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

impl Window {
    /// "42% · resets 14:00" in local time; the weekday is added when the
    /// reset is not today ("resets Sat 14:00").
    pub fn describe(&self) -> String {
        self.describe_at(&jiff::Zoned::now())
    }

    fn describe_at(&self, now: &jiff::Zoned) -> String {
        let used = self.utilization.map_or_else(|| "unknown".to_string(), |u| format!("{:.0}%", u * 100.0));
        let reset = self.resets_at.and_then(|secs| jiff::Timestamp::from_second(secs).ok()).map(|t| {
            let local = t.to_zoned(now.time_zone().clone());
            let format = if local.date() == now.date() { "%H:%M" } else { "%a %H:%M" };
            local.strftime(format).to_string()
        });
        match reset {
            Some(reset) => format!("{used} · resets {reset}"),
            None => used,
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
}

/// Overwrites `known` with `value`, reusing its allocation.
fn store(known: &mut String, value: &str) {
    if known != value {
        known.clear();
        known.push_str(value);
    }
}

impl RateLimitHeaders {
    /// Takes in the rate-limit headers of one response; returns whether any were present.
    pub fn observe(&mut self, headers: &HeaderMap) -> bool {
        let mut seen = false;
        // Responses repeat the same headers in the same order, so the slot
        // after the last one matched is almost always the next one's.
        let mut next = 0;
        for (name, value) in headers {
            if name == RETRY_AFTER {
                if let Ok(value) = value.to_str() {
                    store(self.retry_after.get_or_insert_default(), value);
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
                    store(&mut self.latest[slot].1, value);
                    next = slot + 1;
                }
                None => {
                    self.latest.push((name.clone(), value.to_string()));
                    next = self.latest.len();
                }
            }
        }
        if seen {
            self.observed_at = Some(jiff::Timestamp::now());
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
    fn other_headers_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/event-stream".parse().unwrap());
        let mut seen = RateLimitHeaders::default();
        assert!(!seen.observe(&headers));
        assert!(seen.snapshot().is_empty());
    }
}
