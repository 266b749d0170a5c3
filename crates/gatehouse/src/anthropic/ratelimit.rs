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
pub(crate) const UNIFIED: &str = "anthropic-ratelimit-unified-";

/// One subscription window: `5h`, `7d`, or any other the server sends
/// (per-model weekly windows such as `7d_oi`).
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// How full the window is, from 0 to 1.
    pub utilization: Option<f64>,
    /// When it resets, as Unix seconds.
    pub resets_at: Option<i64>,
    /// The window's own status (`allowed`, `allowed_warning`, `rejected`), when sent.
    pub status: Option<String>,
}

/// A moment in local time, short: "14:00" today, "Sat 14:00" another day.
fn local_time(secs: i64, now: &jiff::Zoned) -> Option<String> {
    let local = jiff::Timestamp::from_second(secs).ok()?.to_zoned(now.time_zone().clone());
    let format = if local.date() == now.date() { "%H:%M" } else { "%a %H:%M" };
    Some(local.strftime(format).to_string())
}

/// "5-hour window", "Weekly window", or "Window 7d_oi" for one the gateway
/// has no name for.
pub(crate) fn window_title(name: &str) -> String {
    match name {
        "5h" => "5-hour window".to_string(),
        "7d" => "Weekly window".to_string(),
        other => match other.strip_prefix("7d_") {
            Some(model) => format!("Weekly window ({model})"),
            None => format!("Window {other}"),
        },
    }
}

impl Window {
    /// Whether the server refuses requests in this window until it resets.
    pub(crate) fn is_rejected(&self) -> bool {
        self.status.as_deref() == Some("rejected")
    }

    /// "42% · resets 14:00" in local time; the weekday is added when the
    /// reset is not today ("resets Sat 14:00"). A reset that has passed is
    /// said so: the figure belongs to a window that is over. A rejected
    /// window says so, with when it opens again.
    pub(crate) fn describe(&self) -> String {
        self.describe_at(&jiff::Zoned::now())
    }

    fn describe_at(&self, now: &jiff::Zoned) -> String {
        let used = self.utilization.map_or_else(|| "unknown".to_string(), |u| format!("{:.0}%", u * 100.0));
        let passed = self.resets_at.is_some_and(|secs| secs <= now.timestamp().as_second());
        let Some(at) = self.resets_at.and_then(|secs| local_time(secs, now)) else {
            return if self.is_rejected() { "rejected".to_string() } else { used };
        };
        match (self.is_rejected(), passed) {
            (true, false) => format!("rejected until {at}"),
            (true, true) => format!("rejected until {at} (passed)"),
            (false, true) => format!("{used} · reset at {at} (passed)"),
            (false, false) => format!("{used} · resets {at}"),
        }
    }
}

/// The `anthropic-ratelimit-unified-*` headers of a response, as the ledger
/// keeps them until its writer reads them with [`Unified::from_lines`]:
/// "name\tvalue" lines, names without the prefix. Copying them is all the
/// request path does; parsing waits for the writer's thread.
pub(crate) fn unified_lines(headers: &HeaderMap) -> Option<String> {
    let mut lines = String::new();
    for (name, value) in headers {
        let (Some(field), Ok(value)) = (name.as_str().strip_prefix(UNIFIED), value.to_str()) else {
            continue;
        };
        lines.push_str(field);
        lines.push('\t');
        lines.push_str(value);
        lines.push('\n');
    }
    (!lines.is_empty()).then_some(lines)
}

/// The `anthropic-ratelimit-unified-*` headers of one response, parsed
/// generically: `unified-<window>-<field>` belongs to window `<window>`
/// whenever a `<window>-utilization` header is present, so windows the
/// gateway has never heard of are kept. Every other unified header is a
/// top-level field (`status`, `reset`, `representative-claim`,
/// `overage-status`, `fallback-percentage`, …).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Unified {
    /// By window name, each with its raw `field=value` pairs.
    pub(crate) windows: BTreeMap<String, (Window, Vec<(String, String)>)>,
    /// Top-level fields, raw, in the order seen.
    pub(crate) top: Vec<(String, String)>,
}

impl Unified {
    /// Parses `(name after "anthropic-ratelimit-unified-", value)` pairs.
    pub(crate) fn parse<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Unified {
        let mut unified = Unified::default();
        for (name, _) in pairs.clone() {
            if let Some(window) = name.strip_suffix("-utilization") {
                unified.windows.entry(window.to_string()).or_default();
            }
        }
        for (name, value) in pairs {
            let value = value.trim();
            // The longest window name that prefixes it: names may hold `-`.
            let owner = unified
                .windows
                .keys()
                .filter_map(|window| Some((window.as_str(), name.strip_prefix(window.as_str())?.strip_prefix('-')?)))
                .max_by_key(|(window, _)| window.len())
                .map(|(window, field)| (window.to_string(), field));
            let Some((window, field)) = owner else {
                unified.top.push((name.to_string(), value.to_string()));
                continue;
            };
            let (target, raw) = unified.windows.get_mut(&window).expect("windows were collected above");
            match field {
                // A fraction; a value no window can have (negative, far
                // beyond full) is unknown, not drawn.
                "utilization" => target.utilization = value.parse().ok().filter(|u: &f64| (0.0..=10.0).contains(u)),
                "reset" => target.resets_at = value.parse().ok(),
                "status" => target.status = Some(value.to_string()),
                _ => {}
            }
            raw.push((field.to_string(), value.to_string()));
        }
        unified
    }

    /// Parses the lines [`unified_lines`] made.
    pub(crate) fn from_lines(lines: &str) -> Unified {
        Unified::parse(lines.lines().filter_map(|line| line.split_once('\t')))
    }

    /// The value of a top-level field.
    pub(crate) fn field(&self, name: &str) -> Option<&str> {
        self.top.iter().find(|(field, _)| field == name).map(|(_, value)| value.as_str())
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
    /// Every subscription window the server reported, by its name in the
    /// headers: `5h`, `7d`, `7d_oi`, …
    #[serde(default)]
    pub windows: BTreeMap<String, Window>,
    /// Seconds to wait, from the last `retry-after`.
    pub retry_after_secs: Option<u64>,
    /// Every `anthropic-ratelimit-*` header, latest value of each.
    pub headers: BTreeMap<String, String>,
}

impl RateLimitSnapshot {
    /// True when no rate-limit header has been seen yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.observed_at.is_none()
    }

    /// The windows in the order people read them: 5-hour, weekly, then the
    /// others by name.
    pub(crate) fn windows_in_order(&self) -> impl Iterator<Item = (&String, &Window)> {
        let rank = |name: &str| match name {
            "5h" => 0,
            "7d" => 1,
            _ => 2,
        };
        let mut windows: Vec<_> = self.windows.iter().collect();
        windows.sort_by_key(|(name, _)| (rank(name), name.as_str()));
        windows.into_iter()
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
    /// there is none or it cannot be read (it is only a cache). It is
    /// interpreted afresh from its raw headers, so a file saved by an older
    /// version shows every window too.
    pub(crate) fn load(path: &std::path::Path) -> Option<RateLimitSnapshot> {
        let text = std::fs::read(path).ok()?;
        let saved: RateLimitSnapshot = serde_json::from_slice(&text).ok()?;
        Some(RateLimitHeaders::from_snapshot(&saved).snapshot())
    }

    /// Saves the snapshot atomically, so a restarted gateway (or `gatehouse
    /// status` while none runs) still knows the windows.
    pub(crate) fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fs_atomic::write_private(path, &json)
    }

    fn apply_unified(&mut self, unified: Unified) {
        self.unified_status = unified.field("status").map(str::to_string);
        self.unified_resets_at = unified.field("reset").and_then(|v| v.parse().ok());
        self.representative_claim = unified.field("representative-claim").map(str::to_string);
        self.windows = unified.windows.into_iter().map(|(name, (window, _))| (name, window)).collect();
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
pub(crate) struct RateLimitHeaders {
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
    pub(crate) fn observe(&mut self, headers: &HeaderMap) -> bool {
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
            // The subscription's headers describe the windows as of this
            // response, as a set: a field it no longer carries (a window's
            // `rejected` status after the reset, a window that ended) is
            // gone, not stale. So is a `retry-after` it did not repeat.
            if headers.keys().any(|name| name.as_str().starts_with(UNIFIED)) {
                let before = self.latest.len();
                self.latest.retain(|(name, _)| !name.as_str().starts_with(UNIFIED) || headers.contains_key(name));
                changed |= self.latest.len() != before;
            }
            if !headers.contains_key(RETRY_AFTER) && self.retry_after.take().is_some() {
                changed = true;
            }
        }
        if changed {
            self.changes += 1;
        }
        seen
    }

    /// What the headers seen so far say.
    pub(crate) fn snapshot(&self) -> RateLimitSnapshot {
        let mut snapshot = RateLimitSnapshot {
            observed_at: self.observed_at.map(|at| at.to_string()),
            retry_after_secs: self.retry_after.as_ref().and_then(|v| v.trim().parse().ok()),
            ..RateLimitSnapshot::default()
        };
        let unified =
            self.latest.iter().filter_map(|(name, value)| Some((name.as_str().strip_prefix(UNIFIED)?, value.as_str())));
        snapshot.apply_unified(Unified::parse(unified));
        for (name, value) in &self.latest {
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
        assert_eq!(snapshot.windows["5h"].utilization, Some(1.0));
        assert_eq!(snapshot.windows["7d"].resets_at, Some(1764300000));
        assert_eq!(snapshot.retry_after_secs, Some(120));
        assert_eq!(snapshot.headers.len(), 7);
    }

    #[test]
    fn each_response_s_headers_replace_the_last_ones() {
        let response = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            headers
        };
        let mut seen = RateLimitHeaders::default();
        // A 429: the 5-hour window used up, a retry-after.
        seen.observe(&response(&[
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-5h-utilization", "1.0"),
            ("anthropic-ratelimit-unified-5h-status", "rejected"),
            ("anthropic-ratelimit-unified-7d_xyz-utilization", "0.5"),
            ("retry-after", "600"),
        ]));
        assert!(seen.snapshot().windows["5h"].is_rejected());
        // After the reset: allowed again, without the window's status.
        seen.observe(&response(&[
            ("anthropic-ratelimit-unified-5h-utilization", "0.1"),
            ("anthropic-ratelimit-unified-status", "allowed"),
        ]));
        let snapshot = seen.snapshot();
        assert_eq!(snapshot.unified_status.as_deref(), Some("allowed"));
        assert_eq!(snapshot.windows["5h"].utilization, Some(0.1));
        assert!(!snapshot.windows["5h"].is_rejected(), "{:?}", snapshot.windows["5h"]);
        assert!(!snapshot.windows.contains_key("7d_xyz"), "a window the response no longer has");
        assert_eq!(snapshot.retry_after_secs, None);
        assert_eq!(snapshot.headers.len(), 2);
        // A response without the subscription's headers (an API key's)
        // changes nothing about them.
        let changes = seen.changes();
        seen.observe(&response(&[("anthropic-ratelimit-requests-limit", "4000")]));
        assert_eq!(seen.snapshot().windows["5h"].utilization, Some(0.1));
        assert_eq!(seen.snapshot().headers["anthropic-ratelimit-requests-limit"], "4000");
        assert_eq!(seen.changes(), changes + 1);
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
    fn unified_lines_carry_the_unified_headers_to_the_ledger_and_back() {
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-ratelimit-unified-status", HeaderValue::from_static("allowed"));
        headers.insert("anthropic-ratelimit-requests-limit", HeaderValue::from_static("4000"));
        headers.insert("anthropic-ratelimit-unified-5h-utilization", HeaderValue::from_static("0.25"));
        headers.insert("anthropic-ratelimit-unified-5h-reset", HeaderValue::from_static("1763800000"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let lines = unified_lines(&headers).unwrap();
        assert_eq!(lines, "status\tallowed\n5h-utilization\t0.25\n5h-reset\t1763800000\n");
        let parsed = Unified::from_lines(&lines);
        assert_eq!(parsed.field("status"), Some("allowed"));
        assert_eq!(parsed.windows["5h"].0.utilization, Some(0.25));
        assert_eq!(parsed.windows["5h"].0.resets_at, Some(1763800000));

        headers.remove("anthropic-ratelimit-unified-status");
        headers.remove("anthropic-ratelimit-unified-5h-utilization");
        headers.remove("anthropic-ratelimit-unified-5h-reset");
        assert_eq!(unified_lines(&headers), None, "classic API-key headers are not unified ones");
    }

    #[test]
    fn other_headers_are_ignored() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "text/event-stream".parse().unwrap());
        let mut seen = RateLimitHeaders::default();
        assert!(!seen.observe(&headers));
        assert!(seen.snapshot().is_empty());
    }

    fn unified(pairs: &[(&str, &str)]) -> Unified {
        Unified::parse(pairs.iter().map(|(name, value)| (*name, *value)))
    }

    #[test]
    fn every_window_is_parsed_and_unknown_ones_are_kept() {
        let parsed = unified(&[
            ("status", "allowed_warning"),
            ("reset", "1763800000"),
            ("representative-claim", "seven_day_oi"),
            ("5h-utilization", "0.42"),
            ("5h-reset", "1763800000"),
            ("7d-utilization", "0.17"),
            ("7d-reset", "1764300000"),
            ("7d-status", "allowed"),
            ("7d_oi-utilization", "0.91"),
            ("7d_oi-reset", "1764300000"),
            ("7d_oi-surpassed-threshold", "0.9"),
            ("overage-status", "rejected"),
            ("overage-disabled-reason", "org_level_disabled"),
            ("fallback-percentage", "0.5"),
        ]);
        assert_eq!(parsed.windows.keys().collect::<Vec<_>>(), ["5h", "7d", "7d_oi"]);
        let (oi, raw) = &parsed.windows["7d_oi"];
        assert_eq!(oi.utilization, Some(0.91));
        assert_eq!(oi.resets_at, Some(1764300000));
        assert_eq!(raw.last(), Some(&("surpassed-threshold".to_string(), "0.9".to_string())));
        assert_eq!(parsed.windows["7d"].0.status.as_deref(), Some("allowed"));
        // "overage" has no utilization: it is a top-level field, not a window.
        assert_eq!(parsed.field("overage-status"), Some("rejected"));
        assert_eq!(parsed.field("overage-disabled-reason"), Some("org_level_disabled"));
        assert_eq!(parsed.field("fallback-percentage"), Some("0.5"));
        assert_eq!(parsed.field("representative-claim"), Some("seven_day_oi"));
    }

    #[test]
    fn missing_and_broken_fields_leave_gaps_not_errors() {
        let parsed = unified(&[("5h-utilization", "NaN"), ("5h-reset", "soon"), ("7d-reset", "1764300000")]);
        assert_eq!(parsed.windows["5h"].0, Window::default());
        assert!(!parsed.windows.contains_key("7d"), "a reset without a utilization is not a window");
        assert_eq!(parsed.field("7d-reset"), Some("1764300000"));
        assert_eq!(unified(&[]), Unified::default());
        for impossible in ["-3", "1e10", "inf", "-0.5"] {
            assert_eq!(unified(&[("1h-utilization", impossible)]).windows["1h"].0.utilization, None, "{impossible}");
        }
    }

    #[test]
    fn window_names_may_hold_dashes() {
        let parsed = unified(&[
            ("weird-window-utilization", "0.5"),
            ("weird-window-reset", "1764300000"),
            ("7d-utilization", "0.2"),
            ("7d-oi-utilization", "0.7"),
            ("7d-oi-status", "rejected"),
        ]);
        assert_eq!(parsed.windows["weird-window"].0.utilization, Some(0.5));
        assert_eq!(parsed.windows["weird-window"].0.resets_at, Some(1_764_300_000));
        assert_eq!(parsed.windows["7d"].0.utilization, Some(0.2));
        assert_eq!(parsed.windows["7d-oi"].0.utilization, Some(0.7));
        assert_eq!(parsed.windows["7d-oi"].0.status.as_deref(), Some("rejected"));
        assert_eq!(parsed.windows["7d"].0.status, None);
        assert!(parsed.top.is_empty(), "{:?}", parsed.top);
    }

    #[test]
    fn a_rejected_window_says_so_with_its_reset() {
        let zone = jiff::tz::TimeZone::fixed(jiff::tz::offset(2));
        let now = jiff::Timestamp::from_second(1_763_800_000).unwrap().to_zoned(zone); // Sat 10:26 +02
        let mut window =
            Window { utilization: Some(0.97), resets_at: Some(1_763_800_000 + 1800), status: Some("rejected".into()) };
        assert_eq!(window.describe_at(&now), "rejected until 10:56");
        window.resets_at = Some(1_763_800_000 - 60);
        assert_eq!(window.describe_at(&now), "rejected until 10:25 (passed)");
        window.resets_at = None;
        assert_eq!(window.describe_at(&now), "rejected");
    }

    #[test]
    fn windows_have_names_people_use_and_read_in_order() {
        assert_eq!(window_title("5h"), "5-hour window");
        assert_eq!(window_title("7d"), "Weekly window");
        assert_eq!(window_title("7d_oi"), "Weekly window (oi)");
        assert_eq!(window_title("1m"), "Window 1m");
        let mut headers = HeaderMap::new();
        for name in ["7d_oi", "7d", "5h", "1m"] {
            headers.insert(
                HeaderName::try_from(format!("{UNIFIED}{name}-utilization")).unwrap(),
                HeaderValue::from_static("0.1"),
            );
        }
        let mut seen = RateLimitHeaders::default();
        seen.observe(&headers);
        let snapshot = seen.snapshot();
        let order: Vec<_> = snapshot.windows_in_order().map(|(name, _)| name.as_str()).collect();
        assert_eq!(order, ["5h", "7d", "1m", "7d_oi"]);
    }

    #[test]
    fn a_snapshot_saved_by_the_previous_version_shows_every_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ratelimit.json");
        let old = r#"{"observed_at":"2026-11-30T10:00:00Z","unified_status":"allowed","unified_resets_at":null,
            "representative_claim":null,"five_hour":{"utilization":0.3,"resets_at":null,"status":null},
            "seven_day":{"utilization":null,"resets_at":null,"status":null},"retry_after_secs":null,
            "headers":{"anthropic-ratelimit-unified-5h-utilization":"0.3","anthropic-ratelimit-unified-7d_oi-utilization":"0.8",
            "anthropic-ratelimit-unified-status":"allowed"}}"#;
        std::fs::write(&path, old).unwrap();
        let loaded = RateLimitSnapshot::load(&path).unwrap();
        assert_eq!(loaded.windows["5h"].utilization, Some(0.3));
        assert_eq!(loaded.windows["7d_oi"].utilization, Some(0.8));
        assert_eq!(loaded.observed_at.as_deref(), Some("2026-11-30T10:00:00Z"));
    }
}
