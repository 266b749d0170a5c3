//! The Settings page: the gateway's port, the fail-open timeout, the
//! notification thresholds, price overrides and the data folder, read from
//! and written to `config.toml`. A change is checked as the gateway would
//! check it, and refused with a message per field before anything is written.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// When the app notifies about the subscription windows (`[notifications]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NotificationSettings {
    /// Percentages, strictly increasing, each 1..=100; empty: no threshold notices.
    pub window_thresholds: Vec<u8>,
    /// Notify when a window is at 100% (rejected), with its reset time.
    pub window_rejected: bool,
    /// Notify when a window that was over a threshold resets.
    pub window_reset: bool,
}

/// A model's price override, in US dollars per million tokens
/// (`[pricing.models."name"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PriceOverride {
    pub model: String,
    pub input: f64,
    pub output: f64,
    pub cache_write_5m: f64,
    pub cache_write_1h: f64,
    pub cache_read: f64,
}

/// What the Settings page shows and saves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SettingsForm {
    pub port: u16,
    /// Seconds the gateway may be unhealthy before Claude Code is pointed
    /// back at Anthropic directly.
    pub fail_open_after_secs: u64,
    pub notifications: NotificationSettings,
    pub price_overrides: Vec<PriceOverride>,
}

/// The Settings page (`settings_get`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct SettingsView {
    pub form: SettingsForm,
    /// Where Gatehouse keeps its data (ledger, state), to show and open.
    pub data_dir: String,
    pub config_file: String,
    /// `config.toml` cannot be read now: the form shows the defaults, and
    /// saving replaces nothing until the file is fixed by hand.
    pub config_error: Option<String>,
}

/// One thing wrong with a change, by field: `port`, `fail_open_after_secs`,
/// `notifications.window_thresholds`, `price_overrides.<model>.input`, ….
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// What `settings_save` did: saved, or the problems that stopped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SaveOutcome {
    pub saved: bool,
    pub problems: Vec<FieldProblem>,
    /// A change that takes effect only once the gateway restarts (the port).
    pub restart_needed: bool,
}

use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::paths::Paths;

/// The notification settings' defaults (issue 8: 80% and 95%, per window).
fn default_notifications() -> NotificationSettings {
    NotificationSettings { window_thresholds: vec![80, 95], window_rejected: true, window_reset: true }
}

/// `[notifications]` as the file has it, defaults where it says nothing.
fn notifications_in(text: &str) -> NotificationSettings {
    let mut settings = default_notifications();
    let Ok(table) = text.parse::<toml::Table>() else { return settings };
    let Some(section) = table.get("notifications").and_then(toml::Value::as_table) else { return settings };
    if let Some(values) = section.get("window_thresholds").and_then(toml::Value::as_array) {
        settings.window_thresholds =
            values.iter().filter_map(toml::Value::as_integer).filter_map(|v| u8::try_from(v).ok()).collect();
    }
    if let Some(value) = section.get("window_rejected").and_then(toml::Value::as_bool) {
        settings.window_rejected = value;
    }
    if let Some(value) = section.get("window_reset").and_then(toml::Value::as_bool) {
        settings.window_reset = value;
    }
    settings
}

fn form_of(config: &Config, text: &str) -> SettingsForm {
    SettingsForm {
        port: config.gateway.port,
        fail_open_after_secs: config.supervisor.fail_open_after_secs,
        notifications: notifications_in(text),
        price_overrides: config
            .pricing
            .models
            .iter()
            .map(|(model, price)| PriceOverride {
                model: model.clone(),
                input: price.input,
                output: price.output,
                cache_write_5m: price.cache_write_5m,
                cache_write_1h: price.cache_write_1h,
                cache_read: price.cache_read,
            })
            .collect(),
    }
}

fn read_text(path: &Path) -> Result<String, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(ConfigError::Read { path: path.to_path_buf(), source }),
    }
}

/// The Settings page as `config.toml` has it now.
pub fn read(paths: &Paths) -> SettingsView {
    let config_file = paths.config_file();
    let loaded = read_text(&config_file).and_then(|text| Config::parse(&config_file, &text).map(|c| (c, text)));
    let (form, config_error) = match loaded {
        Ok((config, text)) => (form_of(&config, &text), None),
        Err(error) => (form_of(&Config::default(), ""), Some(error.to_string())),
    };
    SettingsView {
        form,
        data_dir: paths.data_dir.display().to_string(),
        config_file: config_file.display().to_string(),
        config_error,
    }
}

/// The form's name for a config key: `gateway.port` is `port`,
/// `pricing.models."m".input` is `price_overrides.m.input`.
fn field_of(key: &str) -> String {
    match key {
        "gateway.port" => "port".to_string(),
        "supervisor.fail_open_after_secs" => "fail_open_after_secs".to_string(),
        _ => match key.strip_prefix("pricing.models.") {
            Some(rest) => {
                let (model, field) = match rest.rsplit_once('.') {
                    Some((model, field)) if !field.ends_with('"') => (model, Some(field)),
                    _ => (rest, None),
                };
                let model = model.trim_matches('"');
                match field {
                    Some(field) => format!("price_overrides.{model}.{field}"),
                    None => format!("price_overrides.{model}"),
                }
            }
            None => key.to_string(),
        },
    }
}

fn problem(field: &str, message: impl Into<String>) -> FieldProblem {
    FieldProblem { field: field.to_string(), message: message.into() }
}

/// The table at `path`, created (as a `[section]`, not inline) if missing.
fn table_at<'a>(document: &'a mut toml_edit::DocumentMut, path: &[&str]) -> &'a mut dyn toml_edit::TableLike {
    let mut table: &mut dyn toml_edit::TableLike = document.as_table_mut();
    for key in path {
        let item = table.entry(key).or_insert_with(|| {
            let mut new = toml_edit::Table::new();
            new.set_implicit(true);
            toml_edit::Item::Table(new)
        });
        if item.as_table_like().is_none() {
            *item = toml_edit::Item::Table(toml_edit::Table::new());
        }
        table = item.as_table_like_mut().expect("made a table above");
    }
    table
}

/// Sets `key` in `table`, keeping the comment beside an existing value.
fn set_in(table: &mut dyn toml_edit::TableLike, key: &str, mut value: toml_edit::Value) {
    match table.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
        Some(old) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        None => {
            table.insert(key, toml_edit::Item::Value(value));
        }
    }
}

fn set(document: &mut toml_edit::DocumentMut, path: &[&str], key: &str, value: toml_edit::Value) {
    set_in(table_at(document, path), key, value);
}

/// Writes the form into `config.toml`, keeping everything else in it (and
/// comments) as it is. A form the gateway would refuse is not written: the
/// outcome lists what is wrong, by field, as the config check says it.
pub fn save(paths: &Paths, form: &SettingsForm) -> anyhow::Result<SaveOutcome> {
    let path = paths.config_file();
    let _lock = crate::file_lock::FileLock::beside(&path)?;
    let refused = |problems| Ok(SaveOutcome { saved: false, problems, restart_needed: false });
    let text = read_text(&path)?;
    let current = match Config::parse(&path, &text) {
        Ok(config) => config,
        Err(error) => {
            return refused(vec![problem(
                "config",
                format!("{error} Gatehouse does not rewrite a file it cannot read; fix it by hand first"),
            )]);
        }
    };
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for price in &form.price_overrides {
        let name = price.model.trim();
        if name.is_empty() {
            problems.push(problem("price_overrides", "a price override needs a model name, e.g. claude-sonnet-4-5"));
        } else if !seen.insert(name) {
            problems
                .push(problem(&format!("price_overrides.{name}"), format!("{name} has two price overrides; keep one")));
        }
    }
    if !problems.is_empty() {
        return refused(problems);
    }
    let mut document: toml_edit::DocumentMut = text.parse()?;
    if form.port != current.gateway.port {
        set(&mut document, &["gateway"], "port", i64::from(form.port).into());
    }
    if form.fail_open_after_secs != current.supervisor.fail_open_after_secs {
        let secs = i64::try_from(form.fail_open_after_secs).unwrap_or(i64::MAX);
        set(&mut document, &["supervisor"], "fail_open_after_secs", secs.into());
    }
    let notifications = &form.notifications;
    if *notifications != notifications_in(&text) {
        let thresholds: toml_edit::Array = notifications.window_thresholds.iter().map(|t| i64::from(*t)).collect();
        set(&mut document, &["notifications"], "window_thresholds", thresholds.into());
        set(&mut document, &["notifications"], "window_rejected", notifications.window_rejected.into());
        set(&mut document, &["notifications"], "window_reset", notifications.window_reset.into());
    }
    let existing: Vec<String> = current.pricing.models.keys().cloned().collect();
    let wanted: Vec<&PriceOverride> = form.price_overrides.iter().collect();
    if !existing.is_empty() || !wanted.is_empty() {
        let models = table_at(&mut document, &["pricing", "models"]);
        {
            for name in &existing {
                if !wanted.iter().any(|price| price.model.trim() == name) {
                    models.remove(name);
                }
            }
            for price in &wanted {
                let entry = models.entry(price.model.trim()).or_insert(toml_edit::table());
                let Some(entry) = entry.as_table_like_mut() else { continue };
                for (key, value) in [
                    ("input", price.input),
                    ("output", price.output),
                    ("cache_write_5m", price.cache_write_5m),
                    ("cache_write_1h", price.cache_write_1h),
                    ("cache_read", price.cache_read),
                ] {
                    set_in(entry, key, value.into());
                }
            }
        }
    }
    let new_text = document.to_string();
    if let Err(error) = Config::parse(&path, &new_text) {
        let problem = match error {
            ConfigError::Invalid(invalid) => {
                problem(&invalid.key.as_deref().map_or_else(|| "config".to_string(), field_of), invalid.message)
            }
            other => problem("config", other.to_string()),
        };
        return refused(vec![problem]);
    }
    if new_text != text {
        crate::fs_atomic::write_private(&path, new_text.as_bytes())
            .map_err(|source| ConfigError::Write { path: path.clone(), source })?;
    }
    Ok(SaveOutcome { saved: true, problems: Vec::new(), restart_needed: form.port != current.gateway.port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(model: &str, input: f64) -> PriceOverride {
        PriceOverride {
            model: model.into(),
            input,
            output: 15.0,
            cache_write_5m: 3.75,
            cache_write_1h: 6.0,
            cache_read: 0.3,
        }
    }

    #[test]
    fn settings_are_saved_into_the_config_keeping_the_rest() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let view = read(&paths);
        assert_eq!(view.config_error, None);
        assert_eq!(view.form.notifications, default_notifications());
        assert_eq!(view.data_dir, paths.data_dir.display().to_string());

        std::fs::create_dir_all(&paths.config_dir).unwrap();
        let original = "# my gateway\n[gateway]\nport = 7500 # mine\n\n[pricing.models.\"old-model\"]\ninput = 1.0\n\
                        output = 2.0\ncache_write_5m = 1.25\ncache_write_1h = 2.0\ncache_read = 0.1\n";
        std::fs::write(paths.config_file(), original).unwrap();
        let mut form = read(&paths).form;
        assert_eq!(form.port, 7500);
        assert_eq!(form.price_overrides[0].model, "old-model");
        form.port = 7600;
        form.fail_open_after_secs = 30;
        form.price_overrides = vec![price("my-model", 3.0)];
        let outcome = save(&paths, &form).unwrap();
        assert!(outcome.saved && outcome.restart_needed, "{outcome:?}");
        let text = std::fs::read_to_string(paths.config_file()).unwrap();
        assert!(text.starts_with("# my gateway\n[gateway]\nport = 7600"), "{text}");
        assert!(!text.contains("old-model") && !text.contains("notifications"), "{text}");
        assert_eq!(read(&paths).form, form);

        // Saving the same form again changes nothing and needs no restart.
        let outcome = save(&paths, &form).unwrap();
        assert!(outcome.saved && !outcome.restart_needed);
        assert_eq!(std::fs::read_to_string(paths.config_file()).unwrap(), text);
    }

    #[test]
    fn a_form_the_gateway_would_refuse_is_not_written_and_says_why_by_field() {
        let home = tempfile::tempdir().unwrap();
        let paths = Paths::under(home.path());
        let mut form = read(&paths).form;
        form.price_overrides = vec![price("my-model", -3.0)];
        let outcome = save(&paths, &form).unwrap();
        assert!(!outcome.saved);
        assert_eq!(outcome.problems[0].field, "price_overrides.my-model.input", "{outcome:?}");
        assert!(!paths.config_file().exists(), "nothing written");

        form.price_overrides = vec![price("a", 3.0), price("a", 4.0), price(" ", 1.0)];
        let fields: Vec<String> = save(&paths, &form).unwrap().problems.into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["price_overrides.a", "price_overrides"]);

        form.price_overrides.clear();
        form.fail_open_after_secs = 30 * 24 * 3600;
        let outcome = save(&paths, &form).unwrap();
        assert_eq!(outcome.problems[0].field, "fail_open_after_secs", "{outcome:?}");

        std::fs::create_dir_all(&paths.config_dir).unwrap();
        std::fs::write(paths.config_file(), "[gateway]\nport = \"x\"\n").unwrap();
        assert!(read(&paths).config_error.is_some());
        let outcome = save(&paths, &read(&paths).form).unwrap();
        assert_eq!(outcome.problems[0].field, "config");
        assert_eq!(std::fs::read_to_string(paths.config_file()).unwrap(), "[gateway]\nport = \"x\"\n");
    }
}
