//! `pulse search`: find prompts by content, name, description and keywords, in any store.

use std::io::{IsTerminal, Write};

use crate::cli::{Ctx, Report};
use crate::error::{Error, Result};
use crate::name::{Label, Name, NamePrefix};
use crate::search::{Field, Hit, Query, SearchReport};
use crate::version::Version;

/// Find prompts by their content, name, description and keywords, in any store.
///
/// Searches the latest release of each prompt (or the release --label points to, or every
/// release with --all-versions) for PATTERN, line by line, and each prompt's name,
/// description and keywords. PATTERN is found as written; --regex makes it a regular
/// expression (the syntax of Rust's regex crate, matched in time linear in the input).
/// Prints `name@version:LINE:text` for each matching line of content and
/// `name@version:description:text` (or `name:`, `keywords:`) for the prompt's own matches,
/// the matches highlighted on a terminal; content that looks binary is reported as
/// `binary release name@version matches`, without its lines. Exits 0 when something
/// matched, 1 when nothing did, 2 for a pattern that is not valid.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What to find: text as written, or a regular expression with --regex.
    #[arg(value_name = "PATTERN", allow_hyphen_values = true)]
    pub pattern: String,
    /// PATTERN is a regular expression (`refund|return`, `GPT-?4`, `^You are`).
    #[arg(long, short = 'E')]
    pub regex: bool,
    /// Match without regard to case.
    #[arg(long, short = 'i')]
    pub ignore_case: bool,
    /// Only prompts with all of these comma-separated keywords.
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Search the release this label points to (prompts without it are passed over).
    #[arg(long, value_name = "LABEL", conflicts_with = "all_versions")]
    pub label: Option<String>,
    /// Search every release, not only the latest.
    #[arg(long)]
    pub all_versions: bool,
    /// Only prompts under this name prefix (whole segments).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Print only `name@version` of each release that matched, once.
    #[arg(long, short = 'l')]
    pub files_with_matches: bool,
}

/// The release of the last hit written, and its `name@version` as written.
type Prefix<'h> = (Option<(&'h Name, &'h Version)>, Vec<u8>);

/// `n` in decimal, written into `buf`.
fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// The report, and how text shows it.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct Found {
    report: SearchReport,
    #[serde(skip)]
    releases_only: bool,
    #[serde(skip)]
    color: bool,
}

const MAGENTA: &str = "\x1b[35m";
const GREEN: &str = "\x1b[32m";
const MATCH: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

impl Found {
    fn paint(&self, text: &mut Vec<u8>, color: &str, what: &str) {
        if self.color {
            text.extend_from_slice(color.as_bytes());
            text.extend_from_slice(what.as_bytes());
            text.extend_from_slice(RESET.as_bytes());
        } else {
            text.extend_from_slice(what.as_bytes());
        }
    }

    /// `name@version`, in colour on a terminal.
    fn release(&self, text: &mut Vec<u8>, h: &Hit) {
        if self.color {
            text.extend_from_slice(MAGENTA.as_bytes());
        }
        text.extend_from_slice(h.name.as_str().as_bytes());
        text.push(b'@');
        // Versions are short: written without an allocation.
        let _ = write!(text, "{}", h.version);
        if self.color {
            text.extend_from_slice(RESET.as_bytes());
        }
    }

    /// One hit's line: `name@version:LINE:text`, the matches highlighted in colour.
    fn hit<'h>(&self, text: &mut Vec<u8>, h: &'h Hit, prefix: &mut Prefix<'h>) {
        if h.binary {
            text.extend_from_slice(b"binary release ");
            self.release(text, h);
            text.extend_from_slice(b" matches\n");
            return;
        }
        // Hits come release by release: its `name@version` is written once and copied.
        if prefix.0 != Some((&h.name, &h.version)) {
            prefix.1.clear();
            self.release(&mut prefix.1, h);
            prefix.0 = Some((&h.name, &h.version));
        }
        text.extend_from_slice(&prefix.1);
        text.push(b':');
        match (h.field, h.line) {
            (Field::Content, Some(n)) if !self.color => {
                text.extend_from_slice(itoa(n, &mut [0; 20]));
            }
            (Field::Content, Some(n)) => self.paint(text, GREEN, &n.to_string()),
            (field, _) => self.paint(text, GREEN, field.as_str()),
        }
        text.push(b':');
        // Shown as text: bytes that are not UTF-8 become U+FFFD, each piece on its own so
        // the highlighted ranges stay where they are in the bytes.
        let line = h.line_bytes();
        if !self.color {
            match &h.text {
                Some(t) => text.extend_from_slice(t.as_bytes()),
                None => text.extend_from_slice(String::from_utf8_lossy(line).as_bytes()),
            }
            text.push(b'\n');
            return;
        }
        let mut at = 0;
        for &[start, end] in &h.ranges {
            let (start, end) = (start.clamp(at, line.len()), end.clamp(at, line.len()));
            text.extend_from_slice(String::from_utf8_lossy(&line[at..start]).as_bytes());
            self.paint(text, MATCH, &String::from_utf8_lossy(&line[start..end]));
            at = end;
        }
        text.extend_from_slice(String::from_utf8_lossy(&line[at..]).as_bytes());
        text.push(b'\n');
    }
}

impl Report for Found {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn bytes(&self) -> Vec<u8> {
        let mut text = Vec::new();
        let _ = self.write_text(&mut text);
        text
    }

    /// Written through a buffer of its own, a piece at a time: thousands of hits are never
    /// held as text all at once.
    fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        const PIECE: usize = 64 << 10;
        let mut text = Vec::with_capacity(PIECE + 4096);
        if self.releases_only {
            let mut last = None;
            for h in &self.report.hits {
                if last != Some((&h.name, &h.version)) {
                    self.release(&mut text, h);
                    text.push(b'\n');
                    last = Some((&h.name, &h.version));
                }
                if text.len() >= PIECE {
                    out.write_all(&text)?;
                    text.clear();
                }
            }
            return out.write_all(&text);
        }
        let mut prefix: Prefix<'_> = (None, Vec::new());
        for h in &self.report.hits {
            self.hit(&mut text, h, &mut prefix);
            if text.len() >= PIECE {
                out.write_all(&text)?;
                text.clear();
            }
        }
        out.write_all(&text)
    }
}

pub(super) fn run(args: SearchArgs, ctx: &Ctx, out: &mut dyn Write) -> Result<()> {
    let query = Query {
        pattern: args.pattern,
        regex: args.regex,
        ignore_case: args.ignore_case,
        tags: args.tags,
        label: args.label.as_deref().map(Label::parse).transpose()?,
        all_versions: args.all_versions,
        prefix: match &args.prefix {
            Some(p) => NamePrefix::parse(p)?,
            None => NamePrefix::all(),
        },
        within: None,
    };
    // A bad pattern is refused before any store is opened.
    query.matcher()?;
    let report = ctx.access.store()?.search(&query)?;
    log::trace!("search: {} hits", report.hits.len());
    let nothing = report.hits.is_empty();
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let found = Found {
        report,
        releases_only: args.files_with_matches,
        color,
    };
    ctx.out.emit(out, &found)?;
    // The process ends after this command: freeing every hit one by one would only
    // delay the exit.
    std::mem::forget(found);
    if nothing {
        return Err(Error::other("nothing matched").silent());
    }
    Ok(())
}
