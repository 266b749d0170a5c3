//! Session stickiness: a Claude Code session that a later upstream of its
//! route took over stays there while that upstream serves it, so that its
//! prompt cache, which lives with the upstream, survives.
//!
//! Without it, a session that failed over from one paid upstream to
//! another would go back to the first as soon as its rest was over, and
//! write its whole prompt to a cold cache there. The subscription is the
//! exception, on purpose: a session always goes back to the subscription's
//! login once it serves again. Staying on a paid upstream costs dollars on
//! every request; going back costs one cache write, paid in window
//! percentage rather than dollars.
//!
//! A session is forgotten once it has been idle longer than the longest
//! prompt-cache lifetime (one hour): its cache is cold everywhere by then.
//! Only sessions that failed over are kept, so a gateway that never fails
//! over pays one atomic load per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::upstreams::UpstreamId;

/// The longest prompt-cache lifetime Anthropic offers.
const CACHE_LIFETIME: Duration = Duration::from_secs(3600);
/// Sessions kept at most; past this, the idlest are forgotten first.
const MAX_SESSIONS: usize = 10_000;

/// Which upstream each session that failed over sticks to.
#[derive(Default)]
pub(crate) struct Sticky {
    sessions: Mutex<HashMap<Box<str>, (UpstreamId, Instant)>>,
    /// Whether `sessions` may hold anything: the common case reads only this.
    any: AtomicBool,
}

impl Sticky {
    /// The upstream `session` sticks to, if it is known and not idle too long.
    #[inline]
    pub(crate) fn upstream_for(&self, session: &str) -> Option<UpstreamId> {
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        let sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.get(session).filter(|(_, last)| last.elapsed() < CACHE_LIFETIME).map(|&(upstream, _)| upstream)
    }

    /// Remembers that `upstream`, a later upstream of the session's route,
    /// served `session`.
    pub(crate) fn stick(&self, session: &str, upstream: UpstreamId) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if sessions.len() >= MAX_SESSIONS && !sessions.contains_key(session) {
            sessions.retain(|_, (_, last)| last.elapsed() < CACHE_LIFETIME);
            if sessions.len() >= MAX_SESSIONS
                && let Some(idlest) = sessions.iter().min_by_key(|(_, (_, last))| *last).map(|(key, _)| key.clone())
            {
                sessions.remove(&idlest);
            }
        }
        sessions.insert(session.into(), (upstream, Instant::now()));
        self.any.store(true, Ordering::Relaxed);
    }

    /// Forgets `session`: the first upstream of its route served it.
    #[inline]
    pub(crate) fn forget(&self, session: &str) {
        if !self.any.load(Ordering::Relaxed) {
            return;
        }
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.remove(session);
        if sessions.is_empty() {
            self.any.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_sticks_until_forgotten_or_idle_past_the_cache_lifetime() {
        let sticky = Sticky::default();
        let (first, second) = (UpstreamId::at(1), UpstreamId::at(2));
        assert_eq!(sticky.upstream_for("s-1"), None);
        sticky.stick("s-1", first);
        sticky.stick("s-2", second);
        assert_eq!(sticky.upstream_for("s-1"), Some(first));
        assert_eq!(sticky.upstream_for("s-2"), Some(second));
        sticky.forget("s-1");
        assert_eq!(sticky.upstream_for("s-1"), None);
        let Some(long_ago) = Instant::now().checked_sub(CACHE_LIFETIME) else { return };
        sticky.sessions.lock().unwrap().get_mut("s-2").unwrap().1 = long_ago;
        assert_eq!(sticky.upstream_for("s-2"), None, "its cache is cold everywhere");
        sticky.forget("s-2");
        assert!(!sticky.any.load(Ordering::Relaxed));
    }

    #[test]
    fn the_idlest_session_goes_first_when_full() {
        let sticky = Sticky::default();
        for n in 0..MAX_SESSIONS {
            sticky.stick(&format!("s-{n}"), UpstreamId::at(1));
        }
        sticky.stick("new", UpstreamId::at(1));
        assert_eq!(sticky.sessions.lock().unwrap().len(), MAX_SESSIONS);
        assert_eq!(sticky.upstream_for("new"), Some(UpstreamId::at(1)));
    }
}
