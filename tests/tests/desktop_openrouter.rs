//! Signing in to OpenRouter from the desktop app (`DesktopService`, behind
//! the tray's "Sign in to OpenRouter…" and the window's Settings page):
//! real headless Chromium follows the sign-in through a loopback mock of
//! OpenRouter, the key lands in a real Secret Service, and the snapshot and
//! a notification say how it ended; a pasted address, a cancel and a
//! refusal too.
//!
//! One test per file: it points this process's environment at the sandbox
//! before any thread starts.

use gatehouse::desktop::openrouter::OpenRouterSignIn;
use gatehouse::desktop::service::DesktopService;
use gatehouse::supervisor::SupervisorOptions;
use gatehouse_e2e::browser::open_loopback_page;
use gatehouse_e2e::harness::{Sandbox, files_containing, wait_for};
use gatehouse_e2e::mock_openrouter::{Choice, KEY, MockOpenRouter, consent_redirect};
use gatehouse_e2e::secret_service::{Keyring, SecretService};
use gatehouse_e2e::sign_in;

#[test]
fn the_app_signs_in_to_openrouter_and_keeps_the_key_in_the_keychain() {
    let sandbox = Sandbox::new();
    let keyring = SecretService::start(&sandbox, Keyring::Unlocked);
    let mock = MockOpenRouter::start(Choice::Approve);
    std::fs::create_dir_all(sandbox.gatehouse_home()).unwrap();
    // SAFETY: no other thread runs yet (the mock's and the keyring's are processes and a
    // thread that never touches the environment).
    unsafe {
        sign_in::isolate_this_process(&sandbox);
        keyring.apply_to_this_process();
        std::env::set_var("GATEHOUSE_OPENROUTER_BASE_URL", &mock.base);
    }
    let service = DesktopService::new(SupervisorOptions::under(&sandbox.gatehouse_home())).expect("desktop service");
    let mut notices = service.notices();
    let state = || service.snapshot().openrouter;
    assert_eq!(state(), OpenRouterSignIn::Idle);

    // The tray's item: the browser follows the page to the app's listener.
    let url = service.start_openrouter_sign_in().expect("the sign-in starts");
    assert_eq!(state(), OpenRouterSignIn::Waiting { url: url.clone() });
    assert_eq!(service.openrouter_sign_in_url().as_deref(), Some(url.as_str()));
    let page = open_loopback_page(&sandbox, &url);
    assert!(page.contains("Signed in to OpenRouter"), "{page}");
    let signed_in = wait_for("the sign-in's end", 30, || match state() {
        OpenRouterSignIn::Waiting { .. } => None,
        other => Some(other),
    });
    let OpenRouterSignIn::SignedIn { name, reference, store } = signed_in else { panic!("{signed_in:?}") };
    assert_eq!((name.as_str(), reference.as_str()), ("openrouter", "keychain:openrouter"));
    assert!(store.contains("keychain"), "{store}");
    let notice = notices.try_recv().expect("a notification");
    assert_eq!(notice.title, "Signed in to OpenRouter");
    assert!(notice.body.contains("\"keychain:openrouter\"") && !notice.body.contains(KEY), "{}", notice.body);
    assert_eq!(keyring.lookup("openrouter").as_deref(), Some(KEY));

    // Headless: a pasted address from another sign-in is refused and this one waits on;
    // the address its own browser ended on finishes it.
    keyring_remove(&keyring);
    let first = url;
    let url = service.start_openrouter_sign_in().unwrap();
    let foreign = format!(
        "{}?code=x",
        reqwest::Url::parse(&first).unwrap().query_pairs().find(|(k, _)| k == "callback_url").unwrap().1
    );
    let error = service.paste_openrouter_address(&foreign).unwrap_err();
    assert!(error.to_string().contains("its state does not match"), "{error}");
    assert!(matches!(state(), OpenRouterSignIn::Waiting { .. }));
    service.paste_openrouter_address(&consent_redirect(&url)).expect("the pasted address");
    wait_for("the pasted sign-in's end", 30, || matches!(state(), OpenRouterSignIn::SignedIn { .. }).then_some(()));
    assert_eq!(keyring.lookup("openrouter").as_deref(), Some(KEY));
    assert_eq!(notices.try_recv().unwrap().title, "Signed in to OpenRouter");

    // Cancelled: nothing stored, nothing notified.
    keyring_remove(&keyring);
    service.start_openrouter_sign_in().unwrap();
    service.cancel_openrouter_sign_in();
    assert_eq!(state(), OpenRouterSignIn::Idle);
    let error = service.paste_openrouter_address("c0de").unwrap_err();
    assert!(error.to_string().contains("no OpenRouter sign-in is running"), "{error}");

    // Refused on OpenRouter's page: the app says so, and a notification does.
    mock.set_choice(Choice::Deny);
    let url = service.start_openrouter_sign_in().unwrap();
    let page = open_loopback_page(&sandbox, &url);
    assert!(page.contains("did not sign you in"), "{page}");
    let failed = wait_for("the refusal", 30, || match state() {
        OpenRouterSignIn::Failed { message } => Some(message),
        _ => None,
    });
    assert!(failed.contains("access_denied: The user declined the request"), "{failed}");
    let notice = notices.try_recv().expect("the failure's notification");
    assert_eq!(notice.title, "OpenRouter sign-in failed");
    assert!(notices.try_recv().is_err(), "the cancel was not notified");
    assert_eq!(keyring.lookup("openrouter"), None);
    assert!(files_containing(sandbox.dir.path(), KEY).is_empty(), "the key is in a file");
}

/// Takes the key out again, as `gatehouse auth remove openrouter` would.
fn keyring_remove(keyring: &SecretService) {
    let mut command = std::process::Command::new("secret-tool");
    command.args(["clear", "service", "gatehouse", "username", "openrouter"]);
    assert!(keyring.apply(&mut command).status().unwrap().success());
    assert_eq!(keyring.lookup("openrouter"), None);
}
