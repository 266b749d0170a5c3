//! Nothing to compile: Cargo.toml only pins the `appimage` crate, whose
//! AppImage runtime scripts/package takes (see packaging/appimage/build).
