//! The dashboard's pages as the desktop app serves them: each is one call
//! into [`crate::dashboard`] with the app's own files (its ledger, its
//! config's prices, its Claude Code user settings), plus the live `ledger`
//! updates the watcher sends when requests land.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::service::{DesktopService, lock};
use crate::app_state::ClaudeTarget;
use crate::claude_code::preview::{self, ClaudeCodeScopes, SettingsChange, SettingsDiff};
use crate::claude_code::scope::Scope;
use crate::claude_code::warnings::WarningKind;
use crate::config::Config;
use crate::dashboard::Dashboard;
use crate::dashboard::logs::{self, LogLine};
use crate::dashboard::overview::Overview;
use crate::dashboard::requests::{LedgerChanged, RecentQuery, RequestDetails, RequestRow};
use crate::dashboard::settings::{self, SaveOutcome, SettingsForm, SettingsView};
use crate::dashboard::spend::{self, ExportFormat, SpendExport, SpendQuery, SpendReport};
use crate::dashboard::windows::{WindowsQuery, WindowsReport};
use crate::engines::remote;
/// What the Connections page shows for a team proxy's key.
pub use crate::engines::remote::TeamKeyInfo;
use crate::ledger::import::{self, ImportProgress, ImportSummary};
use crate::pricing::PriceTable;
use crate::supervisor::GatewayState;

/// How long a prefetched Overview waits for the window to ask for it.
const AHEAD_FOR: Duration = Duration::from_secs(10);

/// An Overview being computed for a window that is starting.
pub(super) struct OverviewAhead {
    asked: Instant,
    overview: JoinHandle<anyhow::Result<Overview>>,
}

/// What the watcher calls with new ledger rows.
type OnLedgerChange = Box<dyn FnMut(&LedgerChanged) + Send>;

/// Who is told about new ledger rows, and the version they last saw.
#[derive(Default)]
pub struct LedgerWatch {
    version: Option<i64>,
    on_change: Option<OnLedgerChange>,
}

impl DesktopService {
    /// The dashboard over the app's ledger, priced with the config's
    /// overrides (the built-in prices while the config cannot be read).
    pub fn dashboard(&self) -> Dashboard {
        let paths = &self.options().paths;
        let prices = match Config::load(&paths.config_file()) {
            Ok(config) => PriceTable::builtin().with_overrides(&config.pricing.models),
            Err(_) => PriceTable::builtin(),
        };
        Dashboard::new(paths.ledger_file(), prices)
    }

    /// The Overview; the one [`Self::prefetch_overview`] computed, when it
    /// was asked for within [`AHEAD_FOR`] and the ledger has not changed
    /// since.
    pub fn overview(&self) -> anyhow::Result<Overview> {
        let dashboard = self.dashboard();
        let ahead = lock(&self.overview_ahead).take();
        if let Some(ahead) = ahead
            && ahead.asked.elapsed() < AHEAD_FOR
            && let Ok(Ok(overview)) = ahead.overview.join()
            && overview.ledger_version == dashboard.version()?
        {
            return Ok(overview);
        }
        Ok(dashboard.overview()?)
    }

    /// Starts computing the Overview for a window that is about to ask for
    /// it: the window's process and WebKit take about 350 ms to start, and
    /// the query (15 to 50 ms on a million rows) then costs the page
    /// nothing.
    pub fn prefetch_overview(self: &Arc<Self>) {
        let service = Arc::clone(self);
        let overview = std::thread::spawn(move || Ok(service.dashboard().overview()?));
        *lock(&self.overview_ahead) = Some(OverviewAhead { asked: Instant::now(), overview });
    }

    pub fn spend(&self, query: &SpendQuery) -> anyhow::Result<SpendReport> {
        Ok(self.dashboard().spend(query)?)
    }

    /// The Spend table as CSV or JSON; with `save`, also written to the
    /// user's Downloads folder (the home folder when there is none).
    pub fn spend_export(&self, query: &SpendQuery, format: ExportFormat, save: bool) -> anyhow::Result<SpendExport> {
        let mut export = self.dashboard().spend_export(query, format)?;
        if save {
            let dirs = directories::UserDirs::new().context("cannot find the home folder to save the export in")?;
            let dir = dirs.download_dir().unwrap_or(dirs.home_dir()).to_path_buf();
            spend::save_export(&dir, &mut export)?;
        }
        Ok(export)
    }

    pub fn windows_report(&self, query: WindowsQuery) -> anyhow::Result<WindowsReport> {
        Ok(self.dashboard().windows(query)?)
    }

    pub fn recent_requests(&self, query: RecentQuery) -> anyhow::Result<Vec<RequestRow>> {
        Ok(self.dashboard().recent(query)?)
    }

    pub fn request_details(&self, id: i64) -> anyhow::Result<RequestDetails> {
        Ok(self.dashboard().request(id)?)
    }

    /// The gateway's log, newest first, in one format.
    pub fn log_lines(&self) -> Vec<LogLine> {
        logs::newest_first(&self.log_tail())
    }

    /// Claude Code's settings files: the managed and user ones, and with
    /// `project` (a project folder; the page offers those Claude Code was
    /// used in) that project's local and project settings, with every
    /// warning's fix.
    pub fn claude_code_scopes(&self, project: Option<&str>) -> anyhow::Result<ClaudeCodeScopes> {
        let project = project_folder(project)?;
        let mut scopes = preview::scopes(project.as_deref(), self.running_gateway_url().as_deref())?;
        if let Ok(config) = Config::load(&self.options().paths.config_file()) {
            scopes.team_proxies = remote::teams(&config).map(|upstream| upstream.name.clone()).collect();
        }
        if self.user_settings_paused() {
            // The app puts the gateway back in the user settings itself.
            scopes.warnings.retain(|warning| warning.kind != WarningKind::NotConfigured);
        }
        Ok(scopes)
    }

    /// A Claude Code settings file a warning names, for "Open the file": the
    /// managed or user settings, or a project's `.claude/settings.json` or
    /// `.claude/settings.local.json`, and only while it exists. Nothing else
    /// is handed to the desktop's opener.
    pub fn claude_settings_file(&self, path: &str) -> anyhow::Result<PathBuf> {
        let path = PathBuf::from(path);
        let user = Scope::User.settings_path(&crate::paths::claude_config_dir()?, Path::new(""));
        let in_a_project = path.is_absolute()
            && path.file_name().is_some_and(|name| name == "settings.json" || name == "settings.local.json")
            && path.parent().and_then(Path::file_name).is_some_and(|dir| dir == ".claude");
        if !(path == user || path == crate::claude_code::scope::managed_settings_path() || in_a_project) {
            anyhow::bail!("{} is not a Claude Code settings file, so Gatehouse does not open it", path.display());
        }
        if !path.is_file() {
            anyhow::bail!("{} does not exist (any more)", path.display());
        }
        Ok(path)
    }

    /// What a change would write, before it does: to the user settings
    /// (the "Claude Code uses Gatehouse" switch), or with `project` to that
    /// project's local settings.
    pub fn claude_code_preview(&self, change: SettingsChange, project: Option<&str>) -> anyhow::Result<SettingsDiff> {
        let paths = &self.options().paths;
        let target = claude_target(project)?;
        match change {
            SettingsChange::Configure => {
                let GatewayState::Running { base_url, .. } = self.gateway_state() else {
                    anyhow::bail!("the gateway is not running, so Claude Code cannot be pointed at it; start it first");
                };
                preview::configure(paths, target.scope(), target.project_dir(), &base_url)
            }
            SettingsChange::Remove => preview::remove(paths, target.scope(), target.project_dir()),
        }
    }

    /// Applies a previewed change. The app then keeps that file off a dead
    /// gateway (fail-open) and restores it when it quits, as it does the
    /// user settings.
    pub fn claude_code_apply(&self, change: SettingsChange, project: Option<&str>) -> anyhow::Result<()> {
        self.switch_claude_code(claude_target(project)?, change == SettingsChange::Configure)
    }

    /// What pointing Claude Code straight at the team proxy `team` would
    /// write to the user settings (or with `project`, that project's local
    /// settings), every key hidden.
    pub fn claude_code_team_preview(&self, team: &str, project: Option<&str>) -> anyhow::Result<SettingsDiff> {
        let paths = &self.options().paths;
        let target = claude_target(project)?;
        let config = Config::load(&paths.config_file())?;
        preview::configure_team(paths, &config, target.scope(), target.project_dir(), team)
    }

    /// Applies a previewed team configuration; "Remove" undoes it as it does
    /// the gateway's.
    pub fn claude_code_team_apply(&self, team: &str, project: Option<&str>) -> anyhow::Result<()> {
        self.configure_team(claude_target(project)?, team)
    }

    /// The team proxy `team`'s word on its virtual key: spend, budget, reset
    /// (see [`crate::engines::remote`]). Blocks for up to its timeout.
    pub fn team_key_info(&self, team: &str) -> anyhow::Result<TeamKeyInfo> {
        let paths = &self.options().paths;
        let config = Config::load(&paths.config_file())?;
        let upstream = crate::claude_code::setup::team_upstream(&config, team)?;
        Ok(remote::key_info(paths, &config, upstream)?)
    }

    pub fn settings(&self) -> SettingsView {
        settings::read(&self.options().paths)
    }

    pub fn save_settings(&self, form: &SettingsForm) -> anyhow::Result<SaveOutcome> {
        let outcome = settings::save(&self.options().paths, form);
        self.nudge();
        outcome
    }

    /// Imports Claude Code's transcripts into the ledger now (the first-run
    /// guide's step); `progress` is called as files are read.
    pub fn import_transcripts(&self, progress: &mut dyn FnMut(ImportProgress)) -> anyhow::Result<ImportSummary> {
        let claude_dir = crate::paths::claude_config_dir()?;
        let dashboard = self.dashboard();
        let summary = import::import_transcripts(dashboard.ledger_path(), &claude_dir, dashboard.prices(), progress)?;
        self.nudge();
        Ok(summary)
    }

    /// Where Gatehouse keeps its data, for "Open the data folder".
    pub fn data_dir(&self) -> PathBuf {
        self.options().paths.data_dir.clone()
    }

    /// Calls `on_change` from the watcher whenever requests were recorded
    /// after this call.
    pub fn on_ledger_change(&self, on_change: impl FnMut(&LedgerChanged) + Send + 'static) {
        let version = self.dashboard().version().ok();
        let mut watch = lock(&self.ledger_watch);
        watch.on_change = Some(Box::new(on_change));
        watch.version = version;
    }

    /// One look at the ledger for the watcher: tells the listener when its
    /// newest id moved. (A version that could not be read at registration
    /// is noted on the first look.)
    pub(super) fn check_ledger(&self) {
        let mut watch = lock(&self.ledger_watch);
        if watch.on_change.is_none() {
            return;
        }
        let dashboard = self.dashboard();
        let Some(seen) = watch.version else {
            watch.version = dashboard.version().ok();
            return;
        };
        match dashboard.changes_since(seen) {
            Ok(Some(changed)) => {
                watch.version = Some(changed.version);
                if let Some(on_change) = watch.on_change.as_mut() {
                    on_change(&changed);
                }
            }
            Ok(None) => {}
            Err(error) => tracing::debug!("cannot look for new requests: {error}"),
        }
    }
}

/// A project folder the page names: absolute, and still there.
fn project_folder(project: Option<&str>) -> anyhow::Result<Option<PathBuf>> {
    let Some(dir) = project.map(PathBuf::from) else { return Ok(None) };
    if !(dir.is_absolute() && dir.is_dir()) {
        anyhow::bail!("{} is not a project folder (any more); pick another project", dir.display());
    }
    Ok(Some(dir))
}

/// The file a change is for: the user settings, or a project's local
/// settings (the committed project settings are never Gatehouse's to write).
fn claude_target(project: Option<&str>) -> anyhow::Result<ClaudeTarget> {
    Ok(match project_folder(project)? {
        None => ClaudeTarget::User,
        Some(project_dir) => ClaudeTarget::Local { project_dir },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::testing::{self, Row};

    #[test]
    fn a_prefetched_overview_is_used_once_and_never_hides_a_new_request() {
        let home = tempfile::tempdir().unwrap();
        let service = DesktopService::new(crate::supervisor::SupervisorOptions::under(home.path())).unwrap();
        let conn = testing::create(&service.options().paths.ledger_file());
        let now = jiff::Timestamp::now().as_millisecond();
        Row::at(now - 60_000).insert(&conn);

        service.prefetch_overview();
        assert_eq!(service.overview().unwrap().last_30_days.requests, 1);
        assert!(lock(&service.overview_ahead).is_none(), "used once");

        // A request lands between the prefetch and the page's call.
        service.prefetch_overview();
        let ahead = lock(&service.overview_ahead).take().unwrap();
        let prefetched = ahead.overview.join().unwrap().unwrap();
        assert_eq!(prefetched.last_30_days.requests, 1);
        *lock(&service.overview_ahead) =
            Some(OverviewAhead { asked: ahead.asked, overview: std::thread::spawn(move || Ok(prefetched)) });
        Row::at(now - 1_000).insert(&conn);
        assert_eq!(service.overview().unwrap().last_30_days.requests, 2);
    }
}
