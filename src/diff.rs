//! Line diffs between two contents, as git computes them (histogram, with its slider
//! heuristics, three lines of context): as values, hunk by hunk, for the registry's web
//! view, and as the unified text `pulse diff` and `pulse check` print.

use gix::diff::blob::unified_diff::{ConsumeHunk, ContextSize, DiffLineKind, HunkHeader};
use gix::diff::blob::{Algorithm, InternedInput, UnifiedDiff, diff_with_slider_heuristics};

/// What a line of a hunk is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// On both sides, around a change.
    Context,
    /// Only in the new content.
    Added,
    /// Only in the old content.
    Removed,
}

impl LineKind {
    /// The character a unified diff starts the line with: ` `, `+` or `-`.
    pub fn prefix(self) -> char {
        match self {
            LineKind::Context => ' ',
            LineKind::Added => '+',
            LineKind::Removed => '-',
        }
    }
}

/// One line of a hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Context, added or removed.
    pub kind: LineKind,
    /// Its bytes, without the newline that ends it.
    pub text: Vec<u8>,
    /// Whether a newline ends it (only a content's last line may lack one).
    pub newline: bool,
}

/// A run of changed lines with the context around them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// Its header as git writes it: `@@ -1,3 +1,4 @@`.
    pub header: String,
    /// Its lines, in order.
    pub lines: Vec<Line>,
}

/// Whether either side is binary (holds a NUL byte): such contents are not diffed line
/// by line.
pub fn is_binary(old: &[u8], new: &[u8]) -> bool {
    old.contains(&0) || new.contains(&0)
}

/// The hunks that turn `old` into `new` (none when they are the same bytes). Binary
/// contents are diffed as text: check [`is_binary`] first.
pub fn hunks(old: &[u8], new: &[u8]) -> Vec<Hunk> {
    if old == new {
        return Vec::new();
    }
    let input = InternedInput::new(old, new);
    let diff = diff_with_slider_heuristics(Algorithm::Histogram, &input);
    UnifiedDiff::new(
        &diff,
        &input,
        Collect(Vec::new()),
        ContextSize::symmetrical(3),
    )
    .consume()
    .unwrap_or_default()
}

/// A unified diff of two byte strings, with `---`/`+++` headers, as git prints it;
/// binary content (with a NUL byte) is summarised in one line, and the same bytes give
/// an empty diff.
pub fn unified(old_label: &str, old: &[u8], new_label: &str, new: &[u8]) -> Vec<u8> {
    if old == new {
        return Vec::new();
    }
    if is_binary(old, new) {
        return format!("Binary contents of {old_label} and {new_label} differ\n").into_bytes();
    }
    let mut out = format!("--- {old_label}\n+++ {new_label}\n").into_bytes();
    for hunk in hunks(old, new) {
        out.extend_from_slice(hunk.header.as_bytes());
        out.push(b'\n');
        for line in &hunk.lines {
            out.push(line.kind.prefix() as u8);
            out.extend_from_slice(&line.text);
            out.push(b'\n');
            if !line.newline {
                out.extend_from_slice(b"\\ No newline at end of file\n");
            }
        }
    }
    out
}

/// Collects hunks with their headers as git writes them.
struct Collect(Vec<Hunk>);

impl ConsumeHunk for Collect {
    type Out = Vec<Hunk>;

    fn consume_hunk(
        &mut self,
        header: HunkHeader,
        lines: &[(DiffLineKind, &[u8])],
    ) -> std::io::Result<()> {
        // As git writes it: an empty side starts at the line before it, a count of 1 is left out.
        let range = |start: u32, len: u32| match len {
            0 => format!("{},0", start.saturating_sub(1)),
            1 => start.to_string(),
            n => format!("{start},{n}"),
        };
        let header = format!(
            "@@ -{} +{} @@",
            range(header.before_hunk_start, header.before_hunk_len),
            range(header.after_hunk_start, header.after_hunk_len)
        );
        let lines = lines
            .iter()
            .map(|(kind, line)| {
                let (text, newline) = match line.strip_suffix(b"\n") {
                    Some(text) => (text, true),
                    None => (*line, false),
                };
                Line {
                    kind: match kind {
                        DiffLineKind::Context => LineKind::Context,
                        DiffLineKind::Add => LineKind::Added,
                        DiffLineKind::Remove => LineKind::Removed,
                    },
                    text: text.to_vec(),
                    newline,
                }
            })
            .collect();
        self.0.push(Hunk { header, lines });
        Ok(())
    }

    fn finish(self) -> Vec<Hunk> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_diffs_read_as_git_writes_them() {
        let old = b"a\nb\nc\n";
        let new = b"a\nB\nc\nd";
        assert_eq!(
            String::from_utf8(unified("p@1", old, "p@2", new)).unwrap(),
            "--- p@1\n+++ p@2\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n\\ No newline at end of file\n"
        );
        assert!(unified("x", old, "y", old).is_empty());
        assert_eq!(
            unified("x", b"a\0", "y", b"b"),
            b"Binary contents of x and y differ\n"
        );
        assert_eq!(
            String::from_utf8(unified("x", b"", "y", b"new\n")).unwrap(),
            "--- x\n+++ y\n@@ -0,0 +1 @@\n+new\n"
        );
    }

    #[test]
    fn hunks_say_what_each_line_is() {
        let hunks = hunks(b"keep\nold\n", b"keep\nnew\n");
        assert_eq!(hunks.len(), 1);
        assert_eq!(hunks[0].header, "@@ -1,2 +1,2 @@");
        let kinds: Vec<_> = hunks[0].lines.iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [LineKind::Context, LineKind::Removed, LineKind::Added]
        );
        assert_eq!(hunks[0].lines[2].text, b"new");
        assert!(hunks[0].lines[2].newline);
    }
}
