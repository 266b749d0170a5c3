//! The desktop app's behaviour, without a GUI.
//!
//! The Tauri shell only wires this module to the tray, the window and the
//! operating system. Here live the [`snapshot`] of what the app shows, the
//! tray [`menu`] drawn from it, the [`notice`]s worth a notification, and
//! the [`service`] whose methods the tray items and the window's buttons
//! call, the dashboard's [`pages`] it reads, the [`first_run`] guide, and
//! the [`window_link`] between the tray app and its window process, and
//! the [`openrouter`] sign-in, the LiteLLM [`engines`] install, and when
//! budgets and windows deserve a notification, the [`start_at_login`]
//! entry, and the heap [`memory`] given back when the window closes.
//! All of it is tested without a display.

pub(crate) mod budget_alerts;
pub mod engines;
pub mod first_run;
pub mod memory;
pub mod menu;
pub mod notice;
pub mod openrouter;
pub mod pages;
pub mod service;
pub mod snapshot;
pub mod start_at_login;
pub(crate) mod window_alerts;
pub mod window_link;
