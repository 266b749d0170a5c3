//! The bits of a ledger row's `flags` column: what explains a request's
//! cost or its jump in a subscription window beyond its token counts.

/// A large cache write after the session sat idle longer than the cache's
/// lifetime: the cached prompt expired and was written again.
pub const CACHE_REBUILD_IDLE: i64 = 1;
/// A large cache write right after the session switched models: caches are
/// per model, so the whole prompt was written again.
pub const CACHE_REBUILD_MODEL_SWITCH: i64 = 2;
/// The response carried `anthropic-ratelimit-unified-*` headers (a
/// subscription request): its window readings are those stored at or
/// before it.
pub const WINDOW_HEADERS: i64 = 4;
/// The request went on to this row's upstream because an earlier one of
/// its route refused it: the subscription's window was used up (quota 429).
pub const FAILOVER_QUOTA: i64 = 8;
/// … because an earlier upstream was overloaded (529).
pub const FAILOVER_OVERLOADED: i64 = 16;
/// … because an earlier upstream answered another 5xx.
pub const FAILOVER_SERVER_ERROR: i64 = 32;
/// … because an earlier upstream could not be reached, or did not answer in time.
pub const FAILOVER_UNREACHABLE: i64 = 64;
/// … because an earlier upstream was resting after a failure, or had no key.
pub const FAILOVER_PASSED_OVER: i64 = 128;
/// … because an earlier upstream's budget (`[[budgets]]`) was used up.
pub const FAILOVER_BUDGET: i64 = 512;

/// The request was served with a paid credential (an API key: a paid
/// upstream's, the gateway's, or the client's own `x-api-key`), so its cost
/// was billed. Without it, a gateway row's cost is subscription-equivalent:
/// what the request would have cost at API list prices, served by Claude
/// Code's subscription login.
pub const BILLED: i64 = 256;

/// The request came in on OpenAI's Chat Completions API
/// (`/v1/chat/completions`), served through the LiteLLM engine, rather
/// than on Anthropic's Messages API.
pub const CHAT_COMPLETIONS: i64 = 1024;

/// A cache write of at least this many tokens, and more than was read from
/// the cache, counts as rebuilding the prompt rather than extending it.
pub const REBUILD_MIN_TOKENS: u64 = 2_048;

/// Why a request failed over, for people; `None` when it did not.
pub fn failover_reason(flags: i64) -> Option<String> {
    let reasons: Vec<&str> = FAILOVER_REASONS.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, why)| *why).collect();
    (!reasons.is_empty()).then(|| format!("failed over: {}", reasons.join("; ")))
}

const FAILOVER_REASONS: [(i64, &str); 6] = [
    (FAILOVER_QUOTA, "the subscription's window was used up"),
    (FAILOVER_OVERLOADED, "an upstream was overloaded"),
    (FAILOVER_SERVER_ERROR, "an upstream answered a server error"),
    (FAILOVER_UNREACHABLE, "an upstream could not be reached"),
    (FAILOVER_PASSED_OVER, "an upstream was resting or had no key"),
    (FAILOVER_BUDGET, "an upstream's budget was used up"),
];

/// The names of the flags set in `flags`, for people.
pub fn describe(flags: i64) -> Vec<&'static str> {
    [(CACHE_REBUILD_IDLE, "cache rebuild after idle"), (CACHE_REBUILD_MODEL_SWITCH, "cache rebuild after model switch")]
        .into_iter()
        .chain(FAILOVER_REASONS)
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| name)
        .collect()
}
