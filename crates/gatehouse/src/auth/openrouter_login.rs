//! Signing in to OpenRouter in the browser: OAuth 2.0 with PKCE (S256) and
//! a loopback redirect (RFC 8252), which OpenRouter answers with an API key.
//!
//! [`Login::start`] listens on `127.0.0.1` (any free port unless one is
//! asked for) and builds the authorization URL: OpenRouter's `/auth` with
//! the callback and the S256 challenge of a fresh verifier. The callback's
//! path carries a fresh state (`/callback/<state>`), so it survives however
//! OpenRouter appends its `code` to the URL. [`Login::finish`] waits for the
//! browser to come back, refuses a state that does not match, an `error`
//! parameter, a timeout and a cancel, each with its own message, then
//! exchanges the code and the verifier at `/api/v1/auth/keys` for the key.
//! Where the browser cannot reach this machine (it runs on another one), the
//! person pastes the code, or the whole address the browser ended on, while
//! the flow waits: [`PastedCode::check`] reads it, and an
//! [`Interrupt::Code`] hands it to the flow.
//!
//! The key comes back as a [`SecretString`]; this module never prints,
//! logs or stores it (the caller puts it in the keychain).

use std::future::IntoFuture as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use http::StatusCode;
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use secrecy::SecretString;
use serde::Deserialize;
use tokio::sync::mpsc;

/// How long the browser has to come back.
pub const TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// Where the flow talks to OpenRouter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The authorization page.
    pub auth_url: String,
    /// Where a code is exchanged for a key.
    pub keys_url: String,
}

impl Endpoints {
    /// OpenRouter's endpoints under `base` (`https://openrouter.ai`, or a
    /// test's loopback mock).
    pub fn at(base: &str) -> Endpoints {
        let base = base.trim_end_matches('/');
        Endpoints { auth_url: format!("{base}/auth"), keys_url: format!("{base}/api/v1/auth/keys") }
    }
}

/// Why a sign-in did not bring a key. Each message says what happened and
/// what to do; none holds a code, verifier or key.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(
        "port {port} on 127.0.0.1 is in use, so the browser could not come back to Gatehouse there: close what \
         uses it, or leave out --port to use any free port"
    )]
    PortInUse { port: u16 },
    #[error("cannot listen on 127.0.0.1 for the browser's return: {0}")]
    Listen(#[source] std::io::Error),
    #[error(
        "no answer from the browser within {minutes} minutes: the sign-in page was closed or not finished. \
         Nothing was saved; start again (where the browser runs on another machine, paste the address it ends \
         on)"
    )]
    TimedOut { minutes: u64 },
    #[error("the sign-in was cancelled; nothing was saved")]
    Cancelled,
    #[error("OpenRouter did not sign you in ({error}{description}); nothing was saved. Start again to retry")]
    Refused { error: String, description: String },
    #[error(
        "the browser came back with a sign-in this run did not start (its state does not match), so it was \
         refused and nothing was saved. Start again, and finish the sign-in in the page it opens"
    )]
    StateMismatch,
    #[error("the browser came back without a code; nothing was saved. Start again to retry")]
    NoCode,
    #[error(
        "that is not a code or an address from this sign-in: paste the address the browser ended on \
         (http://127.0.0.1:…/callback/…?code=…), or the code in it"
    )]
    NotACode,
    #[error("OpenRouter refused the code (HTTP {status}: {message}). A code works once and soon expires: start again")]
    Exchange { status: u16, message: String },
    #[error("cannot reach OpenRouter at {url}: {reason}. Check the network (and any HTTPS_PROXY), then start again")]
    Unreachable { url: String, reason: String },
    #[error("OpenRouter's answer holds no key ({0}); nothing was saved")]
    NoKey(String),
}

/// A sign-in in progress: the loopback listener and the PKCE verifier.
pub struct Login {
    listener: tokio::net::TcpListener,
    verifier: PkceCodeVerifier,
    state: CsrfToken,
    authorize_url: String,
    endpoints: Endpoints,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("callback_url", &self.callback_url()).finish_non_exhaustive()
    }
}

/// What the browser brought back to the callback.
#[derive(Debug, Default, Deserialize)]
struct Callback {
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Callback {
    fn from_query(url: &reqwest::Url) -> Callback {
        let mut callback = Callback::default();
        for (name, value) in url.query_pairs() {
            let field = match name.as_ref() {
                "code" => &mut callback.code,
                "error" => &mut callback.error,
                "error_description" => &mut callback.error_description,
                _ => continue,
            };
            *field = Some(value.into_owned());
        }
        callback
    }
}

/// What else can end the wait for the browser.
#[derive(Debug)]
pub enum Interrupt {
    /// The person gave up.
    Cancel,
    /// A code pasted in, read by [`PastedCode::check`].
    Code(String),
}

/// Reads a pasted code, or address, against a sign-in's state.
#[derive(Clone)]
pub struct PastedCode {
    state: String,
}

impl PastedCode {
    /// The code in `pasted`: the whole address the browser ended on (its
    /// state must be this sign-in's), or the bare code.
    pub fn check(&self, pasted: &str) -> Result<String, LoginError> {
        let pasted = pasted.trim();
        match reqwest::Url::parse(pasted) {
            Ok(url) => {
                let state = url.path().strip_prefix("/callback/").ok_or(LoginError::NotACode)?;
                if state != self.state {
                    return Err(LoginError::StateMismatch);
                }
                code_of(Callback::from_query(&url))
            }
            Err(_) if !pasted.is_empty() && pasted.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c)) => {
                Ok(pasted.to_string())
            }
            Err(_) => Err(LoginError::NotACode),
        }
    }
}

/// A return to the callback address.
enum Returned {
    /// With this run's state.
    Callback(Callback),
    /// With another state: not this run's sign-in.
    WrongState,
}

impl Login {
    /// Listens on `127.0.0.1:port` (0: any free port) and prepares the
    /// authorization URL.
    pub async fn start(endpoints: Endpoints, port: u16) -> Result<Login, LoginError> {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await.map_err(|error| {
                match error.kind() {
                    std::io::ErrorKind::AddrInUse => LoginError::PortInUse { port },
                    _ => LoginError::Listen(error),
                }
            })?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random();
        let mut login = Login { listener, verifier, state, authorize_url: String::new(), endpoints };
        let mut url = reqwest::Url::parse(&login.endpoints.auth_url).map_err(|error| LoginError::Unreachable {
            url: login.endpoints.auth_url.clone(),
            reason: error.to_string(),
        })?;
        url.query_pairs_mut()
            .append_pair("callback_url", &login.callback_url())
            .append_pair("code_challenge", challenge.as_str())
            .append_pair("code_challenge_method", challenge.method().as_str());
        login.authorize_url = url.into();
        Ok(login)
    }

    /// The page to open in the browser.
    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    /// Where the browser comes back: this machine only.
    pub fn callback_url(&self) -> String {
        let port = self.listener.local_addr().map_or(0, |addr| addr.port());
        format!("http://127.0.0.1:{port}/callback/{}", self.state.secret())
    }

    /// Reads pasted codes for this sign-in.
    pub fn pasted_code(&self) -> PastedCode {
        PastedCode { state: self.state.secret().clone() }
    }

    /// Waits for the browser to come back, or a pasted code, at most
    /// `timeout` or until cancelled, then exchanges the code for the key.
    /// `interrupts` that end (no more pastes can come) are no cancel.
    pub async fn finish(
        self,
        timeout: Duration,
        mut interrupts: mpsc::Receiver<Interrupt>,
    ) -> Result<SecretString, LoginError> {
        let (sender, mut returned) = mpsc::channel::<Returned>(1);
        let app = axum::Router::new()
            .route("/callback/{state}", axum::routing::get(callback))
            .with_state((self.state.secret().clone(), sender));
        let Login { listener, verifier, endpoints, .. } = self;
        let server = axum::serve(listener, app).into_future();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(server, deadline);
        let mut pasting = true;
        let code = loop {
            tokio::select! {
                result = &mut server => {
                    let error = result.err().unwrap_or_else(|| std::io::Error::other("stopped"));
                    return Err(LoginError::Listen(error));
                }
                came_back = returned.recv() => break match came_back {
                    Some(Returned::Callback(callback)) => code_of(callback)?,
                    Some(Returned::WrongState) => return Err(LoginError::StateMismatch),
                    None => return Err(LoginError::NoCode),
                },
                interrupt = interrupts.recv(), if pasting => match interrupt {
                    Some(Interrupt::Code(code)) => break code,
                    Some(Interrupt::Cancel) => return Err(LoginError::Cancelled),
                    None => pasting = false,
                },
                () = &mut deadline => {
                    return Err(LoginError::TimedOut { minutes: timeout.as_secs().div_ceil(60).max(1) });
                }
            }
        };
        exchange(&endpoints, &code, &verifier).await
    }
}

/// The code the browser brought, or why there is none.
fn code_of(callback: Callback) -> Result<String, LoginError> {
    if let Some(error) = callback.error {
        let description = callback.error_description.map(|d| format!(": {d}")).unwrap_or_default();
        return Err(LoginError::Refused { error, description });
    }
    callback.code.filter(|code| !code.is_empty()).ok_or(LoginError::NoCode)
}

type CallbackState = (String, mpsc::Sender<Returned>);

/// The browser's return: tells the waiting flow, and the person what now.
async fn callback(
    State((expected, returned)): State<CallbackState>,
    Path(state): Path<String>,
    Query(callback): Query<Callback>,
) -> impl IntoResponse {
    if state != expected {
        let _ = returned.try_send(Returned::WrongState);
        return page(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started here",
            "Nothing was saved. Start the sign-in again from Gatehouse.",
        );
    }
    let answer = match (&callback.error, &callback.code) {
        (Some(_), _) => page(
            StatusCode::OK,
            "OpenRouter did not sign you in",
            "Nothing was saved. Gatehouse says why; you can close this tab.",
        ),
        (None, Some(_)) => page(
            StatusCode::OK,
            "Signed in to OpenRouter",
            "Gatehouse is saving the key in your keychain; you can close this tab.",
        ),
        (None, None) => page(
            StatusCode::BAD_REQUEST,
            "No code came back",
            "Nothing was saved. Start the sign-in again from Gatehouse.",
        ),
    };
    let _ = returned.try_send(Returned::Callback(callback));
    answer
}

fn page(status: StatusCode, title: &str, text: &str) -> (StatusCode, Html<String>) {
    let body = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Gatehouse: {title}</title>\
         <body style=\"font-family: system-ui, sans-serif; margin: 3em auto; max-width: 36em\">\
         <h1 style=\"font-size: 1.4em\">{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(body))
}

/// What OpenRouter answers at `/api/v1/auth/keys`.
#[derive(Deserialize)]
struct KeyAnswer {
    key: Option<String>,
}

/// Exchanges the code and the verifier for the key.
async fn exchange(endpoints: &Endpoints, code: &str, verifier: &PkceCodeVerifier) -> Result<SecretString, LoginError> {
    let unreachable = |error: reqwest::Error| LoginError::Unreachable {
        url: endpoints.keys_url.clone(),
        reason: crate::error_chain::describe(&anyhow::Error::from(error)),
    };
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(unreachable)?;
    let body = serde_json::json!({
        "code": code,
        "code_verifier": verifier.secret(),
        "code_challenge_method": "S256",
    });
    let response = client
        .post(&endpoints.keys_url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let text = response.text().await.map_err(unreachable)?;
    if !status.is_success() {
        return Err(LoginError::Exchange { status: status.as_u16(), message: error_message(&text) });
    }
    match serde_json::from_str::<KeyAnswer>(&text) {
        Ok(KeyAnswer { key: Some(key) }) if !key.trim().is_empty() => Ok(SecretString::from(key)),
        Ok(_) => Err(LoginError::NoKey("no `key` field".to_string())),
        Err(error) => Err(LoginError::NoKey(format!("not JSON: {error}"))),
    }
}

/// OpenRouter's `{"error": {"message": …}}`, else the body's start.
fn error_message(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|value| value.pointer("/error/message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| text.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use secrecy::ExposeSecret;

    use super::*;

    const KEY: &str = "sk-or-v1-0123456789abcdef";

    /// A loopback stand-in for OpenRouter's key exchange: it answers the key
    /// only for `code` with the verifier whose S256 challenge the test set.
    struct MockKeys {
        url: String,
        /// The challenges of the sign-ins started (each with its own verifier).
        challenges: Arc<Mutex<Vec<String>>>,
        exchanges: Arc<Mutex<Vec<serde_json::Value>>>,
    }

    async fn mock_keys(code: &'static str) -> MockKeys {
        let challenges = Arc::new(Mutex::new(Vec::new()));
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().route(
            "/api/v1/auth/keys",
            axum::routing::post({
                let (challenges, exchanges) = (Arc::clone(&challenges), Arc::clone(&exchanges));
                move |axum::Json(body): axum::Json<serde_json::Value>| async move {
                    exchanges.lock().unwrap().push(body.clone());
                    let verifier =
                        PkceCodeVerifier::new(body["code_verifier"].as_str().unwrap_or_default().to_string());
                    let challenge = PkceCodeChallenge::from_code_verifier_sha256(&verifier);
                    let proven = challenges.lock().unwrap().iter().any(|c| c == challenge.as_str());
                    if body["code"] == code && proven && body["code_challenge_method"] == "S256" {
                        (StatusCode::OK, axum::Json(serde_json::json!({ "key": KEY, "user_id": "u1" })))
                    } else {
                        let error =
                            serde_json::json!({ "error": { "code": 403, "message": "Invalid code or code_verifier" } });
                        (StatusCode::FORBIDDEN, axum::Json(error))
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v1/auth/keys", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        MockKeys { url, challenges, exchanges }
    }

    async fn start(keys: &MockKeys) -> Login {
        let endpoints = Endpoints { auth_url: "http://127.0.0.1:9/auth".to_string(), keys_url: keys.url.clone() };
        let login = Login::start(endpoints, 0).await.unwrap();
        let url = reqwest::Url::parse(login.authorize_url()).unwrap();
        let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(query["callback_url"], login.callback_url());
        assert_eq!(query["code_challenge_method"], "S256");
        keys.challenges.lock().unwrap().push(query["code_challenge"].clone());
        login
    }

    /// No paste will come.
    fn no_paste() -> mpsc::Receiver<Interrupt> {
        mpsc::channel(1).1
    }

    /// The browser coming back, as OpenRouter sends it: `code` appended.
    async fn come_back(url: String) -> (u16, String) {
        let response = reqwest::get(url).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    #[tokio::test]
    async fn the_browser_brings_a_code_that_is_exchanged_with_the_verifier_for_the_key() {
        let keys = mock_keys("c0de").await;
        let login = start(&keys).await;
        assert!(login.callback_url().starts_with("http://127.0.0.1:"), "loopback only");
        let browser = tokio::spawn(come_back(format!("{}?code=c0de", login.callback_url())));
        let key = login.finish(TIMEOUT, no_paste()).await.unwrap();
        assert_eq!(key.expose_secret(), KEY);
        let (status, page) = browser.await.unwrap();
        assert_eq!(status, 200);
        assert!(page.contains("Signed in to OpenRouter") && !page.contains(KEY), "{page}");
        assert_eq!(keys.exchanges.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn each_way_the_sign_in_fails_has_its_own_message() {
        let keys = mock_keys("c0de").await;

        let login = start(&keys).await;
        let browser = tokio::spawn(come_back(format!(
            "{}?error=access_denied&error_description=User+declined",
            login.callback_url()
        )));
        let error = login.finish(TIMEOUT, no_paste()).await.unwrap_err();
        assert!(matches!(&error, LoginError::Refused { error, .. } if error == "access_denied"), "{error:?}");
        assert!(error.to_string().contains("access_denied: User declined"), "{error}");
        assert!(browser.await.unwrap().1.contains("did not sign you in"));

        let login = start(&keys).await;
        let port = reqwest::Url::parse(&login.callback_url()).unwrap().port().unwrap();
        let browser = tokio::spawn(come_back(format!("http://127.0.0.1:{port}/callback/forged?code=c0de")));
        let error = login.finish(TIMEOUT, no_paste()).await.unwrap_err();
        assert!(matches!(error, LoginError::StateMismatch), "{error:?}");
        assert_eq!(browser.await.unwrap().0, 400);

        let login = start(&keys).await;
        let error = login.finish(Duration::from_millis(50), no_paste()).await.unwrap_err();
        assert!(matches!(error, LoginError::TimedOut { minutes: 1 }), "{error:?}");
        assert!(error.to_string().contains("closed or not finished"), "{error}");

        let login = start(&keys).await;
        let (interrupt, interrupts) = mpsc::channel(1);
        interrupt.send(Interrupt::Cancel).await.unwrap();
        let error = login.finish(TIMEOUT, interrupts).await.unwrap_err();
        assert!(matches!(error, LoginError::Cancelled), "{error:?}");

        let login = start(&keys).await;
        let browser = tokio::spawn(come_back(format!("{}?code=stale", login.callback_url())));
        let error = login.finish(TIMEOUT, no_paste()).await.unwrap_err();
        assert!(
            matches!(&error, LoginError::Exchange { status: 403, message } if message == "Invalid code or code_verifier"),
            "{error:?}"
        );
        browser.await.unwrap();

        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = Login::start(Endpoints::at("https://openrouter.ai"), port).await.unwrap_err();
        assert!(matches!(error, LoginError::PortInUse { port: p } if p == port), "{error:?}");
        assert!(error.to_string().contains("is in use"), "{error}");
        // Nothing reached the key exchange but the one stale code.
        assert_eq!(keys.exchanges.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_pasted_code_or_address_finishes_the_sign_in_and_a_foreign_one_is_refused() {
        let keys = mock_keys("c0de").await;
        let paste = |login: &Login, text: &str| login.pasted_code().check(text);
        let login = start(&keys).await;
        let address = format!("{}?code=c0de", login.callback_url());
        assert_eq!(paste(&login, &format!("  {address}\n")).unwrap(), "c0de");
        assert_eq!(paste(&login, "c0de").unwrap(), "c0de");
        assert!(matches!(paste(&login, "not a code!"), Err(LoginError::NotACode)));
        assert!(matches!(paste(&login, "https://example.com/elsewhere?code=c0de"), Err(LoginError::NotACode)));
        let refused = format!("{}?error=access_denied", login.callback_url());
        assert!(matches!(paste(&login, &refused), Err(LoginError::Refused { .. })));
        let other = start(&keys).await;
        assert!(matches!(paste(&other, &address), Err(LoginError::StateMismatch)), "another run's address");

        // The flow takes a pasted code while it waits for the browser; a
        // closed paste channel (stdin at its end) is not a cancel.
        let code = paste(&login, &address).unwrap();
        let (interrupt, interrupts) = mpsc::channel(1);
        interrupt.send(Interrupt::Code(code)).await.unwrap();
        assert_eq!(login.finish(TIMEOUT, interrupts).await.unwrap().expose_secret(), KEY);
        let (interrupt, interrupts) = mpsc::channel(1);
        drop(interrupt);
        let browser = tokio::spawn(come_back(format!("{}?code=c0de", other.callback_url())));
        assert_eq!(other.finish(TIMEOUT, interrupts).await.unwrap().expose_secret(), KEY);
        browser.await.unwrap();
    }

    #[tokio::test]
    async fn the_verifier_never_shows() {
        let keys = mock_keys("c0de").await;
        let login = start(&keys).await;
        let verifier = login.verifier.secret().clone();
        assert!(!format!("{login:?}").contains(&verifier));
        assert!(!login.authorize_url().contains(&verifier), "only its challenge is sent to the browser");
    }
}
