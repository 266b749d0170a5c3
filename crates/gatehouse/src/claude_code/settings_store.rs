use std::path::PathBuf;
pub struct SettingsTarget { pub settings_path: PathBuf, pub record_path: PathBuf, pub backup_dir: PathBuf }
pub enum ConfigureOutcome { Created, Updated }
pub enum RemoveOutcome { RestoredExactly, RemovedOurKeys, Deleted, NotConfigured }
pub fn configure(_t: &SettingsTarget, _e: &super::settings::GatewayEnv) -> anyhow::Result<ConfigureOutcome> { todo!() }
pub fn remove(_t: &SettingsTarget) -> anyhow::Result<RemoveOutcome> { todo!() }
