//! `pulse show`: the metadata of one release.

use std::io::Write;

use crate::cli::{Ctx, Report, parse_spec};
use crate::error::Result;
use crate::report::ReleaseReport;
use crate::store::StoreExt;

/// Show the metadata of one release.
///
/// Show the metadata of NAME@SELECTOR (default: latest): version, date, author, size,
/// checksum, message, description, keywords, commit, path and labels.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// NAME or NAME@SELECTOR.
    #[arg(value_name = "NAME[@SELECTOR]")]
    pub spec: String,
    /// The selector, as a flag.
    #[arg(long = "version", id = "selector", value_name = "SELECTOR")]
    pub version: Option<String>,
}

impl Report for ReleaseReport {
    fn text(&self) -> String {
        let meta = &self.meta;
        let mut text = format!(
            "name:        {}\nversion:     {}\ncreated:     {}\nauthor:      {}\nsize:        {} bytes\nsha256:      {}\n",
            meta.name, meta.version, meta.created, meta.author, meta.size, meta.sha256,
        );
        if let Some(c) = &meta.commit {
            text.push_str(&format!("commit:      {c}\n"));
        }
        if let Some(p) = &meta.path {
            text.push_str(&format!("path:        {p}\n"));
        }
        if let Some(e) = &meta.encryption {
            text.push_str(&format!("encryption:  {e}\n"));
        }
        if let Some(d) = &meta.description {
            text.push_str(&format!("description: {d}\n"));
        }
        if !meta.tags.is_empty() {
            text.push_str(&format!("tags:        {}\n", meta.tags.join(", ")));
        }
        if !self.labels.is_empty() {
            let labels: Vec<&str> = self.labels.iter().map(|l| l.as_str()).collect();
            text.push_str(&format!("labels:      {}\n", labels.join(", ")));
        }
        text.push_str(&format!(
            "message:\n    {}\n",
            meta.message.replace('\n', "\n    ")
        ));
        text
    }
}

pub(super) fn run(args: ShowArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, selector) = parse_spec(&args.spec, args.version.as_deref())?;
    let store = ctx.access.store()?;
    let version = store.resolve(&name, &selector)?;
    let labels = store.labels(&name)?;
    let report = ReleaseReport::read(store.as_ref(), &name, &version, &labels)
        .map_err(|e| store.explain_missing(e))?;
    ctx.out.emit(out, &report)
}
