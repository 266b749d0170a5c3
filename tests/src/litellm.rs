//! The real LiteLLM for tests, installed by the real
//! `gatehouse engine litellm install`, offline.
//!
//! `scripts/install-test-deps` downloads every wheel of Gatehouse's hashed
//! locks into `$GATEHOUSE_TEST_DEPS/litellm-wheels`; [`offline_env`] points
//! pip and uv there and at nothing else. Tests fail, never skip, when the
//! wheels are missing.
//!
//! A test that needs a working LiteLLM and does not test the install itself
//! takes [`litellm_venv`]: one install per lock, shared by every test of
//! every run, under the target directory.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

use crate::claude_cli::deps_dir;
use crate::harness::{Sandbox, gatehouse_bin};

/// The LiteLLM version Gatehouse pins.
pub const PINNED_VERSION: &str = "1.106.2";

/// The lock `gatehouse` embeds, to key the shared venv by.
const LOCK: &str = include_str!("../../crates/gatehouse/src/engines/litellm/requirements.lock");

/// The wheels `scripts/install-test-deps` downloaded.
pub fn wheels_dir() -> PathBuf {
    let dir = deps_dir().join("litellm-wheels");
    assert!(
        dir.join(".downloaded").exists(),
        "LiteLLM's wheels are not downloaded into {}; run `scripts/install-test-deps`",
        dir.display()
    );
    dir
}

/// uv's cache shared by the tests' installs: after the first, an install
/// links files from it and takes seconds.
pub fn shared_uv_cache() -> PathBuf {
    deps_dir().join("uv-cache")
}

/// The environment of an install from `wheels` only: no index, no network,
/// uv's cache in `uv_cache`.
pub fn offline_env(wheels: &Path, uv_cache: &Path) -> Vec<(&'static str, OsString)> {
    vec![
        ("UV_OFFLINE", "1".into()),
        ("UV_NO_INDEX", "1".into()),
        ("UV_FIND_LINKS", wheels.into()),
        ("UV_CACHE_DIR", uv_cache.into()),
        ("PIP_NO_INDEX", "1".into()),
        ("PIP_FIND_LINKS", wheels.into()),
    ]
}

/// `gatehouse engine litellm ARGS` in the sandbox, installing from `wheels`
/// with uv's cache in `uv_cache`.
pub fn engine_offline(sandbox: &Sandbox, args: &[&str], wheels: &Path, uv_cache: &Path) -> Output {
    let mut command = sandbox.gatehouse(&["engine", "litellm"]);
    command.args(args).envs(offline_env(wheels, uv_cache)).stdin(Stdio::null());
    command.output().expect("running gatehouse engine litellm")
}

/// The engine's venv (the `venv` symlink) in a Gatehouse home.
pub fn venv_in(gatehouse_home: &Path) -> PathBuf {
    gatehouse_home.join("data").join("engines").join("litellm").join("venv")
}

/// Gives `sandbox`'s Gatehouse the shared install of the pinned LiteLLM
/// ([`litellm_venv`]), linked where its engine looks for it; returns the
/// venv's own directory.
pub fn install_shared_venv(sandbox: &Sandbox) -> PathBuf {
    let venv = std::fs::canonicalize(litellm_venv()).expect("the shared venv");
    let link = venv_in(&sandbox.gatehouse_home());
    std::fs::create_dir_all(link.parent().expect("the venv's parent")).expect("creating the engine's directory");
    std::os::unix::fs::symlink(&venv, link).expect("linking the shared venv");
    venv
}

/// A venv holding the pinned LiteLLM, installed once per lock by
/// `gatehouse engine litellm install` into a home under the target
/// directory. Tests may run it; they must not change it.
///
/// Parallel callers need no lock of their own: `install` takes Gatehouse's
/// own install lock, and finds the first caller's venv already verified.
pub fn litellm_venv() -> PathBuf {
    let key = &hex(&Sha256::digest(LOCK.as_bytes()))[..16];
    let bin = gatehouse_bin();
    let target = bin.parent().and_then(Path::parent).expect("the target directory");
    let home = target.join("tmp").join(format!("litellm-{key}"));
    let output = Command::new(&bin)
        .args(["engine", "litellm", "install"])
        .env("GATEHOUSE_HOME", &home)
        .envs(offline_env(&wheels_dir(), &shared_uv_cache()))
        .stdin(Stdio::null())
        .output()
        .expect("running gatehouse engine litellm install");
    assert!(
        output.status.success(),
        "installing the shared LiteLLM into {} failed: {}",
        home.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    venv_in(&home)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
