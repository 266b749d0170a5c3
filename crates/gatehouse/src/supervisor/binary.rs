//! Finding the `gatehouse` executable the desktop app runs as its gateway.
//!
//! A configured path wins, because a user who sets one means it. Otherwise
//! the copy shipped next to the app's own executable (the app bundle or
//! `cargo build` output), so the app and its gateway come from one build;
//! else the first `gatehouse` on `PATH`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The executable's file name.
const NAME: &str = "gatehouse";

/// Finds the binary, or says where it looked.
pub fn locate(configured: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = configured {
        return if is_executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err(format!(
                "`[supervisor] gatehouse_bin` is {}, which is not an executable file; fix the path in config.toml \
                 or remove it to use the gatehouse next to the app or on PATH",
                path.display()
            ))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| Some(exe.parent()?.join(NAME)).filter(|candidate| is_executable(candidate)));
    if let Some(path) = beside {
        return Ok(path);
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(NAME)).find(|c| is_executable(c)));
    on_path.ok_or_else(|| {
        "cannot find the `gatehouse` executable next to the app or on PATH; install it (cargo install --path \
         crates/gatehouse) or set `[supervisor] gatehouse_bin` in config.toml"
            .to_string()
    })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_path_must_be_an_executable_file() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("gw");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let error = locate(Some(&script)).unwrap_err();
        assert!(error.contains("not an executable file"), "{error}");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate(Some(&script)).unwrap(), script);
        assert!(locate(Some(dir.path())).is_err());
    }
}
