//! What the gateway costs: latency added on the hot path, memory, start-up time.
//!
//! Run with `cargo bench -p gatehouse --bench gateway`.
//!
//! The bench starts a canned Anthropic upstream inside this process (its own
//! thread and tokio runtime), then the real `gatehouse gateway run` binary as
//! a child pointed at it. The same requests go once straight to the upstream
//! and once through the gateway, over keep-alive hyper connections; the
//! difference per percentile is what the gateway adds. Direct and via runs
//! alternate in rounds so that drift on a shared machine (frequency scaling,
//! a noisy neighbour) lands on both sides alike.
//!
//! It prints Markdown tables and never asserts: on a slow machine it reports
//! slow numbers and missed targets. Every request and wait has a deadline,
//! and each scenario has a time budget, so the whole run stays bounded.
//!
//! `GATEHOUSE_BENCH_BIN=/path/to/gatehouse` measures another build (a
//! candidate fix) with the same client and upstream.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

/// Requests measured per side (direct, via) for the small-body scenarios.
const SMALL_REQUESTS: usize = 4000;
/// Streams measured per side, once for time to first byte, once whole.
const STREAM_REQUESTS: usize = 2000;
/// Requests measured per side with the 250 KB body.
const LARGE_REQUESTS: usize = 600;
/// Unmeasured requests per connection before each round, so connections,
/// allocator pools and caches are warm on both sides.
const WARMUP_PER_CONNECTION: usize = 25;
/// Direct and via alternate this many times per scenario.
const ROUNDS: usize = 4;
/// A scenario stops early (reporting fewer samples) past this budget.
const SCENARIO_BUDGET: Duration = Duration::from_secs(20);
/// Streams held open at once for the memory measurement.
const HELD_STREAMS: usize = 100;
/// Gateway starts timed for the cold-start median.
const COLD_STARTS: usize = 10;
/// The size of a Claude Code request deep into a session.
const LARGE_BODY_BYTES: usize = 250 * 1024;
/// No single request, start or stop may take longer than this.
const DEADLINE: Duration = Duration::from_secs(15);

fn main() {
    if let Err(error) = run() {
        eprintln!("gateway bench could not run: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let upstream = upstream::Upstream::start()?;
    let home = tempfile::tempdir()?;
    let key = gateway_process::issue_key(home.path())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let load_before = load_average();
    let report = runtime.block_on(measure_all(&upstream, home.path(), &key))?;
    println!("Machine: {} CPUs; load average {load_before} before, {} after.\n", cpu_count(), load_average());
    report::print(&report);
    Ok(())
}

/// The 1-minute load average: other work on the machine skews every number.
fn load_average() -> String {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().next().unwrap_or("?").to_string()
}

fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Every measurement, in an order where none disturbs the next: idle memory
/// before any traffic, held streams after the latency runs, and cold starts
/// only once the long-running gateway is gone.
async fn measure_all(upstream: &upstream::Upstream, home: &Path, key: &str) -> anyhow::Result<report::Report> {
    let (gateway, first_start) = gateway_process::Gateway::start(home, upstream.addr).await?;
    // For attaching a profiler: `perf record -g -p <pid>`.
    eprintln!("gateway pid {} on {}", gateway.pid, gateway.addr);
    // Let start-up allocations settle before calling the gateway idle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_rss = gateway.rss_bytes();

    let requests = client::Requests::new(key);
    let mut latencies = Vec::new();
    for scenario in scenarios(&requests) {
        eprintln!("measuring: {}", scenario.name);
        latencies.push(compare(&scenario, upstream.addr, &gateway).await);
    }
    let loaded_rss = gateway.rss_bytes();

    eprintln!("measuring: {HELD_STREAMS} held streams");
    let held = held::hold_streams(gateway.addr, &requests, HELD_STREAMS, || gateway.rss_bytes(), upstream).await;
    gateway.stop().await?;

    eprintln!("measuring: {COLD_STARTS} cold starts");
    let cold_starts = cold_starts(home, upstream.addr).await;
    let litellm = litellm_engine::measure(upstream).await;
    Ok(report::Report { latencies, idle_rss, loaded_rss, held, first_start, cold_starts, litellm })
}

/// What a scenario times in each exchange.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Timing {
    /// Until the whole response body has arrived.
    WholeResponse,
    /// Until the first body frame (the first SSE event) has arrived.
    FirstFrame,
}

struct Scenario {
    name: &'static str,
    request: Arc<client::RequestSpec>,
    concurrency: usize,
    requests: usize,
    timing: Timing,
    /// Unmeasured requests per connection before each round.
    warmup: usize,
}

fn scenarios(requests: &client::Requests) -> Vec<Scenario> {
    vec![
        Scenario {
            name: "small body, c=1",
            request: requests.small.clone(),
            concurrency: 1,
            requests: SMALL_REQUESTS,
            timing: Timing::WholeResponse,
            warmup: WARMUP_PER_CONNECTION,
        },
        Scenario {
            name: "small body, c=16",
            request: requests.small.clone(),
            concurrency: 16,
            requests: SMALL_REQUESTS,
            timing: Timing::WholeResponse,
            warmup: WARMUP_PER_CONNECTION,
        },
        Scenario {
            name: "stream TTFB, c=1",
            request: requests.stream.clone(),
            concurrency: 1,
            requests: STREAM_REQUESTS,
            timing: Timing::FirstFrame,
            warmup: WARMUP_PER_CONNECTION,
        },
        Scenario {
            name: "stream, whole, c=1",
            request: requests.stream.clone(),
            concurrency: 1,
            requests: STREAM_REQUESTS,
            timing: Timing::WholeResponse,
            warmup: WARMUP_PER_CONNECTION,
        },
        Scenario {
            name: "250 KB body, c=1",
            request: requests.large.clone(),
            concurrency: 1,
            requests: LARGE_REQUESTS,
            timing: Timing::WholeResponse,
            warmup: WARMUP_PER_CONNECTION,
        },
    ]
}

/// Latency samples of one scenario, both sides.
pub struct Comparison {
    name: &'static str,
    direct: Vec<Duration>,
    via: Vec<Duration>,
    /// The gateway's CPU time (all threads, the ledger writer included)
    /// per request sent through it, warm-up included.
    cpu_per_request: Option<Duration>,
    /// Why the scenario stopped short, if it did.
    error: Option<String>,
}

async fn compare(scenario: &Scenario, direct_addr: SocketAddr, gateway: &gateway_process::Gateway) -> Comparison {
    let (mut direct, mut via, mut error) = (Vec::new(), Vec::new(), None);
    let per_round = scenario.requests.div_ceil(ROUNDS);
    let budget_per_side = SCENARIO_BUDGET / (2 * ROUNDS as u32);
    let cpu_before = gateway.cpu_time();
    let mut rounds_run = 0;
    'rounds: for _ in 0..ROUNDS {
        for (addr, samples) in [(direct_addr, &mut direct), (gateway.addr, &mut via)] {
            let load = load::Load {
                addr,
                request: scenario.request.clone(),
                concurrency: scenario.concurrency,
                requests: per_round,
                timing: scenario.timing,
                budget: budget_per_side,
                warmup: scenario.warmup,
            };
            match load.run().await {
                Ok(mut round) => samples.append(&mut round),
                Err(failure) => {
                    error = Some(format!("{failure:#}"));
                    break 'rounds;
                }
            }
        }
        rounds_run += 1;
    }
    let sent_via = via.len() + rounds_run * scenario.concurrency * scenario.warmup;
    let cpu_per_request = match (cpu_before, gateway.cpu_time()) {
        (Some(before), Some(after)) if sent_via > 0 => Some(after.saturating_sub(before) / sent_via as u32),
        _ => None,
    };
    Comparison { name: scenario.name, direct, via, cpu_per_request, error }
}

/// A process's resident memory, from `/proc/<pid>/status`.
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// A process's on-CPU time, all threads, from `/proc/<pid>/task/*/schedstat`
/// (nanoseconds, unlike the tick-grained `/proc/<pid>/stat`).
fn cpu_time(pid: u32) -> Option<Duration> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let schedstat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += schedstat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// Times `COLD_STARTS` starts of the gateway, each to a 200 from `/health`.
async fn cold_starts(home: &Path, upstream: SocketAddr) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(COLD_STARTS);
    for _ in 0..COLD_STARTS {
        let (gateway, ready) = gateway_process::Gateway::start(home, upstream).await.map_err(|e| format!("{e:#}"))?;
        times.push(ready);
        gateway.stop().await.map_err(|e| format!("{e:#}"))?;
    }
    Ok(times)
}

/// The client side: connections, requests and what they carry.
mod client {
    use super::*;

    /// A request that can be sent many times without being rebuilt.
    pub struct RequestSpec {
        pub method: Method,
        pub path: &'static str,
        pub headers: HeaderMap,
        pub body: Bytes,
    }

    /// The requests the scenarios send.
    pub struct Requests {
        pub small: Arc<RequestSpec>,
        pub stream: Arc<RequestSpec>,
        pub large: Arc<RequestSpec>,
        /// A stream the upstream holds open after `message_start`.
        pub held: Arc<RequestSpec>,
    }

    impl Requests {
        pub fn new(gateway_key: &str) -> Requests {
            let headers = claude_code_headers(gateway_key);
            let mut held_headers = headers.clone();
            held_headers.insert(super::upstream::HOLD_HEADER, HeaderValue::from_static("1"));
            let post = |headers: &HeaderMap, body: Bytes| {
                Arc::new(RequestSpec { method: Method::POST, path: "/v1/messages", headers: headers.clone(), body })
            };
            Requests {
                small: post(&headers, super::bodies::small(false)),
                stream: post(&headers, super::bodies::small(true)),
                large: post(&headers, super::bodies::claude_code_sized(LARGE_BODY_BYTES)),
                held: post(&held_headers, super::bodies::small(true)),
            }
        }
    }

    /// What Claude Code sends with an API key, plus the gateway key. Both
    /// sides get the same headers (the upstream ignores the gateway key) so
    /// that only the gateway differs between them.
    fn claude_code_headers(gateway_key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            ("accept", "application/json"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"),
            ("user-agent", "claude-cli/2.1.0 (external, cli)"),
            ("x-app", "cli"),
            ("x-stainless-lang", "js"),
            ("x-stainless-timeout", "600"),
            ("x-api-key", "sk-ant-api03-FAKE-bench"),
        ] {
            headers.insert(name, HeaderValue::from_static(value));
        }
        headers.insert("x-gatehouse-key", HeaderValue::from_str(gateway_key).expect("a gateway key is header-safe"));
        headers
    }

    /// One keep-alive HTTP/1.1 connection.
    pub struct Connection {
        sender: http1::SendRequest<Full<Bytes>>,
        host: HeaderValue,
    }

    impl Connection {
        pub async fn open(addr: SocketAddr) -> anyhow::Result<Connection> {
            let stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
            // Claude Code's client (undici) disables Nagle too.
            stream.set_nodelay(true)?;
            let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            let host = HeaderValue::from_str(&addr.to_string())?;
            Ok(Connection { sender, host })
        }

        /// Sends `spec` and returns the response once its head has arrived.
        pub async fn send(&mut self, spec: &RequestSpec) -> anyhow::Result<hyper::Response<Incoming>> {
            let mut request = Request::new(Full::new(spec.body.clone()));
            *request.method_mut() = spec.method.clone();
            *request.uri_mut() = http::Uri::from_static(spec.path);
            *request.headers_mut() = spec.headers.clone();
            request.headers_mut().insert(http::header::HOST, self.host.clone());
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            if !response.status().is_success() {
                let status = response.status();
                let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                bail!("HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
            }
            Ok(response)
        }

        /// One timed exchange; the body is always read to its end, so the
        /// connection is reusable and the upstream's work is complete.
        pub async fn timed(&mut self, spec: &RequestSpec, timing: Timing) -> anyhow::Result<Duration> {
            let exchange = async {
                let started = Instant::now();
                let mut body = self.send(spec).await?.into_body();
                let mut elapsed = None;
                while let Some(frame) = body.frame().await {
                    let frame = frame?;
                    if timing == Timing::FirstFrame && elapsed.is_none() && frame.is_data() {
                        elapsed = Some(started.elapsed());
                    }
                }
                anyhow::Ok(elapsed.unwrap_or_else(|| started.elapsed()))
            };
            tokio::time::timeout(DEADLINE, exchange).await.context("request timed out")?
        }
    }
}

/// Driving `concurrency` connections through a fixed number of requests.
mod load {
    use super::*;

    pub struct Load {
        pub addr: SocketAddr,
        pub request: Arc<client::RequestSpec>,
        pub concurrency: usize,
        pub requests: usize,
        pub timing: Timing,
        pub budget: Duration,
        pub warmup: usize,
    }

    impl Load {
        /// Latency of each measured request; fewer than asked if the budget ran out.
        pub async fn run(&self) -> anyhow::Result<Vec<Duration>> {
            // Every worker warms up before any starts measuring, so the
            // measured window is all-concurrent.
            let barrier = Arc::new(tokio::sync::Barrier::new(self.concurrency));
            let per_worker = self.requests.div_ceil(self.concurrency);
            let mut workers = tokio::task::JoinSet::new();
            for _ in 0..self.concurrency {
                let (addr, request, timing, budget) = (self.addr, self.request.clone(), self.timing, self.budget);
                let warmup = self.warmup;
                let barrier = barrier.clone();
                workers.spawn(async move {
                    let mut connection = client::Connection::open(addr).await?;
                    for _ in 0..warmup {
                        connection.timed(&request, timing).await?;
                    }
                    barrier.wait().await;
                    let deadline = Instant::now() + budget;
                    let mut samples = Vec::with_capacity(per_worker);
                    while samples.len() < per_worker && Instant::now() < deadline {
                        samples.push(connection.timed(&request, timing).await?);
                    }
                    anyhow::Ok(samples)
                });
            }
            let mut all = Vec::with_capacity(self.requests);
            while let Some(joined) = workers.join_next().await {
                all.append(&mut joined??);
            }
            Ok(all)
        }
    }
}

/// Many streams open at once, the way several Claude Code sessions and
/// subagents keep them, to see what each costs the gateway in memory.
mod held {
    use super::*;

    /// What the gateway looked like with the streams open.
    pub struct Held {
        pub opened: usize,
        pub rss: Option<u64>,
        pub error: Option<String>,
    }

    pub async fn hold_streams(
        gateway: SocketAddr,
        requests: &client::Requests,
        count: usize,
        rss: impl Fn() -> Option<u64>,
        upstream: &upstream::Upstream,
    ) -> Held {
        let (opened_tx, mut opened_rx) = tokio::sync::mpsc::unbounded_channel();
        let mut streams = tokio::task::JoinSet::new();
        for _ in 0..count {
            let (request, opened_tx) = (requests.held.clone(), opened_tx.clone());
            streams.spawn(async move {
                let mut connection = client::Connection::open(gateway).await?;
                let mut body = connection.send(&request).await?.into_body();
                // `message_start` arrived: the stream is open end to end.
                body.frame().await.context("the stream ended before its first event")??;
                let _ = opened_tx.send(());
                while let Some(frame) = body.frame().await {
                    frame?;
                }
                anyhow::Ok(())
            });
        }
        drop(opened_tx);

        let mut opened = 0;
        let all_open = async {
            while opened < count && opened_rx.recv().await.is_some() {
                opened += 1;
            }
        };
        let timed_out = tokio::time::timeout(DEADLINE, all_open).await.is_err();
        // Let the gateway's buffers for the new connections settle.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rss = rss();

        upstream.release_holds();
        let mut error = timed_out.then(|| format!("only {opened} of {count} streams opened in time"));
        let drained = async {
            while let Some(joined) = streams.join_next().await {
                if let Err(e) = joined.map_err(anyhow::Error::from).and_then(|r| r) {
                    error.get_or_insert(format!("{e:#}"));
                }
            }
        };
        if tokio::time::timeout(DEADLINE, drained).await.is_err() {
            streams.abort_all();
        }
        Held { opened, rss, error }
    }
}

/// The `gatehouse` binary as a child process.
mod gateway_process {
    use super::*;

    /// The `gatehouse` built with this bench, or `$GATEHOUSE_BENCH_BIN` to
    /// measure another build (a candidate fix) against the same client.
    pub fn binary() -> PathBuf {
        std::env::var_os("GATEHOUSE_BENCH_BIN")
            .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gatehouse")), PathBuf::from)
    }

    fn command(home: &Path) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(binary());
        command
            .env("GATEHOUSE_HOME", home)
            // Keep the gateway off the user's real Claude Code directory.
            .env("CLAUDE_CONFIG_DIR", home.join("claude"))
            // The client brings its own credential, as Claude Code does.
            .env_remove("GATEHOUSE_ANTHROPIC_API_KEY")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Issues a gateway key for the bench's client.
    pub fn issue_key(home: &Path) -> anyhow::Result<String> {
        let output = std::process::Command::new(binary())
            .args(["keys", "issue", "bench"])
            .env("GATEHOUSE_HOME", home)
            .output()
            .context("running `gatehouse keys issue`")?;
        if !output.status.success() {
            bail!("`gatehouse keys issue` failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?.trim().to_string())
    }

    pub struct Gateway {
        child: tokio::process::Child,
        pub addr: SocketAddr,
        pub pid: u32,
        /// Held so the gateway never writes into a closed pipe.
        _stdout: BufReader<tokio::process::ChildStdout>,
    }

    impl Gateway {
        /// Starts the gateway and returns it with the time from spawn to
        /// its first 200 from `GET /health`.
        pub async fn start(home: &Path, upstream: SocketAddr) -> anyhow::Result<(Gateway, Duration)> {
            let log = log_path(home);
            let started = Instant::now();
            let mut child = command(home)
                .args(["gateway", "run", "--port", "0", "--anthropic-base-url", &format!("http://{upstream}")])
                .stdout(Stdio::piped())
                // A file, as the tray app keeps it: the per-request log line
                // is part of the hot path.
                .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&log)?)
                .spawn()
                .context("spawning `gatehouse gateway run`")?;
            let pid = child.id().context("the gateway exited at once")?;
            let mut stdout = BufReader::new(child.stdout.take().context("no stdout pipe")?);
            let ready = async {
                let mut line = String::new();
                stdout.read_line(&mut line).await?;
                let url = line
                    .trim()
                    .strip_prefix("gatehouse gateway listening on http://")
                    .with_context(|| format!("unexpected first line {line:?}; log:\n{}", tail(&log)))?;
                let addr: SocketAddr = url.parse()?;
                wait_healthy(addr).await?;
                anyhow::Ok(addr)
            };
            let addr = tokio::time::timeout(DEADLINE, ready).await.context("the gateway did not become ready")??;
            let ready_after = started.elapsed();
            Ok((Gateway { child, addr, pid, _stdout: stdout }, ready_after))
        }

        pub fn rss_bytes(&self) -> Option<u64> {
            super::rss_bytes(self.pid)
        }

        pub fn cpu_time(&self) -> Option<Duration> {
            super::cpu_time(self.pid)
        }

        /// SIGTERM, as the tray app stops it, then waits for a clean exit.
        pub async fn stop(mut self) -> anyhow::Result<()> {
            // SAFETY: kill(2) with a pid we spawned and have not yet reaped,
            // so it cannot name another process.
            let sent = unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) };
            if sent != 0 {
                bail!("cannot signal the gateway: {}", std::io::Error::last_os_error());
            }
            match tokio::time::timeout(DEADLINE, self.child.wait()).await {
                Ok(status) if status.as_ref().is_ok_and(|s| s.success()) => Ok(()),
                Ok(status) => bail!("the gateway exited with {:?}", status?),
                Err(_) => {
                    self.child.kill().await?;
                    bail!("the gateway did not stop within {DEADLINE:?} of SIGTERM")
                }
            }
        }
    }

    /// Polls `GET /health` until it answers 200.
    async fn wait_healthy(addr: SocketAddr) -> anyhow::Result<()> {
        let health =
            client::RequestSpec { method: Method::GET, path: "/health", headers: HeaderMap::new(), body: Bytes::new() };
        loop {
            let attempt = async {
                let mut connection = client::Connection::open(addr).await?;
                connection.send(&health).await?.into_body().collect().await?;
                anyhow::Ok(())
            };
            match attempt.await {
                Ok(()) => return Ok(()),
                // The port is bound before it is announced, so this is rare.
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }

    fn log_path(home: &Path) -> PathBuf {
        home.join("gateway.log")
    }

    fn tail(log: &Path) -> String {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or_default().to_string()
    }
}

/// A fast stand-in for Anthropic: canned answers, no work beyond HTTP.
mod upstream {
    use std::convert::Infallible;

    use http_body_util::combinators::UnsyncBoxBody;
    use http_body_util::{Full, StreamBody};
    use hyper::body::Frame;
    use hyper::service::service_fn;
    use tokio::sync::{oneshot, watch};

    use super::*;

    /// A request carrying this header gets `message_start`, then nothing
    /// until [`Upstream::release_holds`].
    pub const HOLD_HEADER: &str = "x-bench-hold";

    type Body = UnsyncBoxBody<Bytes, Infallible>;

    pub struct Upstream {
        pub addr: SocketAddr,
        release: watch::Sender<bool>,
        shutdown: Option<oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Upstream {
        /// Serves on its own thread and runtime, so it never waits behind
        /// the measuring client.
        pub fn start() -> anyhow::Result<Upstream> {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            listener.set_nonblocking(true)?;
            let addr = listener.local_addr()?;
            let (release, released) = watch::channel(false);
            let (shutdown, stop) = oneshot::channel();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let thread = std::thread::Builder::new().name("bench-upstream".into()).spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => serve(listener, released, stop).await,
                        Err(error) => eprintln!("the bench upstream cannot listen: {error}"),
                    }
                });
            })?;
            Ok(Upstream { addr, release, shutdown: Some(shutdown), thread: Some(thread) })
        }

        /// Lets every held stream run to its end.
        pub fn release_holds(&self) {
            let _ = self.release.send(true);
        }
    }

    impl Drop for Upstream {
        fn drop(&mut self) {
            if let Some(shutdown) = self.shutdown.take() {
                let _ = shutdown.send(());
            }
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    async fn serve(
        listener: tokio::net::TcpListener,
        released: watch::Receiver<bool>,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                _ = &mut stop => return,
            };
            let _ = stream.set_nodelay(true);
            let released = released.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| answer(request, released.clone()));
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    }

    async fn answer(
        request: hyper::Request<Incoming>,
        released: watch::Receiver<bool>,
    ) -> Result<hyper::Response<Body>, Infallible> {
        // Bedrock's invoke (the LiteLLM engine's scenarios) answers Anthropic's message too.
        let path = request.uri().path();
        let bedrock = path.starts_with("/model/") && path.ends_with("/invoke");
        if request.method() != Method::POST || (path != "/v1/messages" && !bedrock) {
            return Ok(respond(404, "application/json", full(NOT_FOUND)));
        }
        let hold = request.headers().contains_key(HOLD_HEADER);
        let Ok(body) = request.into_body().collect().await.map(|b| b.to_bytes()) else {
            return Ok(respond(400, "application/json", full(NOT_FOUND)));
        };
        // The request bodies are the bench's own, so a byte search is exact.
        let streamed = memchr::memmem::find(&body, br#""stream":true"#).is_some();
        Ok(if streamed {
            respond(200, "text/event-stream; charset=utf-8", sse(hold.then_some(released)))
        } else {
            respond(200, "application/json", full(MESSAGE))
        })
    }

    fn full(text: &'static str) -> Body {
        Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync()
    }

    /// A response with the headers Anthropic sends on API-key traffic; the
    /// rate-limit ones matter, since the gateway reads them on every response.
    fn respond(status: u16, content_type: &'static str, body: Body) -> hyper::Response<Body> {
        let mut response = hyper::Response::new(body);
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in RESPONSE_HEADERS {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        response
    }

    /// The SSE events, each its own body frame. Between events the stream
    /// yields once, which makes hyper flush the event as its own write, the
    /// way a real upstream's events arrive apart.
    fn sse(hold: Option<watch::Receiver<bool>>) -> Body {
        let frames = futures_util::stream::unfold((0, hold), |(next, mut hold)| async move {
            let event = SSE_EVENTS.get(next)?;
            if next > 0 {
                if let Some(released) = hold.as_mut() {
                    let _ = released.wait_for(|released| *released).await;
                }
                tokio::task::yield_now().await;
            }
            Some((Ok(Frame::data(Bytes::from_static(event.as_bytes()))), (next + 1, hold)))
        });
        StreamBody::new(frames).boxed_unsync()
    }

    const NOT_FOUND: &str = r#"{"type":"error","error":{"type":"not_found_error","message":"Not found"}}"#;

    const RESPONSE_HEADERS: &[(&str, &str)] = &[
        ("request-id", "req_011CV7zQbench0000000000000"),
        ("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"),
        ("anthropic-ratelimit-requests-limit", "4000"),
        ("anthropic-ratelimit-requests-remaining", "3999"),
        ("anthropic-ratelimit-requests-reset", "2026-01-01T00:00:01Z"),
        ("anthropic-ratelimit-input-tokens-limit", "2000000"),
        ("anthropic-ratelimit-input-tokens-remaining", "1998000"),
        ("anthropic-ratelimit-input-tokens-reset", "2026-01-01T00:00:01Z"),
        ("anthropic-ratelimit-output-tokens-limit", "400000"),
        ("anthropic-ratelimit-output-tokens-remaining", "400000"),
        ("anthropic-ratelimit-output-tokens-reset", "2026-01-01T00:00:01Z"),
        ("anthropic-ratelimit-tokens-limit", "2400000"),
        ("anthropic-ratelimit-tokens-remaining", "2398000"),
        ("anthropic-ratelimit-tokens-reset", "2026-01-01T00:00:01Z"),
        ("via", "1.1 google"),
        ("cf-ray", "9a0b1c2d3e4f5061-AMS"),
    ];

    const MESSAGE: &str = concat!(
        r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","#,
        r#""content":[{"type":"text","text":"Hello! I can help with that. Which file should I look at first?"}],"#,
        r#""stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":1834,"#,
        r#""cache_read_input_tokens":31250,"cache_creation":{"ephemeral_5m_input_tokens":1834,"ephemeral_1h_input_tokens":0},"#,
        r#""output_tokens":18,"service_tier":"standard"}}"#,
    );

    const SSE_EVENTS: &[&str] = &[
        concat!(
            "event: message_start\n",
            r#"data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","#,
            r#""model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"#,
            r#""cache_creation_input_tokens":1834,"cache_read_input_tokens":31250,"cache_creation":{"ephemeral_5m_input_tokens":1834,"#,
            r#""ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}"#,
            "\n\n"
        ),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello! I can\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" help with that.\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" Which file should\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" I look at first?\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":18}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    ];
}

/// The LiteLLM engine: a second gateway whose only upstream is `bedrock`,
/// which the gateway serves through LiteLLM, pointed at the same canned
/// upstream (its Bedrock invoke answers Anthropic's message, as Bedrock's
/// does). LiteLLM is the one the user installed (`gatehouse engine litellm
/// install`), or the venv at `$GATEHOUSE_BENCH_LITELLM_VENV`.
mod litellm_engine {
    use super::*;

    /// Requests per side: LiteLLM serves about 35 a second on two cores.
    const REQUESTS: usize = 400;
    const WARMUP: usize = 3;
    /// LiteLLM takes 10 to 30 s to start.
    const READY_DEADLINE: Duration = Duration::from_secs(120);

    pub struct Measured {
        pub ready_after: Duration,
        pub idle_rss: Option<u64>,
        pub loaded_rss: Option<u64>,
        pub gateway_rss: Option<u64>,
        pub latencies: Vec<Comparison>,
        /// LiteLLM's CPU time per request, per scenario.
        pub litellm_cpu_per_request: Vec<(&'static str, Duration)>,
    }

    /// The installed engine's venv, as `gatehouse engine litellm status` reports it.
    fn venv() -> Result<PathBuf, String> {
        if let Some(venv) = std::env::var_os("GATEHOUSE_BENCH_LITELLM_VENV") {
            return Ok(PathBuf::from(venv));
        }
        let output = std::process::Command::new(gateway_process::binary())
            .args(["engine", "litellm", "status", "--json"])
            .output()
            .map_err(|e| format!("cannot run `gatehouse engine litellm status`: {e}"))?;
        let status: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
        match (status["installed"].as_bool(), status["problem"].as_str(), status["venv"].as_str()) {
            (Some(true), None, Some(venv)) => Ok(PathBuf::from(venv)),
            _ => Err("LiteLLM is not installed: run `gatehouse engine litellm install`, or set \
                      GATEHOUSE_BENCH_LITELLM_VENV"
                .to_string()),
        }
    }

    pub async fn measure(upstream: &upstream::Upstream) -> Result<Measured, String> {
        let venv = std::fs::canonicalize(venv()?).map_err(|e| format!("the LiteLLM venv: {e}"))?;
        let home = tempfile::tempdir().map_err(|e| e.to_string())?;
        let link = home.path().join("data/engines/litellm/venv");
        std::fs::create_dir_all(link.parent().expect("a parent")).map_err(|e| e.to_string())?;
        std::os::unix::fs::symlink(&venv, &link).map_err(|e| e.to_string())?;
        let config = format!(
            "[[upstreams]]\nname = \"bedrock\"\nkind = \"bedrock\"\nregion = \"us-east-1\"\n\
             base_url = \"http://{}\"\nsecret = \"env:GATEHOUSE_BENCH_AWS\"\n\n[[routes]]\nmodels = \"*\"\n\
             upstreams = [\"bedrock\"]\n",
            upstream.addr
        );
        std::fs::write(home.path().join("config.toml"), config).map_err(|e| e.to_string())?;
        let key = gateway_process::issue_key(home.path()).map_err(|e| format!("{e:#}"))?;
        // SAFETY: the bench is single-threaded here; nothing else reads the environment now.
        unsafe { std::env::set_var("GATEHOUSE_BENCH_AWS", "AKIABENCHFAKE:benchsecret") };
        eprintln!("measuring: the LiteLLM engine (starting it)");
        let started = Instant::now();
        let (gateway, _) =
            gateway_process::Gateway::start(home.path(), upstream.addr).await.map_err(|e| format!("{e:#}"))?;
        let ready = async {
            loop {
                if engine_ready(gateway.addr).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(READY_DEADLINE, ready).await.map_err(|_| "LiteLLM never got ready".to_string())?;
        let ready_after = started.elapsed();
        let litellm = child_of(gateway.pid).ok_or("LiteLLM's process is not found")?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle_rss = rss_bytes(litellm);
        let requests = client::Requests::new(&key);
        let mut latencies = Vec::new();
        let mut litellm_cpu_per_request = Vec::new();
        for (name, concurrency) in [("small body, c=1", 1), ("small body, c=16", 16)] {
            eprintln!("measuring: {name} through LiteLLM");
            let scenario = Scenario {
                name,
                request: requests.small.clone(),
                concurrency,
                requests: REQUESTS,
                timing: Timing::WholeResponse,
                warmup: WARMUP,
            };
            let before = cpu_time(litellm);
            let comparison = compare(&scenario, upstream.addr, &gateway).await;
            let sent = comparison.via.len() + ROUNDS * concurrency * WARMUP;
            if let (Some(before), Some(after)) = (before, cpu_time(litellm))
                && sent > 0
            {
                litellm_cpu_per_request.push((name, after.saturating_sub(before) / sent as u32));
            }
            latencies.push(comparison);
        }
        let loaded_rss = rss_bytes(litellm);
        let gateway_rss = gateway.rss_bytes();
        gateway.stop().await.map_err(|e| format!("{e:#}"))?;
        Ok(Measured { ready_after, idle_rss, loaded_rss, gateway_rss, latencies, litellm_cpu_per_request })
    }

    /// Whether the gateway's `/status` says its LiteLLM is ready.
    async fn engine_ready(addr: SocketAddr) -> bool {
        let spec =
            client::RequestSpec { method: Method::GET, path: "/status", headers: HeaderMap::new(), body: Bytes::new() };
        let Ok(mut connection) = client::Connection::open(addr).await else { return false };
        let Ok(response) = connection.send(&spec).await else { return false };
        let Ok(body) = response.into_body().collect().await else { return false };
        let status: serde_json::Value = serde_json::from_slice(&body.to_bytes()).unwrap_or_default();
        status["upstreams"][1]["engine"]["ready"].as_bool() == Some(true)
    }

    /// The gateway's child process (LiteLLM).
    fn child_of(parent: u32) -> Option<u32> {
        std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // The fields after the command's closing parenthesis: state, ppid, …
            let ppid: u32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent).then_some(pid)
        })
    }
}

/// Request bodies shaped like Claude Code's.
mod bodies {
    use serde_json::{Value, json};

    use super::*;

    /// Claude Code's `metadata.user_id`: a JSON document in a string, which
    /// the gateway parses for the session.
    fn metadata() -> Value {
        json!({"user_id": r#"{"device_id":"4f1c0b9e8d7a6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d","account_uuid":"","session_id":"0b6f2c1e-6a57-4d0e-9c3b-2f8e7d6c5b4a"}"#})
    }

    /// A one-line question, as a title or quota-check request is.
    pub fn small(stream: bool) -> Bytes {
        let body = json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Say hello in one sentence."}],
            "metadata": metadata(),
            "stream": stream,
        });
        Bytes::from(body.to_string())
    }

    /// A request deep into a coding session, at least `size` bytes: a long
    /// system prompt with cache control, the tool definitions, and turns of
    /// file reads whose source text is full of quotes and newlines to escape.
    pub fn claude_code_sized(size: usize) -> Bytes {
        let mut messages = vec![json!({"role": "user", "content": "Find why the ledger test is flaky and fix it."})];
        let mut body = request(messages.clone());
        let mut turn = 0;
        while body.len() < size {
            messages.push(json!({"role": "assistant", "content": [
                {"type": "text", "text": format!("Let me read part {turn} of the writer.")},
                {"type": "tool_use", "id": format!("toolu_01A{turn:020}"), "name": "Read",
                 "input": {"file_path": format!("/home/dev/gatehouse/src/ledger/part_{turn}.rs")}},
            ]}));
            messages.push(json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": format!("toolu_01A{turn:020}"), "content": source_text(turn)},
            ]}));
            turn += 1;
            body = request(messages.clone());
        }
        Bytes::from(body)
    }

    fn request(messages: Vec<Value>) -> String {
        json!({
            "model": "claude-sonnet-4-5-20250929",
            "max_tokens": 32000,
            "system": [
                {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                {"type": "text", "text": prose(12_000), "cache_control": {"type": "ephemeral"}},
            ],
            "tools": tools(),
            "messages": messages,
            "metadata": metadata(),
            "stream": false,
        })
        .to_string()
    }

    /// Claude Code sends about twenty tools with long descriptions.
    fn tools() -> Vec<Value> {
        ["Task", "Bash", "Glob", "Grep", "Read", "Edit", "Write", "NotebookEdit", "WebFetch", "WebSearch", "TodoWrite"]
            .iter()
            .chain(["BashOutput", "KillShell", "ExitPlanMode", "SlashCommand", "ListMcpResources"].iter())
            .map(|name| {
                json!({
                    "name": name,
                    "description": prose(1_800),
                    "input_schema": {
                        "type": "object",
                        "properties": {
                            "file_path": {"type": "string", "description": "The absolute path to the file"},
                            "command": {"type": "string", "description": "The command to execute"},
                            "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)"},
                            "pattern": {"type": "string", "description": "The regular expression pattern to search for"},
                        },
                        "required": ["file_path"],
                        "additionalProperties": false,
                        "$schema": "http://json-schema.org/draft-07/schema#",
                    },
                })
            })
            .collect()
    }

    fn prose(len: usize) -> String {
        const SENTENCE: &str = "When the user asks for a change, read the relevant files first, keep edits \
            minimal, follow the project's conventions, and run the tests before saying the work is done. ";
        SENTENCE.repeat(len / SENTENCE.len() + 1)[..len].to_string()
    }

    /// About 9 KB of numbered Rust source, as a `Read` tool result shows it.
    fn source_text(turn: usize) -> String {
        (1..=120)
            .map(|line| {
                format!(
                    "{line:>6}\u{2192}    let value_{turn}_{line} = ledger.query(\"SELECT cost FROM requests WHERE id = ?\", [{line}])?;\n"
                )
            })
            .collect()
    }
}

/// Percentiles, targets and the Markdown tables.
mod report {
    use super::*;

    pub struct Report {
        pub latencies: Vec<Comparison>,
        pub idle_rss: Option<u64>,
        pub loaded_rss: Option<u64>,
        pub held: held::Held,
        pub first_start: Duration,
        pub cold_starts: Result<Vec<Duration>, String>,
        pub litellm: Result<litellm_engine::Measured, String>,
    }

    /// The `p`-th percentile (nearest rank) of unsorted samples.
    fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        Some(sorted[rank.clamp(1, sorted.len()) - 1])
    }

    fn ms(duration: Duration) -> f64 {
        duration.as_secs_f64() * 1000.0
    }

    /// Via minus direct at percentile `p`, in milliseconds.
    fn added(comparison: &Comparison, p: f64) -> Option<f64> {
        Some(ms(percentile(&comparison.via, p)?) - ms(percentile(&comparison.direct, p)?))
    }

    fn cell(value: Option<f64>) -> String {
        value.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"))
    }

    fn megabytes(bytes: Option<u64>) -> String {
        bytes.map_or_else(|| "–".to_string(), |b| format!("{:.1} MB", b as f64 / 1e6))
    }

    pub fn print(report: &Report) {
        print_latencies(&report.latencies);
        print_memory(report);
        print_start(report);
        print_targets(report);
        print_litellm(report);
    }

    /// The LiteLLM engine behind the gateway, beside the built-in one.
    fn print_litellm(report: &Report) {
        println!("\n## The LiteLLM engine (gateway → LiteLLM → Bedrock-shaped upstream)\n");
        let measured = match &report.litellm {
            Ok(measured) => measured,
            Err(why) => {
                println!("Not measured: {why}");
                return;
            }
        };
        println!(
            "| Scenario | n | added p50, built-in | added p50, LiteLLM | added p99, built-in | added p99, LiteLLM | CPU µs/req: gateway, LiteLLM |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for c in &measured.latencies {
            let builtin = report.latencies.iter().find(|b| b.name == c.name);
            let us =
                |d: Option<Duration>| d.map_or_else(|| "–".to_string(), |d| format!("{:.0}", d.as_secs_f64() * 1e6));
            println!(
                "| {} | {} | {} | {} | {} | {} | {}, {} |",
                c.name,
                c.direct.len().min(c.via.len()),
                cell(builtin.and_then(|b| added(b, 50.0))),
                cell(added(c, 50.0)),
                cell(builtin.and_then(|b| added(b, 99.0))),
                cell(added(c, 99.0)),
                us(c.cpu_per_request),
                us(measured.litellm_cpu_per_request.iter().find(|(name, _)| *name == c.name).map(|(_, d)| *d)),
            );
        }
        for c in measured.latencies.iter().filter(|c| c.error.is_some()) {
            println!("\n{} stopped early: {}", c.name, c.error.as_deref().unwrap_or_default());
        }
        println!("\n| LiteLLM | |\n|---|---:|");
        println!("| ready after the gateway's spawn | {:.1} s |", measured.ready_after.as_secs_f64());
        println!("| VmRSS idle, once ready | {} |", megabytes(measured.idle_rss));
        println!("| VmRSS after the latency runs | {} |", megabytes(measured.loaded_rss));
        println!("| gateway VmRSS beside it | {} |", megabytes(measured.gateway_rss));
    }

    fn print_latencies(comparisons: &[Comparison]) {
        println!("## Latency (ms)\n");
        println!(
            "| Scenario | n (each side) | direct p50 | via p50 | **added p50** | direct p99 | via p99 | **added p99** | gateway CPU µs/req |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for c in comparisons {
            let at = |samples: &[Duration], p| cell(percentile(samples, p).map(ms));
            println!(
                "| {} | {} | {} | {} | **{}** | {} | {} | **{}** | {} |",
                c.name,
                c.direct.len().min(c.via.len()),
                at(&c.direct, 50.0),
                at(&c.via, 50.0),
                cell(added(c, 50.0)),
                at(&c.direct, 99.0),
                at(&c.via, 99.0),
                cell(added(c, 99.0)),
                c.cpu_per_request.map_or_else(|| "–".to_string(), |d| format!("{:.0}", d.as_secs_f64() * 1e6)),
            );
        }
        for c in comparisons.iter().filter(|c| c.error.is_some()) {
            println!("\n{} stopped early: {}", c.name, c.error.as_deref().unwrap_or_default());
        }
        println!();
    }

    fn print_memory(report: &Report) {
        let held = &report.held;
        println!("## Gateway memory (VmRSS; MB = 10^6 bytes)\n");
        println!("| State | VmRSS |");
        println!("|---|---:|");
        println!("| idle after start | {} |", megabytes(report.idle_rss));
        println!("| after the latency runs | {} |", megabytes(report.loaded_rss));
        println!("| {} of {HELD_STREAMS} streams held open | {} |", held.opened, megabytes(held.rss));
        if let Some(error) = &held.error {
            println!("\nheld streams: {error}");
        }
        println!();
    }

    fn print_start(report: &Report) {
        println!("## Start-up (spawn to 200 from `GET /health`, ms)\n");
        println!("| Start | runs | min | median | max |");
        println!("|---|---:|---:|---:|---:|");
        println!("| first (creates the ledger) | 1 | – | {:.1} | – |", ms(report.first_start));
        match &report.cold_starts {
            Ok(times) => println!(
                "| cold (ledger exists) | {} | {} | {} | {} |",
                times.len(),
                cell(percentile(times, 0.0).map(ms)),
                cell(percentile(times, 50.0).map(ms)),
                cell(percentile(times, 100.0).map(ms)),
            ),
            Err(error) => println!("| cold (ledger exists) | failed: {error} | | | |"),
        }
        println!();
    }

    fn print_targets(report: &Report) {
        let find = |name: &str| report.latencies.iter().find(|c| c.name == name);
        let added_at = |name: &str, p: f64| find(name).and_then(|c| added(c, p));
        let cold_median = report.cold_starts.as_ref().ok().and_then(|t| percentile(t, 50.0)).map(ms);
        let rows: [(&str, Option<f64>, f64, &str); 6] = [
            ("added p50, small body, c=1", added_at("small body, c=1", 50.0), 0.1, "ms"),
            ("added p99, small body, c=16", added_at("small body, c=16", 99.0), 1.0, "ms"),
            ("added p50, stream time to first byte", added_at("stream TTFB, c=1", 50.0), 0.5, "ms"),
            ("added p50, 250 KB body", added_at("250 KB body, c=1", 50.0), 1.0, "ms"),
            ("idle RSS", report.idle_rss.map(|b| b as f64 / 1e6), 15.0, "MB"),
            ("ready after spawn (median)", cold_median, 50.0, "ms"),
        ];
        println!("## Targets\n");
        println!("| Target | Limit | Measured | Met |");
        println!("|---|---:|---:|:---:|");
        for (name, measured, limit, unit) in rows {
            let met = match measured {
                Some(value) if value <= limit => "yes",
                Some(_) => "**no**",
                None => "not measured",
            };
            println!("| {name} | ≤ {limit} {unit} | {} {unit} | {met} |", cell(measured));
        }
    }
}
