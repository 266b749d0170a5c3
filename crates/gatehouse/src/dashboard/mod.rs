//! The dashboard's data: what the desktop window's pages show, read from the
//! ledger, without a GUI.
//!
//! Each page has its module: [`overview`], [`spend`], [`windows`],
//! [`requests`], [`logs`] and [`settings`]. Their types cross the desktop
//! app's IPC as JSON; ts-rs writes their TypeScript twins to
//! `ui/src/bindings/` when `cargo test` runs, so the web UI never copies a
//! type by hand. Times are Unix milliseconds, money is US dollars at API list
//! prices, and `null` money means "no price known", never $0.
//!
//! Days follow the operating system's time zone ([`days`]): day boundaries
//! are computed here, not by SQLite's `localtime`.

pub mod logs;
pub mod overview;
pub mod requests;
pub mod settings;
pub mod spend;
pub mod state;
pub mod windows;
