//! Signing in to OpenRouter from the app: the tray's "Sign in to
//! OpenRouter…" and the window's Settings page run the browser flow of
//! [`crate::auth::openrouter_login`] on a thread of their own, store the key
//! it brings in the secret store (the OS keychain), and show where it
//! stands. A person whose browser runs elsewhere pastes the address it ended
//! on into the window. The end is also a notification, since a sign-in
//! started from the tray has no window to show it.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use super::notice::{Notice, Opens};
use super::service::{DesktopService, lock};
use crate::auth::openrouter_login::{self, Endpoints, Interrupt, Login, LoginError, PastedCode};
use crate::config::Config;
use crate::secrets::provider_check;
use crate::secrets::{Provider, SecretName, SecretStore};

/// Where the app's OpenRouter sign-in stands.
#[derive(ts_rs::TS)]
#[ts(export)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OpenRouterSignIn {
    /// None has run since the app started.
    #[default]
    Idle,
    /// Waiting for the browser (or a pasted address) to come back from `url`.
    Waiting { url: String },
    /// The key is stored as `name`, referred to as `reference` in the config.
    SignedIn { name: String, reference: String, store: String },
    /// It ended without a key; why, and what to do.
    Failed { message: String },
}

/// The sign-in in progress, and what the app shows of it.
#[derive(Default)]
pub(crate) struct SignInState {
    view: OpenRouterSignIn,
    running: Option<Running>,
    /// Counts sign-ins, so that one replaced by a newer one cannot report over it.
    started: u64,
}

struct Running {
    number: u64,
    interrupts: mpsc::Sender<Interrupt>,
    pasted: PastedCode,
}

/// The name the app stores OpenRouter's key under.
const NAME: &str = "openrouter";

impl DesktopService {
    /// Starts OpenRouter's browser sign-in, ending one already running, and
    /// returns the address to open in the browser.
    pub fn start_openrouter_sign_in(self: &Arc<Self>) -> anyhow::Result<String> {
        self.cancel_openrouter_sign_in();
        let paths = self.options().paths.clone();
        let kind = Config::load(&paths.config_file()).map(|config| config.secrets.store).unwrap_or_default();
        // The store is opened first: a locked or missing keychain is said
        // now, before the person signs in for a key that cannot be kept.
        let store = SecretStore::open(&paths, kind)?;
        let name = SecretName::parse(NAME)?;
        let base = provider_check::base_url(Provider::OpenRouter, "");
        let number = {
            let mut state = lock(&self.openrouter);
            state.started += 1;
            state.started
        };
        let (started, login_started) = std::sync::mpsc::channel();
        let service = Arc::clone(self);
        std::thread::Builder::new().name("openrouter-sign-in".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(error) => return drop(started.send(Err(LoginError::Listen(error)))),
            };
            runtime.block_on(async {
                let login = match Login::start(Endpoints::at(&base), 0).await {
                    Ok(login) => login,
                    Err(error) => return drop(started.send(Err(error))),
                };
                let (interrupt, interrupts) = mpsc::channel(4);
                let url = login.authorize_url().to_string();
                if started.send(Ok((url, login.pasted_code(), interrupt))).is_err() {
                    return;
                }
                let outcome = match login.finish(openrouter_login::TIMEOUT, interrupts).await {
                    Ok(key) => store.put(&name, Some(Provider::OpenRouter), &key).map_err(anyhow::Error::from),
                    Err(error) => Err(anyhow::Error::from(error)),
                };
                service.end_openrouter_sign_in(number, outcome.map(|()| (name, kind, store.describe())));
            });
        })?;
        let (url, pasted, interrupts) = login_started.recv()??;
        let mut state = lock(&self.openrouter);
        state.view = OpenRouterSignIn::Waiting { url: url.clone() };
        state.running = Some(Running { number, interrupts, pasted });
        drop(state);
        self.nudge();
        Ok(url)
    }

    /// The address the running sign-in waits on, to open it again.
    pub fn openrouter_sign_in_url(&self) -> Option<String> {
        match &lock(&self.openrouter).view {
            OpenRouterSignIn::Waiting { url } => Some(url.clone()),
            _ => None,
        }
    }

    /// Hands the running sign-in the address the browser ended on (or its
    /// code), pasted by someone whose browser runs on another machine. One
    /// that is not this sign-in's is refused, and the sign-in goes on.
    pub fn paste_openrouter_address(&self, pasted: &str) -> anyhow::Result<()> {
        let state = lock(&self.openrouter);
        let Some(running) = &state.running else {
            anyhow::bail!("no OpenRouter sign-in is running; start one with \"Sign in to OpenRouter…\"");
        };
        let code = running.pasted.check(pasted)?;
        running
            .interrupts
            .try_send(Interrupt::Code(code))
            .map_err(|_| anyhow::anyhow!("the sign-in is finishing already; wait for it"))
    }

    /// Ends the running sign-in, if any; nothing is stored.
    pub fn cancel_openrouter_sign_in(&self) {
        let mut state = lock(&self.openrouter);
        if let Some(running) = state.running.take() {
            let _ = running.interrupts.try_send(Interrupt::Cancel);
            state.view = OpenRouterSignIn::Idle;
            drop(state);
            self.nudge();
        }
    }

    /// Where the sign-in stands, for the snapshot.
    pub(super) fn openrouter_sign_in(&self) -> OpenRouterSignIn {
        lock(&self.openrouter).view.clone()
    }

    /// A sign-in ended: shows and notifies how, unless a newer one replaced it.
    fn end_openrouter_sign_in(
        &self,
        number: u64,
        outcome: anyhow::Result<(SecretName, crate::secrets::StoreKind, String)>,
    ) {
        let mut state = lock(&self.openrouter);
        if state.running.as_ref().is_none_or(|running| running.number != number) {
            return; // Cancelled or replaced: that was said already.
        }
        state.running = None;
        let (view, notice) = match outcome {
            Ok((name, kind, store)) => {
                let reference = crate::secrets::SecretRef::in_store(name.clone(), kind).to_string();
                let body =
                    format!("Its key is stored as {name} in {store}; the config refers to it as \"{reference}\".");
                let view = OpenRouterSignIn::SignedIn { name: name.to_string(), reference, store };
                (view, Notice { title: "Signed in to OpenRouter".to_string(), body, opens: Opens::Nothing })
            }
            Err(error) => {
                let message = crate::error_chain::describe(&error);
                let notice = Notice {
                    title: "OpenRouter sign-in failed".to_string(),
                    body: message.clone(),
                    opens: Opens::Nothing,
                };
                (OpenRouterSignIn::Failed { message }, notice)
            }
        };
        // Notified before it shows: whoever sees the end finds its notification sent.
        self.notify(notice);
        state.view = view;
        drop(state);
        self.nudge();
    }
}
