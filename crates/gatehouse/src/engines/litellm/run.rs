//! Running the LiteLLM engine: start, readiness, restart, stop.
//!
//! The gateway starts LiteLLM when an upstream's Messages requests go
//! through it (`bedrock`), or else with the first Chat Completions request
//! when the config has a paid upstream to serve it, and owns it from then on: LiteLLM lives exactly as
//! long as the gateway, on a loopback port of its own that only the gateway
//! talks to, with a master key made for this run that lives only in the
//! gateway's memory and LiteLLM's environment (never in a file). A gateway
//! that dies takes LiteLLM with it (the kernel signals it), so an engine is
//! never left behind, and a restart never finds a stale one.
//!
//! - **Start**: writes `state/litellm-config.yaml` (see
//!   [`super::config_yaml`]), then runs `litellm --config … --host 127.0.0.1 --port P` with a
//!   clean environment: the variables LiteLLM needs to run offline, the
//!   credentials its config names, and the network and locale settings a
//!   Python program needs, nothing else (an `ANTHROPIC_API_KEY` or
//!   `AWS_PROFILE` of the user's would change what LiteLLM does).
//! - **Ready**: LiteLLM takes 10 to 30 s to start. Until
//!   `GET /health/liveliness` answers, its upstreams are passed over with
//!   the reason ("starting, 12 s so far"), so the subscription and other
//!   upstreams serve meanwhile. `/health` is never polled: it makes real
//!   calls to every provider.
//! - **Spend**: Gatehouse's callback module is written beside the config
//!   and put on `PYTHONPATH`, with the ledger's path in `GATEHOUSE_LEDGER`
//!   (see [`super::callback`]).
//! - **Logs**: LiteLLM's output, and the engine's own lines, go to
//!   `logs/litellm.log`.
//! - **Restart**: a LiteLLM that exits is started again after a wait that
//!   doubles with each crash, and given up on after too many (the
//!   supervisor's policy, [`crate::supervisor::backoff`]); its upstreams
//!   then say why, with the log's last line.
//! - **Stop**: SIGTERM to its process group when the gateway stops, SIGKILL
//!   if it has not gone within a few seconds.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::HeaderValue;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::process::{Child, Command};
use tokio::sync::{Notify, watch};

use super::aws::AwsCredentials;
use super::callback;
use super::config_yaml::{self, MASTER_KEY_ENV, UpstreamEnv};
use crate::config::Config;
use crate::config::UpstreamKindConfig;
use crate::gateway::{EngineRun, EngineStatus};
use crate::paths::Paths;
use crate::secrets::SecretRef;
use crate::supervisor::backoff::{CrashHistory, Decision, RestartPolicy};

/// LiteLLM's variables for running without the network (see
/// `../shared/reference/litellm.md`): without them it fetches its cost map
/// and other files at start, and blocks on them offline.
const OFFLINE_ENV: &[(&str, &str)] = &[
    ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
    ("LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS", "True"),
    ("LITELLM_LOCAL_BLOG_POSTS", "True"),
    ("LITELLM_LOCAL_POLICY_TEMPLATES", "True"),
    ("LITELLM_LOCAL_AUTOROUTER_PRESETS", "True"),
    ("PYTHONUNBUFFERED", "1"),
];

/// What LiteLLM may inherit from the gateway's environment: where things
/// are, the locale, and how to reach the network (a proxy, a CA bundle).
const INHERITED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Give up waiting for a LiteLLM that never answers its liveliness check.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// The least time between two tries to start an engine that could not start.
const RETRY_UNPREPARED_AFTER: Duration = Duration::from_secs(5);
/// How long LiteLLM has to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How the gateway reaches the engine, and whether it can now.
pub(crate) struct Link {
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// `Bearer <master key>`, for `x-litellm-api-key`; marked sensitive.
    pub(crate) master_key: HeaderValue,
    state: watch::Sender<State>,
    /// Starts an engine that waits for its first request.
    wake: Notify,
}

#[derive(Debug, Clone)]
enum State {
    /// Not started: no upstream needs it until a Chat Completions request comes.
    Idle,
    Starting {
        since: Instant,
    },
    Ready,
    Down(String),
    /// It could not be started (not installed, no credentials): why. The
    /// next request that needs it tries again, so an install made since
    /// takes effect without restarting the gateway.
    Unprepared(String),
}

impl Link {
    fn new(base_url: String, master_key: HeaderValue, state: State) -> Link {
        Link { base_url, master_key, state: watch::Sender::new(state), wake: Notify::new() }
    }

    /// Why requests cannot go to the engine now; `None` when they can.
    pub(crate) fn unavailable(&self) -> Option<String> {
        match &*self.state.borrow() {
            State::Ready => None,
            State::Idle => Some("the LiteLLM engine has not started".to_string()),
            State::Starting { since } => Some(format!(
                "the LiteLLM engine is starting ({} s so far; it takes 10 to 30 s)",
                since.elapsed().as_secs()
            )),
            State::Down(why) | State::Unprepared(why) => Some(why.clone()),
        }
    }

    /// What `/status` says of it: `ready`, or why not.
    pub(crate) fn describe(&self) -> String {
        self.unavailable().unwrap_or_else(|| "ready".to_string())
    }

    /// What `/status` reports of it.
    pub(crate) fn status(&self) -> EngineStatus {
        let run = match &*self.state.borrow() {
            State::Idle => EngineRun::Idle,
            State::Starting { .. } => EngineRun::Starting,
            State::Ready => EngineRun::Ready,
            State::Down(_) | State::Unprepared(_) => EngineRun::Down,
        };
        EngineStatus { name: "litellm".to_string(), ready: run == EngineRun::Ready, detail: self.describe(), run }
    }

    /// Starts the engine if it waits for its first request, and waits up to
    /// `limit` for it to be ready (or to fail); a request then goes to it,
    /// or is told why not, rather than being refused while it starts.
    pub(crate) async fn started(&self, limit: Duration) {
        let mut state = self.state.subscribe();
        let wake = match &*state.borrow_and_update() {
            State::Ready | State::Down(_) => return,
            State::Idle | State::Unprepared(_) => true,
            State::Starting { .. } => false,
        };
        let settled = async {
            if wake {
                self.wake.notify_one();
                // It starts, or says at once why it cannot.
                if state.changed().await.is_err() {
                    return;
                }
            }
            let _ = state.wait_for(|state| !matches!(state, State::Starting { .. })).await;
        };
        let _ = tokio::time::timeout(limit, settled).await;
    }

    /// Tries to start an engine that could not be started before (see
    /// [`State::Unprepared`]), without waiting for it; costs one look at
    /// its state otherwise.
    pub(crate) fn retry_if_unprepared(&self) {
        if matches!(*self.state.borrow(), State::Unprepared(_)) {
            self.wake.notify_one();
        }
    }

    fn set(&self, state: State) {
        self.state.send_replace(state);
    }
}

/// The running engine: its link and the task that looks after it.
pub(crate) struct Engine {
    link: Arc<Link>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Engine {
    pub(crate) fn link(&self) -> Arc<Link> {
        self.link.clone()
    }

    /// Stops LiteLLM and waits for it to be gone.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The engine, when the config has an upstream it serves; `None`
/// otherwise. It starts now when an upstream's Messages requests go through
/// it (Bedrock's), else with the first Chat Completions request (see
/// [`Link::started`]): LiteLLM costs hundreds of MB, paid only when used.
/// A problem that keeps it from starting (not installed, a credential that
/// cannot be read) does not stop the gateway: the engine's requests say
/// what it is, and the other upstreams serve.
pub(crate) fn start(config: &Config, paths: &Paths, restart: RestartPolicy) -> Option<Engine> {
    config_yaml::served(config).next()?;
    let now = config.upstreams.iter().any(|upstream| upstream.kind.through_litellm());
    let (master_key, header) = master_key();
    let port = match free_port() {
        Ok(port) => port,
        Err(error) => return Some(down(format!("the LiteLLM engine has no port: {error}"))),
    };
    let state = if now { State::Starting { since: Instant::now() } } else { State::Idle };
    let link = Arc::new(Link::new(format!("http://127.0.0.1:{port}"), header, state));
    let (stop, stopped) = watch::channel(false);
    let (config, paths) = (config.clone(), paths.clone());
    let task = tokio::spawn({
        let link = link.clone();
        async move {
            let mut wait = !now;
            loop {
                if wait {
                    let mut stopped = stopped.clone();
                    tokio::select! {
                        _ = link.wake.notified() => {}
                        _ = stop_requested(&mut stopped) => return,
                    }
                }
                // Reads the keychain and writes files: off the gateway's threads.
                let (config, paths, master_key) = (config.clone(), paths.clone(), master_key.clone());
                let prepared = tokio::task::spawn_blocking(move || Launch::prepare(&config, &paths, port, master_key))
                    .await
                    .unwrap_or_else(|error| Err(format!("the LiteLLM engine could not be prepared: {error}")));
                match prepared {
                    Ok(launch) => return look_after(launch, link, restart, stopped).await,
                    Err(why) => {
                        tracing::error!("{why}");
                        link.set(State::Unprepared(why));
                        wait = true;
                        // However many requests ask, a failed start is tried
                        // again at most this often.
                        let mut stopped = stopped.clone();
                        tokio::select! {
                            _ = tokio::time::sleep(RETRY_UNPREPARED_AFTER) => {}
                            _ = stop_requested(&mut stopped) => return,
                        }
                    }
                }
            }
        }
    });
    Some(Engine { link, stop, task })
}

/// An engine that cannot start, for the reason given.
fn down(why: String) -> Engine {
    tracing::error!("{why}");
    let (stop, _) = watch::channel(false);
    let link = Link::new("http://127.0.0.1:9".to_string(), HeaderValue::from_static(""), State::Down(why));
    Engine { link: Arc::new(link), stop, task: tokio::spawn(async {}) }
}

/// A new master key for this run: `sk-` (LiteLLM refuses keys without it)
/// and 32 random bytes.
fn master_key() -> (SecretString, HeaderValue) {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS provides random bytes");
    let key = format!("sk-gatehouse-{}", hex::encode(bytes));
    let mut header = HeaderValue::from_str(&format!("Bearer {key}")).expect("hex is a header value");
    header.set_sensitive(true);
    (SecretString::from(key), header)
}

/// A loopback port no one listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Everything a start of LiteLLM needs, ready before the first.
struct Launch {
    /// Where the install is: each start runs the venv verified then, so a
    /// restart after a reinstall (which removes the old venv) finds the new.
    paths: Paths,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    log: PathBuf,
    liveliness: String,
}

impl Launch {
    /// Finds LiteLLM, reads the credentials and writes `config.yaml`;
    /// `Err` says what is wrong and what to do.
    fn prepare(config: &Config, paths: &Paths, port: u16, master_key: SecretString) -> Result<Launch, String> {
        installed_litellm(paths)?;
        let mut env: Vec<(OsString, OsString)> = INHERITED_ENV
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|value| (OsString::from(name), value)))
            .collect();
        env.extend(OFFLINE_ENV.iter().map(|(name, value)| (name.into(), value.into())));
        env.push((MASTER_KEY_ENV.into(), master_key.expose_secret().into()));
        let mut with_token = Vec::new();
        for (index, upstream) in config_yaml::served(config) {
            let names = UpstreamEnv::of(index, upstream);
            let secret = SecretRef::parse(&upstream.secret, config.secrets.store)
                .map_err(|error| error.to_string())
                .and_then(|reference| {
                    reference
                        .resolve(paths)
                        .map(|resolved| resolved.secret)
                        .map_err(|error| format!("{reference}: {error}"))
                });
            if upstream.kind != UpstreamKindConfig::Bedrock {
                // A key that cannot be read leaves its deployment without
                // one; the gateway refuses that upstream's requests itself,
                // saying why, so the others still serve.
                if let Ok(key) = secret {
                    env.push((names.api_key.into(), key.expose_secret().trim().into()));
                }
                continue;
            }
            let credentials = secret
                .and_then(|secret| AwsCredentials::parse(&upstream.name, &secret).map_err(|error| error.to_string()))
                .map_err(|why| format!("upstream `{}` has no AWS credentials: {why}", upstream.name))?;
            env.push((names.access_key_id.into(), credentials.access_key_id.expose_secret().into()));
            env.push((names.secret_access_key.into(), credentials.secret_access_key.expose_secret().into()));
            if let Some(token) = &credentials.session_token {
                env.push((names.session_token.into(), token.expose_secret().into()));
                with_token.push(upstream.name.clone());
            }
        }
        let python = callback::write_module(&paths.state_dir.join("litellm-python"))
            .map_err(|error| format!("cannot write Gatehouse's LiteLLM callback: {error}"))?;
        env.push(("PYTHONPATH".into(), python.into_os_string()));
        env.push((callback::LEDGER_ENV.into(), paths.ledger_file().into_os_string()));
        let yaml = config_yaml::generate(config, |name| with_token.iter().any(|with| with == name));
        let config_file = paths.state_dir.join("litellm-config.yaml");
        crate::fs_atomic::write_private(&config_file, yaml.as_bytes())
            .map_err(|error| format!("cannot write LiteLLM's config {}: {error}", config_file.display()))?;
        crate::fs_atomic::create_private_dir(&paths.log_dir)
            .map_err(|error| format!("cannot create the log directory {}: {error}", paths.log_dir.display()))?;
        let args = ["--config".into(), config_file.into_os_string(), "--host".into(), "127.0.0.1".into()]
            .into_iter()
            .chain(["--port".into(), port.to_string().into()])
            .collect();
        Ok(Launch {
            paths: paths.clone(),
            args,
            env,
            log: paths.log_dir.join("litellm.log"),
            liveliness: format!("http://127.0.0.1:{port}/health/liveliness"),
        })
    }

    /// Starts LiteLLM in a process group of its own, its output appended
    /// to the log, and told by the kernel to stop if the gateway dies.
    fn spawn(&self) -> Result<Child, String> {
        let program = installed_litellm(&self.paths)?;
        let cannot = |error: std::io::Error| format!("the LiteLLM engine cannot start {}: {error}", program.display());
        let log = open_log(&self.log).map_err(cannot)?;
        let mut command = Command::new(&program);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().map_err(cannot)?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        // The kernel signals LiteLLM when the *thread* that spawned it ends:
        // spawns happen on the gateway runtime's worker threads (the task in
        // `look_after`), which live as long as the runtime, never on the
        // blocking pool's, which end when idle.
        // SAFETY: prctl is async-signal-safe, and nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command.spawn().map_err(cannot)
    }

    /// Writes one of the engine's own lines into LiteLLM's log.
    fn note(&self, message: &str) {
        if let Ok(mut file) = open_log(&self.log) {
            let _ = writeln!(file, "{:.3} gatehouse: {message}", jiff::Timestamp::now());
        }
    }

    /// The log's last line, to say why LiteLLM stopped.
    fn last_log_line(&self) -> Option<String> {
        let text = std::fs::read(&self.log).ok()?;
        let tail = &text[text.len().saturating_sub(4096)..];
        String::from_utf8_lossy(tail)
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty() && !line.contains(" gatehouse: "))
            .map(|line| line.trim().chars().take(300).collect())
    }
}

/// The verified install's `litellm`, or why the engine cannot start.
fn installed_litellm(paths: &Paths) -> Result<PathBuf, String> {
    super::install::installed(paths)
        .map(|installed| installed.litellm)
        .map_err(|why| format!("the LiteLLM engine cannot start: {why}; the next request that needs it starts it"))
}

/// `logs/litellm.log`, for appending, readable only by the user; moved to
/// `litellm.log.1` first once it is over 5 MB.
fn open_log(path: &Path) -> std::io::Result<File> {
    if std::fs::metadata(path).is_ok_and(|meta| meta.len() > 5 * 1024 * 1024) {
        let _ = std::fs::rename(path, path.with_extension("log.1"));
    }
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

/// Starts LiteLLM, waits for it to be ready, and starts it again when it
/// exits, until told to stop or it keeps failing.
async fn look_after(launch: Launch, link: Arc<Link>, restart: RestartPolicy, mut stopped: watch::Receiver<bool>) {
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build();
    let mut crashes = CrashHistory::default();
    loop {
        let started = Instant::now();
        link.set(State::Starting { since: started });
        launch.note("starting LiteLLM");
        let mut child = match launch.spawn() {
            Ok(child) => child,
            Err(why) => {
                tracing::error!("{why}");
                link.set(State::Down(why));
                return;
            }
        };
        let ended = tokio::select! {
            ended = run_once(&launch, &link, &http, &mut child, started) => ended,
            _ = stop_requested(&mut stopped) => {
                stop(&mut child).await;
                launch.note("stopped LiteLLM with the gateway");
                return;
            }
        };
        let said = launch.last_log_line().map(|line| format!(" Its last words: {line}")).unwrap_or_default();
        match crashes.record(&restart, Instant::now()) {
            Decision::Restart { attempt, delay } => {
                let why = format!("the LiteLLM engine {ended}; starting it again (attempt {attempt}).{said}");
                tracing::warn!("{why}");
                launch.note(&why);
                link.set(State::Down(why));
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop_requested(&mut stopped) => return,
                }
            }
            Decision::GiveUp { crashes } => {
                let why = format!(
                    "the LiteLLM engine {ended}, and stopped {crashes} times in a row, so it is not started again \
                     until the gateway restarts; see {}.{said}",
                    launch.log.display()
                );
                tracing::error!("{why}");
                launch.note(&why);
                link.set(State::Down(why));
                return;
            }
        }
    }
}

/// Resolves once the gateway asks the engine to stop (or is gone).
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// One run of LiteLLM: ready once it answers, then until it exits; returns
/// how it ended.
async fn run_once(
    launch: &Launch,
    link: &Link,
    http: &Result<reqwest::Client, reqwest::Error>,
    child: &mut Child,
    started: Instant,
) -> String {
    loop {
        tokio::select! {
            status = child.wait() => return describe_exit(status),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        // LiteLLM's own answer ("I'm alive!"), from the child still running:
        // not another process that took the port before LiteLLM could, which
        // must never be sent requests with the master key.
        let alive = match http {
            Ok(http) => match http.get(&launch.liveliness).send().await {
                Ok(response) if response.status().is_success() => {
                    response.text().await.is_ok_and(|text| text.contains("alive"))
                }
                _ => false,
            },
            Err(_) => false,
        };
        if alive && matches!(child.try_wait(), Ok(None)) {
            let after = started.elapsed().as_secs_f64();
            tracing::info!("the LiteLLM engine is ready on {} after {after:.1} s", link.base_url);
            launch.note(&format!("LiteLLM is ready after {after:.1} s"));
            link.set(State::Ready);
            break;
        }
        if started.elapsed() > READY_TIMEOUT {
            stop(child).await;
            return format!("did not answer its liveliness check within {} s", READY_TIMEOUT.as_secs());
        }
    }
    describe_exit(child.wait().await)
}

fn describe_exit(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => format!("exited ({status})"),
        Err(error) => format!("could not be waited for ({error})"),
    }
}

/// SIGTERM to LiteLLM's process group, then SIGKILL if it lingers.
async fn stop(child: &mut Child) {
    let Some(pid) = child.id() else { return };
    let group = -(pid as libc::pid_t);
    // SAFETY: kill(2) with a process group we created and have not reaped.
    unsafe { libc::kill(group, libc::SIGTERM) };
    if tokio::time::timeout(STOP_TIMEOUT, child.wait()).await.is_err() {
        // SAFETY: as above.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = child.wait().await;
    }
}
