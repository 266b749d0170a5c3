//! `gatehouse engine litellm install|status|uninstall` with the real pip,
//! uv and LiteLLM wheels, offline from the wheels `scripts/install-test-deps`
//! downloaded: the pinned install, a tampered wheel refused, no Python (or
//! one without venv), a venv whose LiteLLM is not the pin, two installs at
//! once, and the shared venv other tests use.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use gatehouse_e2e::harness::Sandbox;
use gatehouse_e2e::litellm::{PINNED_VERSION, engine_offline, litellm_venv, shared_uv_cache, venv_in, wheels_dir};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(output: &Output, what: &str) -> String {
    assert!(output.status.success(), "{what} failed: {}\n{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

fn status_json(sandbox: &Sandbox) -> (Option<i32>, serde_json::Value) {
    let output = sandbox.run(&["engine", "litellm", "status", "--json"]);
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output.stdout)));
    (output.status.code(), value)
}

fn venv(sandbox: &Sandbox) -> PathBuf {
    venv_in(&sandbox.gatehouse_home())
}

/// Nothing of an install is there: neither the link nor any venv.
fn assert_no_venv(sandbox: &Sandbox) {
    let venv = venv(sandbox);
    assert!(std::fs::symlink_metadata(&venv).is_err(), "{} is left", venv.display());
    let venvs = venv.with_file_name("venvs");
    let left: Vec<_> = std::fs::read_dir(&venvs).into_iter().flatten().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "left in {}: {left:?}", venvs.display());
}

#[test]
fn installs_the_pin_offline_then_status_then_uninstall() {
    let sandbox = Sandbox::new();
    let (wheels, cache) = (wheels_dir(), shared_uv_cache());
    let (code, status) = status_json(&sandbox);
    assert_eq!((code, &status["installed"]), (Some(3), &serde_json::json!(false)), "{status}");

    let stdout = assert_ok(&engine_offline(&sandbox, &["install"], &wheels, &cache), "install");
    assert!(stdout.contains(&format!("Installed LiteLLM {PINNED_VERSION}")), "{stdout}");
    let litellm = venv(&sandbox).join("bin").join("litellm");
    assert!(litellm.is_file(), "{} is missing", litellm.display());

    let (code, status) = status_json(&sandbox);
    assert_eq!(code, Some(0), "{status}");
    assert_eq!(status["version"], PINNED_VERSION, "{status}");
    assert_eq!(status["pinned_version"], PINNED_VERSION, "{status}");
    assert_eq!(status["problem"], serde_json::Value::Null, "{status}");
    assert!(status["size_bytes"].as_u64().unwrap() > 100_000_000, "{status}");
    let command = PathBuf::from(status["litellm"].as_str().unwrap());
    assert_eq!(command, std::fs::canonicalize(&litellm).unwrap());

    let stdout = assert_ok(&engine_offline(&sandbox, &["install"], &wheels, &cache), "a second install");
    assert!(stdout.contains("already installed"), "{stdout}");

    std::fs::write(venv(&sandbox).with_file_name("config.yaml"), "model_list: []\n").unwrap();
    let stdout = assert_ok(&sandbox.run(&["engine", "litellm", "uninstall"]), "uninstall");
    assert!(stdout.contains(&format!("Removed the LiteLLM {PINNED_VERSION} venv")), "{stdout}");
    assert!(stdout.contains("config.yaml"), "what stays is named: {stdout}");
    assert_no_venv(&sandbox);
    assert!(venv(&sandbox).with_file_name("config.yaml").exists());
    let output = sandbox.run(&["engine", "litellm", "status"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(text(&output.stdout).contains("not installed"), "{}", text(&output.stdout));
}

/// A copy of `wheels` (links, but for LiteLLM's own wheel) in which
/// LiteLLM's wheel is still a valid zip under the same name, with other
/// bytes: a comment appended to its end-of-central-directory record.
fn wheels_with_tampered_litellm(wheels: &Path, into: &Path) {
    std::fs::create_dir_all(into).unwrap();
    let mut tampered = 0;
    for entry in std::fs::read_dir(wheels).unwrap().flatten() {
        let name = entry.file_name().into_string().unwrap();
        let target = into.join(&name);
        if !name.starts_with(&format!("litellm-{PINNED_VERSION}-")) {
            std::os::unix::fs::symlink(entry.path(), target).unwrap();
            continue;
        }
        let mut bytes = std::fs::read(entry.path()).unwrap();
        let end = bytes.len() - 22;
        assert_eq!(&bytes[end..end + 4], b"PK\x05\x06", "{name} ends with an end-of-central-directory record");
        assert_eq!(&bytes[end + 20..], [0, 0], "{name} has no comment yet");
        let comment = b"not what PyPI served";
        bytes[end + 20..].copy_from_slice(&(comment.len() as u16).to_le_bytes());
        bytes.extend_from_slice(comment);
        std::fs::write(target, bytes).unwrap();
        tampered += 1;
    }
    assert!(tampered > 0, "no LiteLLM {PINNED_VERSION} wheel in {}", wheels.display());
}

#[test]
fn a_tampered_litellm_wheel_is_refused_and_leaves_the_installed_venv_alone() {
    let sandbox = Sandbox::new();
    let tampered = sandbox.dir.path().join("tampered-wheels");
    wheels_with_tampered_litellm(&wheels_dir(), &tampered);
    // A cache of its own: uv must read the tampered file, not a good copy.
    let cache = sandbox.dir.path().join("uv-cache");

    let output = engine_offline(&sandbox, &["install"], &tampered, &cache);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("litellm=={PINNED_VERSION} does not match its pinned hash: refused")), "{stderr}");
    assert!(stderr.contains("A compromised LiteLLM release has been reported"), "{stderr}");
    assert_no_venv(&sandbox);

    // With a good install in place, a tampered reinstall changes nothing.
    assert_ok(&engine_offline(&sandbox, &["install"], &wheels_dir(), &shared_uv_cache()), "install");
    let before = std::fs::read_link(venv(&sandbox)).unwrap();
    let output = engine_offline(&sandbox, &["install", "--force"], &tampered, &cache);
    assert!(text(&output.stderr).contains("does not match its pinned hash"), "{}", text(&output.stderr));
    assert_eq!(std::fs::read_link(venv(&sandbox)).unwrap(), before);
    let venvs: Vec<_> = std::fs::read_dir(venv(&sandbox).with_file_name("venvs")).unwrap().flatten().collect();
    assert_eq!(venvs.len(), 1, "only the installed venv is left: {venvs:?}");
    let (code, status) = status_json(&sandbox);
    assert_eq!((code, &status["version"]), (Some(0), &serde_json::json!(PINNED_VERSION)), "{status}");
}

#[test]
fn without_a_python_that_makes_venvs_the_error_says_what_to_install() {
    let sandbox = Sandbox::new();
    let empty = sandbox.dir.path().join("empty-bin");
    std::fs::create_dir(&empty).unwrap();
    let output = sandbox.gatehouse(&["engine", "litellm", "install"]).env("PATH", &empty).output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("no Python 3.10 or newer found on PATH"), "{stderr}");
    assert!(stderr.contains("sudo apt install python3 python3-venv"), "{stderr}");
    assert_no_venv(&sandbox);

    // Debian's python3 without python3-venv: it runs, but makes no venv.
    let python = empty.join("python3");
    std::fs::write(
        &python,
        "#!/bin/sh\ncase \"$*\" in\n*'-m venv'*) mkdir -p \"$4/bin\"; echo 'The virtual environment was not created \
         successfully because ensurepip is not available.' >&2; exit 1;;\n*) echo 3.11.2; echo \"$0\";;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = sandbox.gatehouse(&["engine", "litellm", "install"]).env("PATH", &empty).output().unwrap();
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("Python 3.11.2 at"), "{stderr}");
    assert!(stderr.contains("cannot create a venv (its venv or ensurepip module is missing)"), "{stderr}");
    assert!(stderr.contains("sudo apt install python3 python3-venv"), "{stderr}");
    assert_no_venv(&sandbox);
}

#[test]
fn a_venv_whose_litellm_is_not_the_pin_is_reported_and_repaired() {
    let sandbox = Sandbox::new();
    let (wheels, cache) = (wheels_dir(), shared_uv_cache());
    assert_ok(&engine_offline(&sandbox, &["install"], &wheels, &cache), "install");

    // As if someone had run the venv's pip: LiteLLM's metadata now says
    // 1.107.0. Replaced by rename, never written in place: uv links the
    // venv's files from its shared cache.
    let site_packages = std::fs::read_dir(venv(&sandbox).join("lib")).unwrap().next().unwrap().unwrap().path();
    let metadata = site_packages.join("site-packages").join(format!("litellm-{PINNED_VERSION}.dist-info/METADATA"));
    let original = std::fs::read_to_string(&metadata).unwrap();
    let forged = original.replace(&format!("Version: {PINNED_VERSION}\n"), "Version: 1.107.0\n");
    assert_ne!(forged, original);
    let temp = metadata.with_extension("forged");
    std::fs::write(&temp, forged).unwrap();
    std::fs::rename(&temp, &metadata).unwrap();

    let output = sandbox.run(&["engine", "litellm", "status"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("LiteLLM: 1.107.0 installed (pinned version 1.106.2)"), "{stdout}");
    assert!(
        stdout.contains(
            "Problem: the venv holds LiteLLM 1.107.0, not the pinned 1.106.2; \
             run `gatehouse engine litellm install` to repair"
        ),
        "{stdout}"
    );
    let (_, status) = status_json(&sandbox);
    assert_eq!(status["litellm"], serde_json::Value::Null, "no command is offered: {status}");

    let stdout = assert_ok(&engine_offline(&sandbox, &["install"], &wheels, &cache), "the repair");
    assert!(stdout.contains("replacing LiteLLM 1.107.0"), "{stdout}");
    let (code, status) = status_json(&sandbox);
    assert_eq!((code, &status["version"]), (Some(0), &serde_json::json!(PINNED_VERSION)), "{status}");
}

#[test]
fn the_shared_venv_runs_litellm() {
    let venv = litellm_venv();
    // Twice: the second finds the first's install.
    assert_eq!(litellm_venv(), venv);
    let output = std::process::Command::new(venv.join("bin").join("litellm")).arg("--help").output().unwrap();
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", text(&output.stderr));
    assert!(stdout.contains("--config"), "{stdout}");
}

#[test]
fn two_installs_at_once_make_one_venv() {
    let sandbox = Sandbox::new();
    let (wheels, cache) = (wheels_dir(), shared_uv_cache());
    let outputs: Vec<Output> = std::thread::scope(|scope| {
        let installs: Vec<_> =
            (0..2).map(|_| scope.spawn(|| engine_offline(&sandbox, &["install"], &wheels, &cache))).collect();
        installs.into_iter().map(|install| install.join().unwrap()).collect()
    });
    let mut said: Vec<String> = outputs.iter().map(|output| assert_ok(output, "a concurrent install")).collect();
    said.sort();
    // One waited for the other's lock, then found its venv verified.
    assert!(said[0].starts_with("Installed LiteLLM"), "{said:?}");
    assert!(said[1].contains("already installed"), "{said:?}");
    let venvs: Vec<_> = std::fs::read_dir(venv(&sandbox).with_file_name("venvs")).unwrap().flatten().collect();
    assert_eq!(venvs.len(), 1, "{venvs:?}");
    assert_eq!(status_json(&sandbox).0, Some(0));
}
