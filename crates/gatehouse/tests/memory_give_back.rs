//! `desktop::memory::give_back` returns freed heap to the system. A test
//! binary of its own: it reads this process's resident memory, which other
//! tests running beside it would move.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

/// Resident anonymous memory of this process, in kB.
fn rss_anon_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("RssAnon:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn heap_freed_on_a_worker_thread_leaves_the_process() {
    // As a page's answer is built on a worker thread: 40 MB of small
    // blocks in that thread's arena, of which every 50th outlives the
    // thread. The free space between them cannot shrink the arena from
    // its top, so it stays resident until trimmed.
    let kept: Vec<Vec<u8>> = std::thread::spawn(|| {
        let blocks: Vec<Vec<u8>> = (0..40_000).map(|i| vec![i as u8; 1000]).collect();
        blocks.into_iter().step_by(50).collect()
    })
    .join()
    .unwrap();
    let before = rss_anon_kb();
    gatehouse::desktop::memory::give_back();
    let after = rss_anon_kb();
    assert_eq!(kept.len(), 800);
    assert!(before >= after + 20_000, "RssAnon {before} kB before giving back, {after} kB after");
}
