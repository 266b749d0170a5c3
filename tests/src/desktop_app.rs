//! The desktop app's behaviour without its window: a `DesktopService` whose
//! supervisor runs a real gateway, watched as the tray watches it, for the
//! tests of what the app notices and notifies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse::desktop::notice::Notice;
use gatehouse::desktop::service::DesktopService;
use gatehouse::supervisor::{GatewayState, SupervisorOptions};
use tokio::sync::broadcast;

use crate::harness::{Sandbox, gatehouse_bin, wait_for};
use crate::webdriver::{StopGateway, free_port};

/// The app, its running gateway, and a client's gateway key.
pub struct SupervisedApp {
    pub service: Arc<DesktopService>,
    pub port: u16,
    pub key: String,
    _gateway: StopGateway,
}

impl SupervisedApp {
    /// Writes the config (the gateway's port and `gateway_extra` lines,
    /// `[anthropic] base_url` = `upstream`, this build's `gatehouse`, then
    /// `extra`), starts the service and its watcher, turns the gateway on
    /// and waits until it runs; with the notifications from its start on.
    /// The process's environment must already point at `sandbox` (see
    /// `sign_in::isolate_this_process`).
    pub fn start(
        sandbox: &Sandbox,
        upstream: &str,
        gateway_extra: &str,
        extra: &str,
    ) -> (SupervisedApp, broadcast::Receiver<Notice>) {
        let port = free_port();
        std::fs::create_dir_all(sandbox.gatehouse_home()).expect("the Gatehouse home");
        std::fs::write(
            sandbox.config_file(),
            format!(
                "[gateway]\nport = {port}\n{gateway_extra}\n[anthropic]\nbase_url = {upstream:?}\n\n[supervisor]\n\
                 gatehouse_bin = {:?}\n\n{extra}",
                gatehouse_bin()
            ),
        )
        .expect("writing the config");
        let key = sandbox.issue_key("tester");
        let gateway = StopGateway(sandbox.gatehouse_home().join("state").join("gateway.json"));
        let service =
            DesktopService::new(SupervisorOptions::under(&sandbox.gatehouse_home())).expect("desktop service");
        let notices = service.notices();
        service.watch(|_| {});
        service.set_proxy(true).expect("starting the gateway");
        wait_for("the gateway to run", 60, || {
            matches!(service.snapshot().gateway, GatewayState::Running { .. }).then_some(())
        });
        (SupervisedApp { service, port, key, _gateway: gateway }, notices)
    }

    /// A logged-in subscriber's small Messages request, as Claude Code sends it.
    pub fn subscription_request(&self, runtime: &tokio::runtime::Runtime, token: &str) -> reqwest::Response {
        let http = reqwest::Client::builder().no_proxy().build().expect("a client");
        let send = http
            .post(format!("http://127.0.0.1:{}/v1/messages", self.port))
            .header("x-gatehouse-key", &self.key)
            .header("anthropic-version", "2023-06-01")
            .header("authorization", format!("Bearer {token}"))
            .json(&serde_json::json!({
                "model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}],
            }))
            .send();
        runtime.block_on(send).expect("the gateway answers")
    }
}

/// The next notice, within `seconds`.
pub fn next_notice(notices: &mut broadcast::Receiver<Notice>, seconds: u64) -> Notice {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        match notices.try_recv() {
            Ok(notice) => return notice,
            Err(broadcast::error::TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(50)),
            Err(error) => panic!("the notices ended: {error}"),
        }
    }
    panic!("no notice within {seconds} s");
}
