//! The process's open-file limit (`RLIMIT_NOFILE`), and what to say when it runs out.
//!
//! Every client connection and every upstream connection holds a file
//! descriptor. Desktop sessions usually start programs with a soft limit of
//! 1,024 and a far higher hard limit, so the gateway raises its soft limit to
//! the hard one at start; and when descriptors still run out, it says so
//! rather than blaming the network.

use std::io;

/// Raises the soft open-file limit to the hard one. Returns the limits
/// before and after, when they changed.
pub(crate) fn raise_to_hard() -> io::Result<Option<(u64, u64)>> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct it is given, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur >= limit.rlim_max {
        return Ok(None);
    }
    let before = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Some((before, limit.rlim_cur)))
}

/// The current soft open-file limit, when there is one.
pub(crate) fn open_files() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct it is given, which lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    Some(limit.rlim_cur)
}

/// Whether `error` is this process (EMFILE) or the whole system (ENFILE)
/// running out of file descriptors.
pub(crate) fn is_exhaustion(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// The first EMFILE or ENFILE among `error` and its causes. io::Errors that
/// wrap another error hide it from `source()`, so they are unwrapped by hand.
pub(crate) fn find_exhaustion<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e io::Error> {
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(io_error) = cause.downcast_ref::<io::Error>() {
            if is_exhaustion(io_error) {
                return Some(io_error);
            }
            if let Some(inner) = io_error.get_ref() {
                next = Some(inner);
                continue;
            }
        }
        next = cause.source();
    }
    None
}

/// What ran out and what to do about it.
pub(crate) fn exhausted_message(error: &io::Error) -> String {
    if error.raw_os_error() == Some(libc::ENFILE) {
        return "the system has run out of open files (ENFILE): too many files are open on this machine; close \
                programs you do not need, or raise the system limit (fs.file-max)"
            .to_string();
    }
    let limit = open_files().map_or_else(|| "its limit".to_string(), |n| format!("its limit of {n}"));
    format!(
        "the gateway has run out of open files ({limit}, EMFILE): too many connections are open at once; close \
         clients you no longer use, or raise the open-file limit (`ulimit -n`, or LimitNOFILE= for a service) \
         before starting the gateway"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustion_is_found_through_wrappers() {
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        assert!(is_exhaustion(&emfile));
        let wrapped = io::Error::other(io::Error::from_raw_os_error(libc::EMFILE));
        assert!(find_exhaustion(&wrapped).is_some());
        let refused = io::Error::from_raw_os_error(libc::ECONNREFUSED);
        assert!(find_exhaustion(&refused).is_none());
        assert!(exhausted_message(&emfile).contains("ulimit -n"));
        assert!(exhausted_message(&io::Error::from_raw_os_error(libc::ENFILE)).contains("system"));
    }
}
