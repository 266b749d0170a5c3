//! Running the real `gatehouse` binary in an isolated home.
//!
//! Each [`Sandbox`] is a temporary directory holding `GATEHOUSE_HOME`,
//! `CLAUDE_CONFIG_DIR` and `HOME`, so a test touches nothing of the user's
//! and tests run in parallel without sharing state. [`GatewayProcess`] runs
//! `gatehouse gateway run` as a child and stops it with SIGTERM on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `gatehouse` binary cargo built for this test run: it sits next to
/// the `deps/` folder holding the test executable.
pub fn gatehouse_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("GATEHOUSE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("current test executable");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile> directory");
    let bin = profile_dir.join("gatehouse");
    assert!(bin.exists(), "{} is missing: run the tests with `cargo test --workspace`, which builds it", bin.display());
    bin
}

/// Polls `probe` every 200 ms until it gives a value; fails the test after
/// `seconds`, naming `what` it waited for.
pub fn wait_for<T>(what: &str, seconds: u64, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {seconds} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An error response in Anthropic's shape: its status, `error.type` and `error.message`.
pub async fn anthropic_error(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let value: serde_json::Value = response.json().await.expect("an Anthropic-shaped JSON error");
    assert_eq!(value["type"], "error", "{value}");
    (
        status,
        value["error"]["type"].as_str().unwrap().to_string(),
        value["error"]["message"].as_str().unwrap().to_string(),
    )
}

/// Serves `app` on `listener` from a thread and runtime of its own, for a
/// mock that lives as long as the test process.
pub fn serve_in_background(listener: std::net::TcpListener, app: axum::Router) {
    listener.set_nonblocking(true).expect("a non-blocking listener");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            axum::serve(listener, app).await.expect("serving");
        });
    });
}

/// A response header as text; empty when it is absent.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
}

/// Files under `dir` whose bytes contain `needle`: where a secret ended up.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let (path, kind) = (entry.path(), entry.file_type().expect("file type"));
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file()
                && std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                found.push(path);
            }
        }
    }
    found
}

/// A throwaway home for Gatehouse and Claude Code.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new().prefix("gatehouse-test-").tempdir().expect("temp dir");
        for sub in ["gatehouse", "home/.claude", "project"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("sandbox dirs");
        }
        Sandbox { dir }
    }

    pub fn gatehouse_home(&self) -> PathBuf {
        self.dir.path().join("gatehouse")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn claude_dir(&self) -> PathBuf {
        self.home().join(".claude")
    }

    pub fn project_dir(&self) -> PathBuf {
        self.dir.path().join("project")
    }

    pub fn config_file(&self) -> PathBuf {
        self.gatehouse_home().join("config.toml")
    }

    pub fn ledger_file(&self) -> PathBuf {
        self.gatehouse_home().join("data").join("ledger.sqlite3")
    }

    /// Applies the sandbox's environment to a command, clearing anything
    /// from the outer environment that would change Claude Code's or
    /// Gatehouse's behaviour.
    pub fn isolate<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        for variable in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_CUSTOM_HEADERS",
            "CLAUDE_CODE_USE_BEDROCK",
            "CLAUDE_CODE_USE_VERTEX",
            "GATEHOUSE_ANTHROPIC_API_KEY",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            // The gateway honours these too: keep the outer environment's out.
            "ALL_PROXY",
            "all_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            command.env_remove(variable);
        }
        command
            .env("GATEHOUSE_HOME", self.gatehouse_home())
            .env("CLAUDE_CONFIG_DIR", self.claude_dir())
            .env("HOME", self.home())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("GATEHOUSE_CLAUDE_MANAGED_SETTINGS", self.dir.path().join("managed-settings.json"))
            .env("GATEHOUSE_LOG", "info")
            .current_dir(self.project_dir())
    }

    /// A `gatehouse` command in this sandbox.
    pub fn gatehouse(&self, args: &[&str]) -> Command {
        let mut command = Command::new(gatehouse_bin());
        command.args(args);
        self.isolate(&mut command);
        command
    }

    /// Runs `gatehouse` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.gatehouse(args).stdin(Stdio::null()).output().expect("running gatehouse")
    }

    /// Runs `gatehouse` and insists on success; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "gatehouse {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// Issues a gateway key for a test client.
    pub fn issue_key(&self, name: &str) -> String {
        self.run_ok(&["keys", "issue", name]).trim().to_string()
    }

    /// Starts the gateway against `upstream`, with extra environment.
    pub fn start_gateway(&self, upstream: &str, env: &[(&str, &str)]) -> GatewayProcess {
        self.start_gateway_limited(upstream, env, None)
    }

    /// Starts the gateway against `upstream`, with extra environment and,
    /// when given, these soft and hard open-file limits.
    pub fn start_gateway_limited(
        &self,
        upstream: &str,
        env: &[(&str, &str)],
        open_files: Option<(u64, u64)>,
    ) -> GatewayProcess {
        let log_path = self.dir.path().join(format!("gateway-{}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).expect("gateway log");
        let mut command = self.gatehouse(&["gateway", "run", "--port", "0", "--anthropic-base-url", upstream]);
        command.envs(env.iter().copied()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log);
        if let Some((soft, hard)) = open_files {
            use std::os::unix::process::CommandExt;
            let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
            // SAFETY: setrlimit is async-signal-safe and only reads `limit`,
            // a copy owned by the closure.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn().expect("spawning the gateway");
        let stdout = child.stdout.take().expect("gateway stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let Some(url) = first.strip_prefix("gatehouse gateway listening on ") else {
            let _ = child.kill();
            panic!("gateway did not start: {first:?}\n{}", std::fs::read_to_string(&log_path).unwrap_or_default());
        };
        GatewayProcess { child, base_url: url.to_string(), log_path }
    }

    /// Reads the ledger, waiting until it holds at least `rows` rows.
    pub fn ledger_rows(&self, rows: usize) -> Vec<LedgerRow> {
        self.ledger_rows_until(|found| found.len() >= rows)
    }

    /// Reads the ledger, waiting (up to 20 s) until `done` holds for its rows.
    pub fn ledger_rows_until(&self, done: impl Fn(&[LedgerRow]) -> bool) -> Vec<LedgerRow> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.read_ledger();
            if done(&found) || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn read_ledger(&self) -> Vec<LedgerRow> {
        let Ok(conn) =
            rusqlite::Connection::open_with_flags(self.ledger_file(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        else {
            return Vec::new();
        };
        let Ok(mut statement) = conn.prepare(
            "SELECT client, model, upstream, status, streamed, complete, input_tokens, output_tokens,
                    cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens, cost_usd, session_id,
                    device_id, project, error_type, request_id, request_class, agent_type, prompt_id, flags
             FROM request_rows ORDER BY id",
        ) else {
            return Vec::new();
        };
        statement
            .query_map([], |row| {
                Ok(LedgerRow {
                    client: row.get(0)?,
                    model: row.get(1)?,
                    upstream: row.get(2)?,
                    status: row.get(3)?,
                    streamed: row.get(4)?,
                    complete: row.get(5)?,
                    input_tokens: row.get(6)?,
                    output_tokens: row.get(7)?,
                    cache_write_5m_tokens: row.get(8)?,
                    cache_write_1h_tokens: row.get(9)?,
                    cache_read_tokens: row.get(10)?,
                    cost_usd: row.get(11)?,
                    session_id: row.get(12)?,
                    device_id: row.get(13)?,
                    project: row.get(14)?,
                    error_type: row.get(15)?,
                    request_id: row.get(16)?,
                    request_class: row.get(17)?,
                    agent_type: row.get(18)?,
                    prompt_id: row.get(19)?,
                    flags: row.get(20)?,
                })
            })
            .map(|rows| rows.filter_map(Result::ok).collect())
            .unwrap_or_default()
    }
}

/// One ledger row, as tests read it.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    pub client: String,
    pub model: String,
    pub upstream: String,
    pub status: u16,
    pub streamed: bool,
    pub complete: bool,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_write_5m_tokens: u64,
    pub cache_write_1h_tokens: u64,
    pub cache_read_tokens: u64,
    pub cost_usd: Option<f64>,
    pub session_id: Option<String>,
    pub device_id: Option<String>,
    pub project: Option<String>,
    pub error_type: Option<String>,
    pub request_id: Option<String>,
    /// Claude Code's hint headers.
    pub request_class: Option<String>,
    pub agent_type: Option<String>,
    pub prompt_id: Option<String>,
    /// `gatehouse::ledger::flags` bits.
    pub flags: i64,
}

/// A running `gatehouse gateway run`.
pub struct GatewayProcess {
    child: Child,
    pub base_url: String,
    pub log_path: PathBuf,
}

impl GatewayProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stops the gateway with SIGTERM and waits for it to exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.terminate()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("waiting for the gateway");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}
