//! `pulse config`: the effective configuration.

use std::io::Write;

use crate::cli::{Ctx, Format, out_err, write_json};
use crate::error::Result;

/// Print the effective configuration.
///
/// Print the effective configuration after every layer: flags, then PULSE_* environment
/// variables, then the user file ($XDG_CONFIG_HOME/progress-pulse/config.yaml or --config),
/// then the repository's .pulse/config.yaml.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {}

pub(super) fn run(_args: ConfigArgs, ctx: &mut Ctx, out: &mut dyn Write) -> Result<()> {
    let settings = ctx.settings()?;
    if ctx.format == Format::Json {
        return write_json(out, &settings);
    }
    let show = |v: Option<String>| v.unwrap_or_else(|| "(unset)".to_owned());
    let mut text = format!(
        "storage = {}\nstorage_path = {}\ncache_size = {}\ncache_ttl = {}\nlog_level = {}\nlog_format = {}\n",
        show(settings.storage.clone()),
        show(settings.storage_path.clone()),
        show(settings.cache_size.map(|s| s.to_string())),
        show(settings.cache_ttl.map(|s| format!("{s}s"))),
        show(settings.log_level.clone()),
        show(settings.log_format.clone()),
    );
    for (k, v) in &settings.storage_config {
        text.push_str(&format!("storage_config.{k} = {v}\n"));
    }
    out.write_all(text.as_bytes()).map_err(out_err)
}
