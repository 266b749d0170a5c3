//! When a subscription window deserves a notification, once per crossing.
//!
//! The app sees the windows again at every snapshot refresh, and most
//! refreshes repeat what the last one said. [`WindowAlerts`] remembers, per
//! window *instance* (a window name and its reset time: a new reset time is
//! a new window), the highest threshold already notified, whether the
//! instance was reported used up, and whether its reset was announced. So a
//! crossing is notified once, however many requests or refreshes repeat it,
//! and the state is saved in the state directory so that a restarted app
//! does not notify the same crossing of the same instance again.
//!
//! Three things are notified, each switchable in `[notifications]` of
//! `config.toml`:
//! - a window crossing one of the thresholds (80% and 95% by default): one
//!   notice for the highest threshold crossed, even when one request jumps
//!   over several;
//! - a window used up (`rejected`, or at 100%), with when it resets;
//! - a window that was over a threshold and has reset, either because its
//!   reset time passed or because a reading of the next instance arrived.
//!
//! Readings that say nothing new are harmless: a reading of an older
//! instance (an out-of-order response) is ignored, a lower reading of the
//! same instance changes nothing, a reading without a reset time counts for
//! the instance already known, and a reading whose reset time has passed
//! notifies nothing but that reset.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::notice::{Notice, Opens};
use crate::anthropic::ratelimit::{Window, window_title};
use crate::config::NotificationsConfig;

/// Instances whose reset passed this long ago are forgotten: nothing about
/// them can be notified any more, and the file stays small.
const FORGET_AFTER_SECS: i64 = 8 * 24 * 3600;

/// What was notified about each window, by its name in the headers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct WindowAlerts {
    windows: BTreeMap<String, Instance>,
}

/// One window instance, as far as notifications go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Instance {
    /// Unix seconds; `None` until a reading says.
    resets_at: Option<i64>,
    /// The highest utilization read, in whole percent.
    peak: u32,
    /// The highest threshold (percent) crossed so far; 0 for none.
    crossed: u32,
    /// Whether the instance was read as used up.
    rejected: bool,
    /// Whether its reset has been dealt with (notified, or not worth it).
    reset_done: bool,
}

/// Why a notification is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum AlertKind {
    /// The window crossed this percentage.
    Threshold(u32),
    /// The window is used up until its reset.
    Rejected,
    /// The window was over a threshold and has reset.
    Reset,
}

/// A notification about one window instance.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alert {
    pub(crate) window: String,
    pub(crate) resets_at: Option<i64>,
    pub(crate) kind: AlertKind,
    pub(crate) notice: Notice,
}

impl Instance {
    fn new(resets_at: Option<i64>) -> Instance {
        Instance { resets_at, peak: 0, crossed: 0, rejected: false, reset_done: false }
    }

    /// Whether the instance went over the lowest threshold or was used up:
    /// only then is its reset news.
    fn was_over(&self, settings: &NotificationsConfig) -> bool {
        self.rejected || settings.window_thresholds.first().is_some_and(|&lowest| self.peak >= lowest)
    }

    fn has_passed(&self, now: i64) -> bool {
        self.resets_at.is_some_and(|at| at <= now)
    }
}

/// A utilization as whole percent, as people read it ("80%").
fn percent(utilization: f64) -> u32 {
    // Clamped, so that NaN or a negative value reads as 0.
    (utilization * 100.0).round().clamp(0.0, 1000.0) as u32
}

impl WindowAlerts {
    /// The saved state; empty when there is none or it cannot be read (at
    /// worst a crossing is notified once more).
    pub(crate) fn load(path: &Path) -> WindowAlerts {
        std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok()).unwrap_or_default()
    }

    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::fs_atomic::write_private(path, &json)
    }

    /// Takes in the windows as the gateway last saw them, at `now` (Unix
    /// seconds), and returns what to notify. `windows` may be empty (no
    /// gateway answers): resets are still noticed as their time passes.
    pub(crate) fn observe<'a>(
        &mut self,
        windows: impl IntoIterator<Item = (&'a str, &'a Window)>,
        settings: &NotificationsConfig,
        now: i64,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for (name, window) in windows {
            self.read(name, window, settings, now, &mut alerts);
        }
        for (name, instance) in &mut self.windows {
            if instance.has_passed(now) && !instance.reset_done {
                instance.reset_done = true;
                if settings.window_reset && instance.was_over(settings) {
                    alerts.push(reset_alert(name, instance.resets_at));
                }
            }
        }
        self.windows.retain(|_, instance| instance.resets_at.is_none_or(|at| at > now - FORGET_AFTER_SECS));
        alerts
    }

    fn read(&mut self, name: &str, window: &Window, settings: &NotificationsConfig, now: i64, alerts: &mut Vec<Alert>) {
        let instance = self.windows.entry(name.to_string()).or_insert_with(|| Instance::new(window.resets_at));
        match (instance.resets_at, window.resets_at) {
            // An older instance's reading, arriving late: nothing new.
            (Some(known), Some(read)) if read < known => return,
            (Some(known), Some(read)) if read > known => {
                // The next instance: the known one has reset.
                if !instance.reset_done && settings.window_reset && instance.was_over(settings) {
                    alerts.push(reset_alert(name, instance.resets_at));
                }
                *instance = Instance::new(Some(read));
            }
            (None, Some(read)) => instance.resets_at = Some(read),
            // The same instance, or a reading that does not say which.
            _ => {}
        }
        let used = percent(window.utilization.filter(|u| u.is_finite()).unwrap_or(0.0));
        instance.peak = instance.peak.max(used);
        if instance.has_passed(now) {
            // The figure belongs to a window that is over.
            return;
        }
        let title = window_title(name);
        if (window.is_rejected() || used >= 100) && !instance.rejected {
            instance.rejected = true;
            if settings.window_rejected {
                // Used up says more than any threshold would.
                instance.crossed = instance.crossed.max(settings.window_thresholds.iter().copied().max().unwrap_or(0));
                alerts.push(Alert {
                    window: name.to_string(),
                    resets_at: instance.resets_at,
                    kind: AlertKind::Rejected,
                    notice: Notice {
                        opens: Opens::Windows,
                        title: format!("{title} used up"),
                        body: format!(
                            "Claude refuses requests that count against it: {}.",
                            describe_used_up(window, instance.resets_at)
                        ),
                    },
                });
            }
        }
        let highest = settings.window_thresholds.iter().copied().filter(|&t| used >= t).max();
        if let Some(threshold) = highest.filter(|&t| t > instance.crossed) {
            instance.crossed = threshold;
            alerts.push(Alert {
                window: name.to_string(),
                resets_at: instance.resets_at,
                kind: AlertKind::Threshold(threshold),
                notice: Notice {
                    opens: Opens::Windows,
                    title: format!("{title} at {threshold}%"),
                    body: format!("{title}: {}", window.describe()),
                },
            });
        }
    }
}

/// "rejected until 19:00", or "until it resets" when no reset time is known.
fn describe_used_up(window: &Window, resets_at: Option<i64>) -> String {
    let shown = Window { resets_at: window.resets_at.or(resets_at), status: Some("rejected".into()), ..window.clone() };
    match shown.resets_at {
        Some(_) => shown.describe(),
        None => "until it resets".to_string(),
    }
}

fn reset_alert(name: &str, resets_at: Option<i64>) -> Alert {
    // Mid-sentence: "Your weekly window reset", "Your window 7d_x reset".
    let title = window_title(name);
    let mut chars = title.chars();
    let lowercase: String = chars.next().into_iter().flat_map(char::to_lowercase).chain(chars).collect();
    Alert {
        window: name.to_string(),
        resets_at,
        kind: AlertKind::Reset,
        notice: Notice {
            opens: Opens::Windows,
            title: format!("Your {lowercase} reset"),
            body: format!("The {lowercase} starts again from 0%."),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000;
    const HOUR: i64 = 3600;

    fn defaults() -> NotificationsConfig {
        NotificationsConfig::default()
    }

    fn window(utilization: f64, resets_at: i64) -> Window {
        Window { utilization: Some(utilization), resets_at: Some(resets_at), status: None }
    }

    fn kinds(alerts: &[Alert]) -> Vec<(String, AlertKind)> {
        alerts.iter().map(|a| (a.window.clone(), a.kind)).collect()
    }

    fn one(alerts: &mut WindowAlerts, name: &str, w: &Window, now: i64) -> Vec<(String, AlertKind)> {
        kinds(&alerts.observe([(name, w)], &defaults(), now))
    }

    #[test]
    fn each_threshold_is_notified_once_per_window_instance() {
        let mut alerts = WindowAlerts::default();
        let reset = NOW + 2 * HOUR;
        assert!(one(&mut alerts, "5h", &window(0.42, reset), NOW).is_empty());
        let at80 = alerts.observe([("5h", &window(0.81, reset))], &defaults(), NOW);
        assert_eq!(kinds(&at80), vec![("5h".into(), AlertKind::Threshold(80))]);
        assert_eq!(at80[0].notice.title, "5-hour window at 80%");
        assert!(at80[0].notice.body.starts_with("5-hour window: 81% · resets "), "{:?}", at80[0].notice);
        // Every later refresh and request says the same: nothing new.
        for u in [0.81, 0.83, 0.80, 0.79, 0.9] {
            assert!(one(&mut alerts, "5h", &window(u, reset), NOW + 1).is_empty(), "{u}");
        }
        assert_eq!(
            one(&mut alerts, "5h", &window(0.95, reset), NOW + 2),
            vec![("5h".into(), AlertKind::Threshold(95))]
        );
        assert!(one(&mut alerts, "5h", &window(0.97, reset), NOW + 3).is_empty());
        // Another window is its own.
        assert_eq!(
            one(&mut alerts, "7d", &window(0.8, NOW + 100 * HOUR), NOW),
            vec![("7d".into(), AlertKind::Threshold(80))]
        );
    }

    #[test]
    fn a_jump_over_several_thresholds_is_one_notice() {
        let mut alerts = WindowAlerts::default();
        assert_eq!(one(&mut alerts, "5h", &window(0.6, NOW + HOUR), NOW), vec![]);
        assert_eq!(
            one(&mut alerts, "5h", &window(0.99, NOW + HOUR), NOW),
            vec![("5h".into(), AlertKind::Threshold(95))]
        );
    }

    #[test]
    fn a_used_up_window_says_so_with_its_reset_once() {
        let mut alerts = WindowAlerts::default();
        let reset = NOW + HOUR;
        let rejected = Window { utilization: Some(0.99), resets_at: Some(reset), status: Some("rejected".into()) };
        let got = alerts.observe([("7d_oi", &rejected)], &defaults(), NOW);
        assert_eq!(kinds(&got), vec![("7d_oi".into(), AlertKind::Rejected)], "the threshold notice is folded in");
        assert_eq!(got[0].notice.title, "Weekly window (oi) used up");
        assert!(got[0].notice.body.contains("rejected until "), "{:?}", got[0].notice);
        assert!(one(&mut alerts, "7d_oi", &rejected, NOW + 5).is_empty());
        // 100% without a status is used up too.
        assert_eq!(one(&mut alerts, "5h", &window(1.0, reset), NOW), vec![("5h".into(), AlertKind::Rejected)]);

        // Rejected notices off: the threshold still speaks.
        let settings = NotificationsConfig { window_rejected: false, ..defaults() };
        let mut alerts = WindowAlerts::default();
        assert_eq!(
            kinds(&alerts.observe([("5h", &rejected)], &settings, NOW)),
            vec![("5h".into(), AlertKind::Threshold(95))]
        );
    }

    #[test]
    fn a_reset_after_being_over_a_threshold_is_notified_once() {
        let mut alerts = WindowAlerts::default();
        let first = NOW + HOUR;
        one(&mut alerts, "5h", &window(0.85, first), NOW);
        // The next instance's reading arrives: the window reset.
        let next = first + 5 * HOUR;
        let got = alerts.observe([("5h", &window(0.02, next))], &defaults(), first + 10);
        assert_eq!(kinds(&got), vec![("5h".into(), AlertKind::Reset)]);
        assert_eq!(got[0].notice.title, "Your 5-hour window reset");
        assert!(one(&mut alerts, "5h", &window(0.03, next), first + 20).is_empty());
        // A late response of the old instance changes nothing.
        assert!(one(&mut alerts, "5h", &window(0.9, first), first + 30).is_empty());

        // With no new reading, the reset time passing is enough, once.
        let mut alerts = WindowAlerts::default();
        one(&mut alerts, "7d", &window(0.96, first), NOW);
        assert!(kinds(&alerts.observe([], &defaults(), first - 1)).is_empty());
        let got = alerts.observe([], &defaults(), first);
        assert_eq!(got[0].notice.title, "Your weekly window reset");
        assert!(alerts.observe([], &defaults(), first + 60).is_empty());
        // The gateway still shows the old reading: no threshold for a window that is over.
        assert!(one(&mut alerts, "7d", &window(0.96, first), first + 61).is_empty());
        // Its next instance reads again, without a second reset notice.
        assert!(one(&mut alerts, "7d", &window(0.1, first + 168 * HOUR), first + 62).is_empty());

        // Never over a threshold: a reset is not news.
        let mut alerts = WindowAlerts::default();
        one(&mut alerts, "5h", &window(0.5, first), NOW);
        assert!(alerts.observe([], &defaults(), first + 1).is_empty());
        // Reset notices off.
        let mut alerts = WindowAlerts::default();
        let quiet = NotificationsConfig { window_reset: false, ..defaults() };
        alerts.observe([("5h", &window(0.9, first))], &quiet, NOW);
        assert!(alerts.observe([], &quiet, first + 1).is_empty());
    }

    #[test]
    fn missing_fields_and_unknown_windows() {
        let mut alerts = WindowAlerts::default();
        // No reset time: notified once, and the instance learns it later.
        let blind = Window { utilization: Some(0.82), resets_at: None, status: None };
        assert_eq!(one(&mut alerts, "7d_xyz", &blind, NOW), vec![("7d_xyz".into(), AlertKind::Threshold(80))]);
        assert!(one(&mut alerts, "7d_xyz", &window(0.83, NOW + HOUR), NOW).is_empty());
        assert!(one(&mut alerts, "7d_xyz", &blind, NOW + 1).is_empty());
        // No utilization: nothing to say.
        let empty = Window { utilization: None, resets_at: Some(NOW + HOUR), status: None };
        assert!(one(&mut alerts, "5h", &empty, NOW).is_empty());
        let nan = Window { utilization: Some(f64::NAN), ..empty.clone() };
        assert!(one(&mut alerts, "5h", &nan, NOW).is_empty());
        // A used-up window with no reset time says so.
        let rejected = Window { utilization: None, resets_at: None, status: Some("rejected".into()) };
        let got = WindowAlerts::default().observe([("x", &rejected)], &defaults(), NOW);
        assert!(got[0].notice.body.contains("until it resets"), "{:?}", got[0].notice);
        assert_eq!(got[0].notice.title, "Window x used up");
        let mut alerts = WindowAlerts::default();
        alerts.observe([("x", &window(0.9, NOW + 10))], &defaults(), NOW);
        assert_eq!(alerts.observe([], &defaults(), NOW + 10)[0].notice.title, "Your window x reset");
    }

    #[test]
    fn thresholds_follow_the_settings() {
        let settings = NotificationsConfig { window_thresholds: vec![50], ..defaults() };
        let mut alerts = WindowAlerts::default();
        assert_eq!(
            kinds(&alerts.observe([("5h", &window(0.5, NOW + HOUR))], &settings, NOW)),
            vec![("5h".into(), AlertKind::Threshold(50))]
        );
        assert!(alerts.observe([("5h", &window(0.96, NOW + HOUR))], &settings, NOW).is_empty());
        let none = NotificationsConfig { window_thresholds: vec![], ..defaults() };
        assert!(WindowAlerts::default().observe([("5h", &window(0.99, NOW + HOUR))], &none, NOW).is_empty());
    }

    #[test]
    fn a_restart_does_not_notify_the_same_crossing_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/window-alerts.json");
        let reset = NOW + HOUR;
        let mut alerts = WindowAlerts::load(&path);
        assert_eq!(one(&mut alerts, "5h", &window(0.85, reset), NOW).len(), 1);
        alerts.save(&path).unwrap();

        let mut restarted = WindowAlerts::load(&path);
        assert_eq!(restarted, alerts);
        assert!(one(&mut restarted, "5h", &window(0.85, reset), NOW + 10).is_empty());
        // The next instance is new news.
        assert_eq!(
            one(&mut restarted, "5h", &window(0.2, reset + 5 * HOUR), reset + 10),
            vec![("5h".into(), AlertKind::Reset)]
        );
        // An unreadable file is no state: at worst one notice more.
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(WindowAlerts::load(&path), WindowAlerts::default());
    }

    #[test]
    fn long_gone_instances_are_forgotten() {
        let mut alerts = WindowAlerts::default();
        one(&mut alerts, "5h", &window(0.9, NOW), NOW - 10);
        alerts.observe([], &defaults(), NOW + FORGET_AFTER_SECS + 1);
        assert_eq!(alerts, WindowAlerts::default());
    }

    /// One refresh: what the gateway shows for a few windows, and the clock.
    #[derive(Debug, Clone)]
    struct Step {
        readings: Vec<(&'static str, Window)>,
        /// Seconds since the previous step.
        advance: i64,
        /// The app restarts before this step.
        restart: bool,
    }

    fn reading_strategy() -> impl Strategy<Value = (&'static str, Window)> {
        (
            prop::sample::select(vec!["5h", "7d", "7d_oi"]),
            prop::option::of(0.0f64..1.05),
            prop::option::of(0i64..4),
            prop::option::of(prop::sample::select(vec!["allowed", "allowed_warning", "rejected"])),
        )
            .prop_map(|(name, utilization, instance, status)| {
                let window = Window {
                    utilization,
                    resets_at: instance.map(|i| NOW + (i + 1) * 5 * HOUR),
                    status: status.map(str::to_string),
                };
                (name, window)
            })
    }

    fn steps_strategy() -> impl Strategy<Value = Vec<Step>> {
        let step = (prop::collection::vec(reading_strategy(), 0..4), 0i64..4 * HOUR, prop::bool::weighted(0.1))
            .prop_map(|(readings, advance, restart)| Step { readings, advance, restart });
        prop::collection::vec(step, 1..40)
    }

    /// Runs the steps, saving and reloading the state at each restart.
    fn run(steps: &[Step], settings: &NotificationsConfig, restarts: bool) -> Vec<(Alert, i64)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("window-alerts.json");
        let mut alerts = WindowAlerts::default();
        let mut now = NOW;
        let mut all = Vec::new();
        for step in steps {
            now += step.advance;
            if restarts && step.restart {
                alerts.save(&path).unwrap();
                alerts = WindowAlerts::load(&path);
            }
            let got = alerts.observe(step.readings.iter().map(|(n, w)| (*n, w)), settings, now);
            all.extend(got.into_iter().map(|alert| (alert, now)));
        }
        all
    }

    fn settings_strategy() -> impl Strategy<Value = NotificationsConfig> {
        (prop::sample::subsequence(vec![50u32, 80, 95, 100], 0..=4), any::<bool>(), any::<bool>()).prop_map(
            |(window_thresholds, window_rejected, window_reset)| NotificationsConfig {
                window_thresholds,
                window_rejected,
                window_reset,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn once_per_crossing_of_each_instance(steps in steps_strategy(), settings in settings_strategy()) {
            let alerts = run(&steps, &settings, true);
            let mut seen = std::collections::HashSet::new();
            for (alert, _) in &alerts {
                // A window instance is notified of each kind at most once,
                // and its thresholds only ever go up.
                prop_assert!(seen.insert((alert.window.clone(), alert.resets_at, alert.kind)), "twice: {alert:?}");
                match alert.kind {
                    AlertKind::Threshold(t) => {
                        prop_assert!(settings.window_thresholds.contains(&t));
                        let higher_before = alerts.iter().take_while(|(a, _)| a != alert).any(|(a, _)| {
                            a.window == alert.window && a.resets_at == alert.resets_at
                                && matches!(a.kind, AlertKind::Threshold(u) if u > t)
                        });
                        prop_assert!(!higher_before, "{alert:?} after a higher one");
                    }
                    AlertKind::Rejected => prop_assert!(settings.window_rejected),
                    AlertKind::Reset => prop_assert!(settings.window_reset),
                }
            }
        }

        #[test]
        fn a_restart_changes_nothing(steps in steps_strategy(), settings in settings_strategy()) {
            let strip = |alerts: Vec<(Alert, i64)>| -> Vec<(String, Option<i64>, AlertKind, i64)> {
                alerts.into_iter().map(|(a, now)| (a.window, a.resets_at, a.kind, now)).collect()
            };
            prop_assert_eq!(strip(run(&steps, &settings, true)), strip(run(&steps, &settings, false)));
        }

        #[test]
        fn a_crossing_in_a_live_window_is_told(steps in steps_strategy()) {
            // Defaults: 80 and 95, used up and resets on.
            let settings = defaults();
            let alerts = run(&steps, &settings, false);
            let mut now = NOW;
            for step in &steps {
                now += step.advance;
                for (name, window) in &step.readings {
                    let (Some(u), Some(at)) = (window.utilization, window.resets_at) else { continue };
                    // Only the newest instance seen so far is live; older ones are stale.
                    let newest = steps.iter().flat_map(|s| &s.readings).filter(|(n, _)| n == name)
                        .filter_map(|(_, w)| w.resets_at).max();
                    if at <= now || newest != Some(at) || percent(u) < 80 {
                        continue;
                    }
                    let told = alerts.iter().any(|(a, when)| {
                        &a.window == name && a.resets_at.is_none_or(|r| r == at) && *when <= now
                            && matches!(a.kind, AlertKind::Threshold(_) | AlertKind::Rejected)
                    });
                    prop_assert!(told, "{name} at {u} (reset {at}) at {now} was not told: {alerts:?}");
                }
            }
        }
    }
}
