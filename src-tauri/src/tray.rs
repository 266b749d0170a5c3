//! The tray icon and its menu, drawn from the core's [`TrayModel`].
//!
//! Items are updated in place when only their labels, checks or enabled
//! states change, so a menu the user has open is not torn down every time a
//! request lands; the menu is rebuilt only when rows appear or disappear.

use std::sync::Mutex;

use gatehouse::desktop::menu::{Action, Entry, IconState, SubmenuItem, TrayModel};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Runtime};

/// The tray as shown, kept in the app's state.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    shown: Mutex<Shown<R>>,
}

struct Shown<R: Runtime> {
    model: TrayModel,
    items: Items<R>,
}

/// One per entry of the model; `None` for separators.
type Items<R> = Vec<Option<Item<R>>>;

enum Item<R: Runtime> {
    Text(MenuItem<R>),
    Check(CheckMenuItem<R>),
    Sub(Submenu<R>),
}

// By hand: a derive would ask `R: Clone`, which runtimes are not.
impl<R: Runtime> Clone for Item<R> {
    fn clone(&self) -> Self {
        match self {
            Item::Text(item) => Item::Text(item.clone()),
            Item::Check(item) => Item::Check(item.clone()),
            Item::Sub(item) => Item::Sub(item.clone()),
        }
    }
}

fn icon_image(state: IconState) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match state {
        IconState::Running => include_bytes!("../../icons/tray-running.png"),
        IconState::Stopped => include_bytes!("../../icons/tray-stopped.png"),
        IconState::Error => include_bytes!("../../icons/tray-error.png"),
        IconState::Degraded => include_bytes!("../../icons/tray-degraded.png"),
    };
    Image::from_bytes(bytes)
}

impl<R: Runtime> Tray<R> {
    /// Builds the tray icon; clicks go to [`crate::commands::on_tray_action`].
    pub fn create(app: &AppHandle<R>, model: TrayModel) -> tauri::Result<Tray<R>> {
        let (menu, items) = build_menu(app, &model)?;
        let icon = TrayIconBuilder::with_id("gatehouse")
            .icon(icon_image(model.icon)?)
            .tooltip(&model.tooltip)
            .menu(&menu)
            .show_menu_on_left_click(true)
            .on_menu_event(|app, event| {
                // A submenu item acts on its target: "test_upstream:<name>".
                let id = event.id().as_ref();
                if let Some((Action::TestUpstream, upstream)) = SubmenuItem::parse_id(id) {
                    crate::commands::test_upstream_from_tray(app, upstream.to_string());
                    return;
                }
                // Several window lines share an action: their ids are "open_windows:<row>".
                let Some(action) = Action::from_id(id.split_once(':').map_or(id, |(action, _)| action)) else {
                    return;
                };
                let checked = tauri::Manager::try_state::<Tray<R>>(app).is_some_and(|tray| tray.checked(action));
                crate::commands::on_tray_action(app, action, checked);
            })
            .build(app)?;
        Ok(Tray { icon, shown: Mutex::new(Shown { model, items }) })
    }

    /// Whether a check item shows a check now.
    fn checked(&self, action: Action) -> bool {
        let shown = self.shown.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shown
            .model
            .entries
            .iter()
            .any(|entry| matches!(entry, Entry::Check { action: a, checked: true, .. } if *a == action))
    }

    /// Shows a new model. Called from one thread at a time (the watcher).
    pub fn update(&self, app: &AppHandle<R>, model: TrayModel) -> tauri::Result<()> {
        // The lock is not held while items change: each change waits for the
        // main thread, which may itself be waiting for the lock in a click.
        let (shown_model, items) = {
            let shown = self.shown.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if shown.model == model {
                return Ok(());
            }
            (shown.model.clone(), shown.items.clone())
        };
        if shown_model.icon != model.icon {
            self.icon.set_icon(Some(icon_image(model.icon)?))?;
        }
        if shown_model.tooltip != model.tooltip {
            self.icon.set_tooltip(Some(&model.tooltip))?;
        }
        let items = if same_rows(&shown_model, &model) {
            for (entry, item) in model.entries.iter().zip(&items) {
                match (entry, item) {
                    (Entry::Info { label }, Some(Item::Text(item))) => item.set_text(label)?,
                    (Entry::Button { label, enabled, .. }, Some(Item::Text(item))) => {
                        item.set_text(label)?;
                        item.set_enabled(*enabled)?;
                    }
                    (Entry::Check { label, checked, enabled, .. }, Some(Item::Check(item))) => {
                        item.set_text(label)?;
                        item.set_checked(*checked)?;
                        item.set_enabled(*enabled)?;
                    }
                    // Its items are the same (see `same_rows`).
                    (Entry::Submenu { label, .. }, Some(Item::Sub(item))) => item.set_text(label)?,
                    _ => {}
                }
            }
            items
        } else {
            let (menu, items) = build_menu(app, &model)?;
            self.icon.set_menu(Some(menu))?;
            items
        };
        *self.shown.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Shown { model, items };
        Ok(())
    }
}

/// Whether two models have the same rows in the same order (a submenu's
/// rows included).
fn same_rows(a: &TrayModel, b: &TrayModel) -> bool {
    let row = |entry: &Entry| match entry {
        Entry::Info { .. } => (0, None, None),
        Entry::Button { action, .. } => (1, Some(*action), None),
        Entry::Check { action, .. } => (2, Some(*action), None),
        Entry::Submenu { items, .. } => (3, None, Some(items.clone())),
        Entry::Separator => (4, None, None),
    };
    a.entries.len() == b.entries.len() && a.entries.iter().map(row).eq(b.entries.iter().map(row))
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, model: &TrayModel) -> tauri::Result<(Menu<R>, Items<R>)> {
    let menu = Menu::new(app)?;
    let mut items = Vec::with_capacity(model.entries.len());
    for (index, entry) in model.entries.iter().enumerate() {
        let item = match entry {
            // Information rows are disabled so they read as text, not actions.
            Entry::Info { label } => {
                Some(Item::Text(MenuItem::with_id(app, format!("info-{index}"), label, false, None::<&str>)?))
            }
            Entry::Button { action, label, enabled } => {
                let id = match action {
                    Action::OpenWindows => format!("{}:{index}", action.id()),
                    _ => action.id().to_string(),
                };
                Some(Item::Text(MenuItem::with_id(app, id, label, *enabled, None::<&str>)?))
            }
            Entry::Check { action, label, checked, enabled } => {
                Some(Item::Check(CheckMenuItem::with_id(app, action.id(), label, *enabled, *checked, None::<&str>)?))
            }
            Entry::Submenu { label, items } => {
                let items = items
                    .iter()
                    .map(|item| MenuItem::with_id(app, item.id(), &item.label, true, None::<&str>))
                    .collect::<tauri::Result<Vec<_>>>()?;
                let items: Vec<&dyn IsMenuItem<R>> = items.iter().map(|item| item as &dyn IsMenuItem<R>).collect();
                Some(Item::Sub(Submenu::with_id_and_items(app, format!("submenu-{index}"), label, true, &items)?))
            }
            Entry::Separator => None,
        };
        match &item {
            Some(Item::Text(text)) => menu.append(text as &dyn IsMenuItem<R>)?,
            Some(Item::Check(check)) => menu.append(check as &dyn IsMenuItem<R>)?,
            Some(Item::Sub(submenu)) => menu.append(submenu as &dyn IsMenuItem<R>)?,
            None => menu.append(&PredefinedMenuItem::separator(app)?)?,
        }
        items.push(item);
    }
    Ok((menu, items))
}
