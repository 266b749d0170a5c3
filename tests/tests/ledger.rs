//! The ledger under a hostile disk: the `gatehouse` binary serving the mock
//! Anthropic API while its ledger fills the disk, is deleted, or commits
//! many times. A served request must end up recorded, or the gateway must
//! say why it is not.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gatehouse_e2e::harness::{GatewayProcess, Sandbox, wait_for};
use gatehouse_e2e::mock_anthropic::MockAnthropic;
use serde_json::{Value, json};

/// A gateway in front of the mock; the sandbox is kept apart, so that a
/// file system mounted inside it outlives the gateway but not the sandbox.
struct Rig {
    _mock: MockAnthropic,
    gateway: GatewayProcess,
    key: String,
    http: reqwest::Client,
}

impl Rig {
    async fn start(sandbox: &Sandbox) -> Rig {
        let mock = MockAnthropic::start().await.expect("mock");
        let key = sandbox.issue_key("tester");
        let gateway = sandbox.start_gateway(&mock.base_url(), &[]);
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Rig { _mock: mock, gateway, key, http }
    }

    /// One Messages request, answered 200 by the mock.
    async fn request(&self) {
        let response = self
            .http
            .post(format!("{}/v1/messages", self.gateway.base_url))
            .header("x-gatehouse-key", &self.key)
            .header("x-api-key", "sk-ant-api03-FAKE-e2e-ledger-test")
            .header("anthropic-version", "2023-06-01")
            .json(&json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 16,
                "messages": [{"role": "user", "content": "hi"}],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "the gateway must serve requests whatever happens to its ledger");
        response.bytes().await.unwrap();
    }

    async fn ledger_status(&self) -> Value {
        let status: Value =
            self.http.get(format!("{}/status", self.gateway.base_url)).send().await.unwrap().json().await.unwrap();
        status["ledger"].clone()
    }

    /// Polls `/status` (up to 20 s) until its `ledger` part satisfies `done`.
    async fn wait_for_ledger_status(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..400 {
            let ledger = self.ledger_status().await;
            if done(&ledger) {
                return ledger;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/status never showed {what}: {}\n{}", self.ledger_status().await, self.gateway.log());
    }
}

/// Rows in the ledger right now; 0 when it does not exist.
fn row_count(ledger: &Path) -> usize {
    rusqlite::Connection::open_with_flags(ledger, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|conn| conn.query_row("SELECT COUNT(*) FROM requests", [], |row| row.get(0)))
        .unwrap_or(0)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A small tmpfs mounted over a directory, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("running mount");
        assert!(status.success(), "mounting a tmpfs on {} failed (the test runs as root)", dir.display());
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system holding it has no byte left.
fn fill_disk(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    for chunk in [64 * 1024, 4096, 512, 1] {
        let bytes = vec![0u8; chunk];
        while file.write_all(&bytes).and_then(|()| file.flush()).is_ok() {}
    }
    let _ = file.sync_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_served_while_the_disk_is_full_are_kept_and_recorded_when_space_frees() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a small tmpfs as a full disk needs root (CI runs this as root)");
        return;
    }
    let sandbox = Sandbox::new();
    let data_dir = sandbox.gatehouse_home().join("data");
    // Dropped in reverse: the gateway stops, then the tmpfs goes, then the sandbox.
    let tmpfs = Tmpfs::mount(&data_dir, "1m");
    let rig = Rig::start(&sandbox).await;
    let ledger = sandbox.ledger_file();

    rig.request().await;
    wait_for("the first row", 20, || (row_count(&ledger) == 1).then_some(()));

    let filler = data_dir.join("filler");
    fill_disk(&filler);
    for _ in 0..5 {
        rig.request().await;
    }
    let failing = rig
        .wait_for_ledger_status("recording failing with 5 rows waiting", |ledger| {
            ledger["pending_rows"] == 5 && ledger["error"].is_string()
        })
        .await;
    let error = failing["error"].as_str().unwrap();
    assert!(error.contains("database or disk is full") && error.contains("ledger.sqlite3"), "{failing}");
    assert!(failing["failing_since"].is_string(), "{failing}");
    assert_eq!(row_count(&ledger), 1, "nothing could have been committed to a full disk");
    assert!(rig.gateway.log().contains("database or disk is full"), "{}", rig.gateway.log());

    std::fs::remove_file(&filler).unwrap();
    wait_for("the kept rows in the ledger", 20, || (row_count(&ledger) == 6).then_some(()));
    let recovered = rig.wait_for_ledger_status("recording working again", |ledger| ledger["error"].is_null()).await;
    assert_eq!(recovered["pending_rows"], 0, "{recovered}");
    assert_eq!(recovered["dropped_rows"], 0, "{recovered}");
    let rows = sandbox.ledger_rows(6);
    assert!(rows.iter().all(|row| row.status == 200 && row.complete && row.client == "tester"), "{rows:?}");
    drop(rig);
    drop(tmpfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_deleted_while_the_gateway_runs_is_recreated_for_later_rows() {
    let sandbox = Sandbox::new();
    let rig = Rig::start(&sandbox).await;
    let ledger = sandbox.ledger_file();
    rig.request().await;
    wait_for("the first row", 20, || (row_count(&ledger) == 1).then_some(()));

    // Only the database file: the WAL beside it belongs to the old ledger
    // and must not leak into the new one.
    std::fs::remove_file(&ledger).unwrap();
    rig.request().await;
    rig.request().await;
    wait_for("two rows in a recreated ledger", 20, || (row_count(&ledger) == 2).then_some(()));
    assert!(rig.gateway.log().contains("the spend ledger was deleted while the gateway ran"), "{}", rig.gateway.log());

    // The whole data directory, as `rm -rf` of Gatehouse's data would.
    std::fs::remove_dir_all(ledger.parent().unwrap()).unwrap();
    rig.request().await;
    wait_for("a row in a ledger recreated with its directory", 20, || (row_count(&ledger) == 1).then_some(()));

    let rows = sandbox.ledger_rows(1);
    assert_eq!((rows[0].client.as_str(), rows[0].status), ("tester", 200));
    assert!(rig.ledger_status().await["error"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_stays_bounded_after_many_commits() {
    let sandbox = Sandbox::new();
    let rig = Rig::start(&sandbox).await;
    let ledger = sandbox.ledger_file();
    let wal = ledger.with_file_name("ledger.sqlite3-wal");
    // Each request waits for its row, so each is a commit of its own
    // (about 14 KB of WAL each): 200 of them pass the writer's 1 MiB limit
    // twice over.
    for committed in 1..=200 {
        rig.request().await;
        for _ in 0..4000 {
            if row_count(&ledger) >= committed {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(row_count(&ledger), committed, "row {committed} was not committed");
    }
    let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(size <= 1024 * 1024 + 256 * 1024, "the WAL is {size} bytes after 200 commits");
}
