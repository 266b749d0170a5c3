//! Installing LiteLLM from the desktop app (`DesktopService`, behind the
//! Settings page's "Install LiteLLM", "Repair" and "Uninstall"): the real
//! install, offline from the wheels `scripts/install-test-deps` downloaded,
//! runs on the service's own thread; the snapshot follows it, a second
//! click and an uninstall are refused while it runs, its end is a
//! notification, and "Uninstall" removes it.
//!
//! One test per file: it points this process's environment at the sandbox
//! and at the wheels before any thread starts.

use std::sync::{Arc, Mutex};

use gatehouse::desktop::engines::{EngineBusy, LiteLlmInstall};
use gatehouse::desktop::service::DesktopService;
use gatehouse::supervisor::SupervisorOptions;
use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::litellm::{PINNED_VERSION, offline_env, shared_uv_cache, venv_in, wheels_dir};
use gatehouse_e2e::sign_in;

#[test]
fn the_app_installs_litellm_on_its_own_thread_and_uninstalls_it() {
    let sandbox = Sandbox::new();
    // Found before HOME moves into the sandbox.
    let (wheels, cache) = (wheels_dir(), shared_uv_cache());
    std::fs::create_dir_all(sandbox.gatehouse_home()).unwrap();
    // SAFETY: no other thread runs yet.
    unsafe {
        sign_in::isolate_this_process(&sandbox);
        for (name, value) in offline_env(&wheels, &cache) {
            std::env::set_var(name, value);
        }
    }
    let service = DesktopService::new(SupervisorOptions::under(&sandbox.gatehouse_home())).expect("desktop service");
    let mut notices = service.notices();
    assert_eq!(service.snapshot().litellm.install, LiteLlmInstall::NotInstalled);

    // What the window is sent while it runs.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    service.watch(move |snapshot| {
        if let Some(progress) = &snapshot.litellm.installing {
            record.lock().unwrap().push(progress.clone());
        }
    });

    service.start_litellm_install(false).expect("the install starts");
    assert_eq!(service.start_litellm_install(false), Err(EngineBusy::Installing), "a second click is refused");
    let refused = service.uninstall_litellm().expect_err("no uninstall under an install");
    assert!(refused.to_string().contains("while it is being installed"), "{refused}");

    let notice = notices.blocking_recv().expect("the install's end is notified");
    assert_eq!(notice.title, format!("LiteLLM {PINNED_VERSION} installed"), "{}", notice.body);
    let view = service.snapshot().litellm;
    assert_eq!((view.installing, view.last_failure), (None, None));
    let LiteLlmInstall::Installed { version, size_bytes, venv, python_version } = view.install else {
        panic!("{:?}", view.install)
    };
    assert_eq!(version, PINNED_VERSION);
    assert!(size_bytes.unwrap() > 100_000_000, "{size_bytes:?}");
    assert_eq!(venv, venv_in(&sandbox.gatehouse_home()).display().to_string());
    assert!(python_version.is_some());
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the window saw the install run");
    assert!(seen.windows(2).all(|pair| pair[0].fraction <= pair[1].fraction), "progress only goes forward: {seen:?}");

    let removed = service.uninstall_litellm().expect("uninstall");
    assert!(removed.message.starts_with(&format!("Removed LiteLLM {PINNED_VERSION} (")), "{}", removed.message);
    assert_eq!(service.snapshot().litellm.install, LiteLlmInstall::NotInstalled);
    assert!(std::fs::symlink_metadata(venv_in(&sandbox.gatehouse_home())).is_err(), "the venv is gone");
}
