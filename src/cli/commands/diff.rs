//! `pulse diff`: a unified diff between two versions of a prompt.

use std::io::Write;

use crate::cli::{Ctx, Report, parse_spec};
use crate::error::{Error, Result};
use crate::name::Name;
use crate::repo::paths::content_path;
use crate::report::Diffed;
use crate::store::{Store, StoreExt};

/// Show a unified diff between two releases, or a release and the working content.
///
/// Show a unified diff from NAME@A to NAME@B, or, without B, from NAME@A to the prompt's
/// working content on the branch. B may be written as NAME@B or just B.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// NAME@A: the old side.
    pub from: String,
    /// NAME@B or B: the new side (default: the working content).
    pub to: Option<String>,
}

fn release_bytes(
    store: &dyn Store,
    name: &Name,
    sel: &crate::Selector,
) -> Result<(String, Vec<u8>)> {
    let version = store.resolve(name, sel)?;
    Ok((format!("{name}@{version}"), store.fetch(name, &version)?))
}

impl Report for Diffed {
    fn text(&self) -> String {
        self.diff.clone()
    }

    fn bytes(&self) -> Vec<u8> {
        self.raw.clone()
    }
}

/// Collects hunks as git prints them, marking a last line that has no newline.
struct GitStyle(Vec<u8>);

impl gix::diff::blob::unified_diff::ConsumeHunk for GitStyle {
    type Out = Vec<u8>;

    fn consume_hunk(
        &mut self,
        header: gix::diff::blob::unified_diff::HunkHeader,
        lines: &[(gix::diff::blob::unified_diff::DiffLineKind, &[u8])],
    ) -> std::io::Result<()> {
        // As git prints it: an empty side starts at the line before it, a count of 1 is left out.
        let range = |start: u32, len: u32| match len {
            0 => format!("{},0", start.saturating_sub(1)),
            1 => start.to_string(),
            n => format!("{start},{n}"),
        };
        let line = format!(
            "@@ -{} +{} @@\n",
            range(header.before_hunk_start, header.before_hunk_len),
            range(header.after_hunk_start, header.after_hunk_len)
        );
        self.0.extend_from_slice(line.as_bytes());
        for (kind, line) in lines {
            self.0.push(kind.to_prefix() as u8);
            self.0.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                self.0
                    .extend_from_slice(b"\n\\ No newline at end of file\n");
            }
        }
        Ok(())
    }

    fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// A unified diff of two byte strings, with `---`/`+++` headers, as git prints it;
/// binary content (with a NUL byte) is summarised in one line.
pub fn unified(old_label: &str, old: &[u8], new_label: &str, new: &[u8]) -> Vec<u8> {
    use gix::diff::blob::{
        Algorithm, InternedInput, UnifiedDiff, diff_with_slider_heuristics, unified_diff,
    };
    if old == new {
        return Vec::new();
    }
    if old.contains(&0) || new.contains(&0) {
        return format!("Binary contents of {old_label} and {new_label} differ\n").into_bytes();
    }
    let input = InternedInput::new(old, new);
    let diff = diff_with_slider_heuristics(Algorithm::Histogram, &input);
    let mut out = format!("--- {old_label}\n+++ {new_label}\n").into_bytes();
    let body = UnifiedDiff::new(
        &diff,
        &input,
        GitStyle(Vec::new()),
        unified_diff::ContextSize::symmetrical(3),
    )
    .consume()
    .unwrap_or_default();
    out.extend_from_slice(&body);
    out
}

pub(super) fn run(args: DiffArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let (name, from_sel) = parse_spec(&args.from, None)?;
    if !args.from.contains('@') {
        return Err(Error::usage("the first argument must be NAME@VERSION")
            .with_hint(format!("e.g. pulse diff {name}@1.0.0 {name}@1.1.0")));
    }
    let store = ctx.access.store()?;
    let (old_label, old) = release_bytes(store.as_ref(), &name, &from_sel)?;
    let (new_label, new) = match &args.to {
        Some(to) => {
            let spec = if to.contains('@') {
                to.clone()
            } else {
                format!("{name}@{to}")
            };
            let (to_name, to_sel) = parse_spec(&spec, None)?;
            if to_name != name {
                return Err(Error::usage(format!(
                    "both sides must be the same prompt ('{name}' and '{to_name}')"
                )));
            }
            release_bytes(store.as_ref(), &name, &to_sel)?
        }
        None => {
            let repo = ctx.access.repo()?;
            let branch = repo.branch(ctx.access.branch())?;
            let commit = branch
                .read_commit()
                .ok_or_else(|| Error::not_found("the branch has no commits"))?;
            let bytes = repo.file_at(commit, &content_path(&name))?.ok_or_else(|| {
                Error::not_found(format!(
                    "prompt '{name}' has no working content on branch '{}'",
                    branch.short_name()
                ))
            })?;
            (format!("{name} (working, {})", branch.short_name()), bytes)
        }
    };
    let patch = unified(&old_label, &old, &new_label, &new);
    ctx.out.emit(
        out,
        &Diffed {
            from: old_label,
            to: new_label,
            identical: old == new,
            diff: String::from_utf8_lossy(&patch).into_owned(),
            raw: patch,
        },
    )
}
