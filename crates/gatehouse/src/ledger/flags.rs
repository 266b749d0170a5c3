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

/// A cache write of at least this many tokens, and more than was read from
/// the cache, counts as rebuilding the prompt rather than extending it.
pub const REBUILD_MIN_TOKENS: u64 = 2_048;

/// The names of the flags set in `flags`, for people.
pub fn describe(flags: i64) -> Vec<&'static str> {
    [(CACHE_REBUILD_IDLE, "cache rebuild after idle"), (CACHE_REBUILD_MODEL_SWITCH, "cache rebuild after model switch")]
        .into_iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| name)
        .collect()
}
