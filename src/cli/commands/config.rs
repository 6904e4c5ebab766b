//! `pulse config`: the effective configuration.

use std::io::Write;

use crate::cli::{Ctx, Report};
use crate::config::Settings;
use crate::error::Result;

/// Print the effective configuration.
///
/// Print the effective configuration after every layer: flags, then PULSE_* environment
/// variables, then the user file ($XDG_CONFIG_HOME/progress-pulse/config.yaml or --config),
/// then the repository's .pulse/config.yaml.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {}

impl Report for Settings {
    fn text(&self) -> String {
        let show = |v: Option<String>| v.unwrap_or_else(|| "(unset)".to_owned());
        let mut text = format!(
            "storage = {}\nstorage_path = {}\ncache_size = {}\ncache_ttl = {}\nlog_level = {}\nlog_format = {}\n",
            show(self.storage.clone()),
            show(self.storage_path.clone()),
            show(self.cache_size.map(|s| s.to_string())),
            show(self.cache_ttl.map(|s| format!("{s}s"))),
            show(self.log_level.clone()),
            show(self.log_format.clone()),
        );
        for (k, v) in &self.storage_config {
            text.push_str(&format!("storage_config.{k} = {v}\n"));
        }
        text
    }
}

pub(super) fn run(_args: ConfigArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    ctx.out.emit(out, ctx.access.settings()?)
}
