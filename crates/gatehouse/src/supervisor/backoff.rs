//! When to restart a crashed gateway, and when to stop trying.
//!
//! Each crash doubles the wait before the next start, up to a ceiling, so a
//! gateway that dies at once does not spin the CPU. Crashes are counted in a
//! sliding window: a gateway that ran well for a while starts again with a
//! short wait, while one that keeps dying is given up on, because by then a
//! restart will not fix it and the user needs to see the error.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::SupervisorConfig;

/// The numbers that decide restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// The wait after the first crash in the window.
    pub initial_delay: Duration,
    /// The longest wait between two starts.
    pub max_delay: Duration,
    /// This many crashes within `window` and the supervisor gives up.
    pub crash_limit: u32,
    pub window: Duration,
}

impl RestartPolicy {
    pub fn from_config(config: &SupervisorConfig) -> RestartPolicy {
        RestartPolicy {
            initial_delay: Duration::from_millis(config.restart_delay_ms),
            max_delay: Duration::from_secs(config.restart_delay_max_secs),
            // Zero would mean "give up before the first crash", which is meaningless.
            crash_limit: config.crash_limit.max(1),
            window: Duration::from_secs(config.crash_window_secs),
        }
    }
}

/// What to do after a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start again after this wait; `attempt` counts crashes in the window.
    Restart { attempt: u32, delay: Duration },
    /// Too many crashes in the window.
    GiveUp { crashes: u32 },
}

/// The recent crashes of one gateway.
#[derive(Debug, Default)]
pub struct CrashHistory {
    crashes: VecDeque<Instant>,
}

impl CrashHistory {
    /// Records a crash at `now` and decides what happens next.
    pub fn record(&mut self, policy: &RestartPolicy, now: Instant) -> Decision {
        while self.crashes.front().is_some_and(|&at| now.saturating_duration_since(at) > policy.window) {
            self.crashes.pop_front();
        }
        self.crashes.push_back(now);
        let crashes = u32::try_from(self.crashes.len()).unwrap_or(u32::MAX);
        if crashes >= policy.crash_limit {
            return Decision::GiveUp { crashes };
        }
        let doublings = crashes.saturating_sub(1).min(31);
        let delay = policy.initial_delay.saturating_mul(1 << doublings).min(policy.max_delay);
        Decision::Restart { attempt: crashes, delay }
    }

    /// Forgets every crash: the user asked for a fresh start.
    pub fn clear(&mut self) {
        self.crashes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RestartPolicy {
        RestartPolicy {
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(3),
            crash_limit: 5,
            window: Duration::from_secs(60),
        }
    }

    #[test]
    fn delay_doubles_up_to_the_ceiling_then_gives_up() {
        let mut history = CrashHistory::default();
        let start = Instant::now();
        let delays: Vec<Decision> = (0..5).map(|i| history.record(&policy(), start + Duration::from_secs(i))).collect();
        assert_eq!(
            delays,
            [
                Decision::Restart { attempt: 1, delay: Duration::from_millis(500) },
                Decision::Restart { attempt: 2, delay: Duration::from_secs(1) },
                Decision::Restart { attempt: 3, delay: Duration::from_secs(2) },
                Decision::Restart { attempt: 4, delay: Duration::from_secs(3) },
                Decision::GiveUp { crashes: 5 },
            ]
        );
    }

    #[test]
    fn crashes_outside_the_window_are_forgotten() {
        let mut history = CrashHistory::default();
        let start = Instant::now();
        for i in 0..4 {
            history.record(&policy(), start + Duration::from_secs(i));
        }
        let later = start + Duration::from_secs(200);
        assert_eq!(
            history.record(&policy(), later),
            Decision::Restart { attempt: 1, delay: Duration::from_millis(500) }
        );
    }

    #[test]
    fn a_limit_of_one_gives_up_on_the_first_crash() {
        let policy = RestartPolicy { crash_limit: 1, ..policy() };
        assert_eq!(CrashHistory::default().record(&policy, Instant::now()), Decision::GiveUp { crashes: 1 });
    }

    #[test]
    fn clearing_starts_over() {
        let mut history = CrashHistory::default();
        let now = Instant::now();
        history.record(&policy(), now);
        history.record(&policy(), now);
        history.clear();
        assert_eq!(history.record(&policy(), now), Decision::Restart { attempt: 1, delay: Duration::from_millis(500) });
    }
}
