//! `gatehouse auth list|add|remove|test|login`: the secrets Gatehouse holds
//! for upstreams, the browser sign-in that brings one (OpenRouter), and the
//! Claude subscription login (which stays Claude Code's).

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Subcommand;

use crate::auth::openrouter_login::{self, Endpoints, Interrupt, Login};
use crate::claude_code::cli_binary;
use crate::config::{Config, UpstreamKindConfig};
use crate::paths::Paths;
use crate::secrets::provider_check::{self, CheckOutcome};
use crate::secrets::{
    ExposeSecret, Provider, SecretError, SecretName, SecretRef, SecretStore, SecretString, StoreKind,
};

/// `auth test`: the provider refused the secret.
pub(crate) const EXIT_SECRET_REJECTED: u8 = 4;
/// `auth test`: the provider did not answer.
pub(crate) const EXIT_PROVIDER_UNREACHABLE: u8 = 5;
/// Any `auth` command: no keychain could be reached, or it is locked.
pub(crate) const EXIT_KEYCHAIN_UNREACHABLE: u8 = 6;

/// Longest secret `auth add` reads from stdin; API keys are a few hundred bytes.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

#[derive(Subcommand)]
pub enum AuthCommand {
    /// List the stored secrets (names, providers and where they are; never
    /// values) and the Claude subscription login.
    #[command(visible_alias = "status")]
    List,
    /// Store a secret under NAME. It is read from a hidden prompt on a
    /// terminal, else from stdin; never from an argument.
    Add {
        /// Letters, digits, `-` and `_`, e.g. `openrouter` or `team`.
        name: String,
        /// Whom the secret is for (default: the provider NAME is named after).
        #[arg(long, value_enum)]
        provider: Option<Provider>,
    },
    /// Delete the secret NAME.
    Remove { name: String },
    /// Sign in to a provider in the browser and store the key it gives
    /// (OpenRouter: OAuth with PKCE). Where the browser runs on another
    /// machine, paste the address it ends on.
    Login {
        #[arg(value_enum)]
        provider: LoginProvider,
        /// The name to store the key under (default: the provider's).
        #[arg(long)]
        name: Option<String>,
        /// Wait for the browser on this port of 127.0.0.1 (default: any free
        /// one), e.g. one forwarded from another machine over SSH.
        #[arg(long)]
        port: Option<u16>,
        /// Print the address to open instead of opening the browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Ask the provider whether it accepts a secret. Exits 4 when it
    /// refuses, 5 when it does not answer.
    Test {
        /// A stored secret's NAME, or a reference: `keychain:NAME`,
        /// `env:VARIABLE`, `file:NAME`.
        secret: String,
        /// Whom to ask (default: the provider stored with the secret).
        #[arg(long, value_enum)]
        provider: Option<Provider>,
    },
}

pub fn run(paths: &Paths, config: &Config, command: AuthCommand) -> anyhow::Result<ExitCode> {
    match dispatch(paths, config, command) {
        Err(error) if error.downcast_ref::<SecretError>().is_some_and(SecretError::is_unreachable) => {
            eprintln!("error: {}", crate::error_chain::describe(&error));
            Ok(ExitCode::from(EXIT_KEYCHAIN_UNREACHABLE))
        }
        other => other,
    }
}

/// Providers with a browser sign-in.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LoginProvider {
    #[value(name = "openrouter")]
    OpenRouter,
}

fn dispatch(paths: &Paths, config: &Config, command: AuthCommand) -> anyhow::Result<ExitCode> {
    let kind = config.secrets.store;
    match command {
        AuthCommand::List => {
            outln!("Claude subscription: {}", claude_login());
            let store = SecretStore::open(paths, kind)?;
            let secrets = store.list()?;
            if secrets.is_empty() {
                outln!("No secrets in {}. Store one with `gatehouse auth add NAME`.", store.describe());
            } else {
                outln!("Secrets in {}:", store.describe());
                let width = secrets.iter().map(|s| s.name.as_str().len()).max().unwrap_or(0);
                for secret in secrets {
                    let provider = secret.provider.map_or("-", Provider::as_str);
                    let reference = SecretRef::in_store(secret.name.clone(), kind);
                    outln!("  {:<width$}  {provider:<10}  {reference}", secret.name.as_str());
                }
            }
        }
        AuthCommand::Add { name, provider } => {
            let name = SecretName::parse(&name)?;
            let provider = provider.or_else(|| Provider::implied_by(&name));
            // Open the store first: no point asking for a secret that cannot be kept.
            let store = SecretStore::open(paths, kind)?;
            let reference = SecretRef::in_store(name.clone(), kind).to_string();
            let bedrock = config
                .upstreams
                .iter()
                .find(|upstream| upstream.kind == UpstreamKindConfig::Bedrock && upstream.secret.trim() == reference);
            let secret = match bedrock {
                Some(upstream) => read_aws_credentials(&name, &upstream.name)?,
                None => read_secret(&name)?,
            };
            store.put(&name, provider, &secret)?;
            let reference = SecretRef::in_store(name.clone(), kind);
            match provider {
                Some(provider) => outln!("Stored {name} ({provider}) in {}.", store.describe()),
                None => outln!(
                    "Stored {name} in {}. `gatehouse auth test {name}` needs `--provider`: no provider is named.",
                    store.describe()
                ),
            }
            outln!("The config refers to it as \"{reference}\".");
        }
        AuthCommand::Remove { name } => {
            let name = SecretName::parse(&name)?;
            let store = SecretStore::open(paths, kind)?;
            if !store.remove(&name)? {
                anyhow::bail!(
                    "no secret named \"{name}\" in {}; `gatehouse auth list` shows the names",
                    store.describe()
                );
            }
            outln!("Removed {name} from {}.", store.describe());
        }
        AuthCommand::Test { secret, provider } => return test(paths, config, &secret, provider),
        AuthCommand::Login { provider: LoginProvider::OpenRouter, name, port, no_browser } => {
            let name = SecretName::parse(name.as_deref().unwrap_or(Provider::OpenRouter.as_str()))?;
            // Open the store first: no point signing in for a key that cannot be kept.
            let store = SecretStore::open(paths, kind)?;
            let key = sign_in_to_openrouter(port.unwrap_or(0), !no_browser)?;
            store.put(&name, Some(Provider::OpenRouter), &key)?;
            outln!("Signed in to OpenRouter; its key is stored as {name} in {}.", store.describe());
            outln!("The config refers to it as \"{}\".", SecretRef::in_store(name, kind));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn test(paths: &Paths, config: &Config, text: &str, provider: Option<Provider>) -> anyhow::Result<ExitCode> {
    let kind = config.secrets.store;
    let reference = if text.contains(':') {
        SecretRef::parse(text, kind)?
    } else {
        SecretRef::in_store(SecretName::parse(text)?, kind)
    };
    let resolved = reference.resolve(paths)?;
    let Some(provider) = provider.or(resolved.provider) else {
        anyhow::bail!("no provider is stored with {reference}: say whom to ask with `--provider anthropic|openrouter`");
    };
    let base_url = provider_check::base_url(provider, &config.anthropic.base_url);
    match provider_check::check(provider, &base_url, &resolved.secret) {
        CheckOutcome::Accepted { url, detail } => {
            outln!("OK: {provider} accepts {reference} ({detail}; GET {url}).");
            Ok(ExitCode::SUCCESS)
        }
        CheckOutcome::Rejected { url, status, message } => {
            eprintln!("error: {provider} refused {reference}: HTTP {status}: {message} (GET {url})");
            Ok(ExitCode::from(EXIT_SECRET_REJECTED))
        }
        CheckOutcome::Unreachable { url, reason } => {
            eprintln!(
                "error: {provider} is unreachable at {url}: {reason}. Check the network (and HTTPS_PROXY), then try \
                 again"
            );
            Ok(ExitCode::from(EXIT_PROVIDER_UNREACHABLE))
        }
        CheckOutcome::Unusable { reason } => anyhow::bail!("{reference} cannot be sent to {provider}: {reason}"),
    }
}

/// OpenRouter's browser sign-in: prints the address (and opens it unless
/// told not to), then waits for the browser, a pasted address or code on
/// stdin, Ctrl-C, or the timeout.
fn sign_in_to_openrouter(port: u16, open_browser: bool) -> anyhow::Result<SecretString> {
    let base = provider_check::base_url(Provider::OpenRouter, "");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let login = Login::start(Endpoints::at(&base), port).await?;
        eprintln!("Sign in to OpenRouter in your browser:\n\n  {}\n", login.authorize_url());
        if open_browser && let Err(error) = open::that_detached(login.authorize_url()) {
            eprintln!("(No browser could be opened here: {error}. Open the address above yourself.)");
        }
        eprintln!(
            "Waiting for the browser (up to {} minutes; Ctrl-C cancels). If it runs on another machine, paste the \
             address it ends on here and press Enter.",
            openrouter_login::TIMEOUT.as_secs() / 60
        );
        let (interrupt, interrupts) = tokio::sync::mpsc::channel(1);
        let pasted = login.pasted_code();
        let from_stdin = interrupt.clone();
        // Blocking reads on a thread of their own; at stdin's end, pastes simply stop.
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { return };
                if line.trim().is_empty() {
                    continue;
                }
                match pasted.check(&line) {
                    Ok(code) => {
                        let _ = from_stdin.blocking_send(Interrupt::Code(code));
                        return;
                    }
                    Err(error) => eprintln!("error: {error}"),
                }
            }
        });
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = interrupt.send(Interrupt::Cancel).await;
            }
        });
        Ok(login.finish(openrouter_login::TIMEOUT, interrupts).await?)
    })
}

/// The Claude subscription as `claude auth status` reports it. Gatehouse
/// never reads Claude Code's credentials itself.
fn claude_login() -> String {
    if cli_binary::find().is_none() {
        return format!("Claude Code not found on PATH ({})", cli_binary::INSTALL_HINT);
    }
    match cli_binary::auth_status() {
        Ok(status) => format!("{} (from `claude auth status`)", status.describe()),
        Err(error) => format!("unknown: {error}"),
    }
}

/// Reads a secret from a hidden prompt on a terminal, else from stdin, and
/// checks it looks like a key.
/// The AWS credentials of the `bedrock` upstream `upstream`, whose secret
/// is `name`: on a terminal, asked for one by one (hidden); piped in, as
/// `ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`. Checked before they are
/// stored.
fn read_aws_credentials(name: &SecretName, upstream: &str) -> anyhow::Result<SecretString> {
    let secret = if std::io::stdin().is_terminal() {
        let ask = |prompt: &str| {
            rpassword::prompt_password(prompt)
                .map(|answer| answer.trim().to_string())
                .map_err(|e| anyhow::anyhow!("cannot read from the terminal: {e}"))
        };
        let id = ask(&format!("AWS access key ID for {upstream} (input hidden): "))?;
        let key = ask("AWS secret access key (input hidden): ")?;
        let token = ask("AWS session token, for temporary credentials (input hidden; Enter for none): ")?;
        let parts = if token.is_empty() { vec![id, key] } else { vec![id, key, token] };
        SecretString::from(parts.join(":"))
    } else {
        read_secret(name)?
    };
    crate::engines::litellm::aws::AwsCredentials::parse(upstream, &secret)?;
    Ok(secret)
}

fn read_secret(name: &SecretName) -> anyhow::Result<SecretString> {
    let mut text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Secret for {name} (input hidden): "))
            .map_err(|e| anyhow::anyhow!("cannot read the secret from the terminal: {e}"))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_SECRET_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| anyhow::anyhow!("cannot read the secret from stdin (it must be UTF-8 text): {e}"))?;
        if text.len() as u64 > MAX_SECRET_BYTES {
            anyhow::bail!("the secret on stdin is longer than {MAX_SECRET_BYTES} bytes; pipe in only the key");
        }
        text
    };
    // `echo KEY |` adds a newline, and a pasted key often brings spaces; a
    // key never starts or ends with either.
    let trimmed = text.trim();
    if trimmed.len() != text.len() {
        text = trimmed.to_string();
    }
    let secret = SecretString::from(text);
    if secret.expose_secret().is_empty() {
        anyhow::bail!(
            "the secret is empty; paste the key at the prompt, or pipe it in: `gatehouse auth add {name} < key.txt`"
        );
    }
    if secret.expose_secret().chars().any(char::is_control) {
        anyhow::bail!("the secret holds a line break or another control character; give only the key itself");
    }
    Ok(secret)
}

/// `gatehouse config show`'s note on where secrets are.
pub(crate) fn store_note(paths: &Paths, kind: StoreKind) -> String {
    match kind {
        StoreKind::Keychain => "# secrets ([secrets] store = \"keychain\") are in the OS keychain".to_string(),
        StoreKind::File => format!(
            "# secrets ([secrets] store = \"file\") are in a PLAIN FILE, not encrypted: {}",
            paths.data_dir.join(crate::secrets::FILE_STORE_NAME).display()
        ),
    }
}
