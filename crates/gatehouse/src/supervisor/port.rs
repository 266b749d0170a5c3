//! Who is listening on a TCP port.
//!
//! When the gateway's port is taken, "address in use" alone leaves the user
//! guessing; naming the process (and its command line) tells them what to
//! stop, or shows that it is a gateway of ours to adopt. Sockets are mapped
//! to processes by the `listeners` crate (on Linux: `/proc/net/tcp*` inodes
//! matched against `/proc/<pid>/fd`), so only processes whose file
//! descriptors this user may read can be named.

use std::net::IpAddr;

use super::process::{self, ProcessInfo};

/// The process listening on `port` at an address that conflicts with
/// `ip`, if one can be seen.
pub fn holder(ip: IpAddr, port: u16) -> Option<ProcessInfo> {
    let listeners = listeners::get_all().ok()?;
    let mut pids: Vec<u32> = listeners
        .into_iter()
        .filter(|l| {
            l.protocol == listeners::Protocol::TCP
                && l.state == listeners::SocketState::Listen
                && l.socket.port() == port
                && overlaps(l.socket.ip(), ip)
        })
        .map(|l| l.process.pid)
        .collect();
    // Several processes can share one listening socket (a forked server);
    // the oldest pid is usually the one the user started.
    pids.sort_unstable();
    pids.into_iter().find_map(process::inspect)
}

/// Whether binding `ours` would clash with a listener on `theirs`: the same
/// address, or either one the wildcard of its family (a dual-stack `::`
/// listener takes IPv4 too).
fn overlaps(theirs: IpAddr, ours: IpAddr) -> bool {
    theirs == ours || theirs.is_unspecified() || ours.is_unspecified() || theirs.to_canonical() == ours
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_this_process_as_the_holder_of_its_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = holder(IpAddr::from([127, 0, 0, 1]), port).expect("the holder is found");
        assert_eq!(holder.pid, std::process::id());
        drop(listener);
        assert_eq!(super::holder(IpAddr::from([127, 0, 0, 1]), port), None);
    }

    #[test]
    fn wildcards_overlap_specific_addresses() {
        let loopback = IpAddr::from([127, 0, 0, 1]);
        assert!(overlaps(IpAddr::from([0, 0, 0, 0]), loopback));
        assert!(overlaps("::".parse().unwrap(), loopback));
        assert!(overlaps("::ffff:127.0.0.1".parse().unwrap(), loopback));
        assert!(!overlaps(IpAddr::from([192, 168, 1, 2]), loopback));
    }
}
