//! Tauri's build step: generates the permission schemas and the ACL that
//! `generate_context!` embeds.
//!
//! tauri-build reads `tauri.conf.json` from this crate's directory, while the
//! config lives at the repository root (next to `ui/` and `icons/`, which it
//! names); `src-tauri/tauri.conf.json` is a symlink to it.

fn main() {
    tauri_build::build()
}
