//! Searching released prompts: a [`Query`] (a literal or a regular expression, case
//! folding, and filters by keywords, label, name prefix and which releases), the
//! [`Matcher`] it compiles to, and the typed results every store answers with.
//!
//! Every store searches the same way: [`search_store`] reads releases through the
//! [`Store`] interface, checked against their checksums, and a store that can read
//! faster (the git repository reads its objects directly, a registry searches on the
//! server) overrides [`Store::search`] with the same selection ([`Plan`]), the same
//! matching ([`Matcher`]) and the same order ([`SearchReport::new`]), so one query gives
//! one answer whatever the store.
//!
//! Patterns are the `regex` crate's: matched in time linear in the input whatever the
//! pattern, and refused when their compiled form would be too large, so no pattern can
//! make a search hang.

use std::collections::BTreeMap;
use std::ops::Range;

use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Kind, Result};
use crate::meta::PromptMeta;
use crate::name::{Label, Name, NamePrefix};
use crate::store::{Store, StoreExt};
use crate::version::{Version, latest};

/// The longest pattern taken, in bytes: a query is typed by a person or a script, and a
/// registry bounds what a request may make it do.
pub const MAX_PATTERN_BYTES: usize = 4096;

/// The most memory a compiled pattern may take (its program), and its lazy DFA's cache:
/// a pattern that needs more (`a{1000}{1000}`) is refused, never built.
const COMPILED_LIMIT: usize = 8 << 20;

/// How much of a release's content is looked at for a NUL byte to call it binary, as
/// git and grep do.
pub const BINARY_PROBE: usize = 8000;

/// What to search for, and in which releases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The pattern: a literal, or with `regex` a regular expression.
    pub pattern: String,
    /// Whether `pattern` is a regular expression (the `regex` crate's syntax).
    pub regex: bool,
    /// Match without regard to case (Unicode case folding).
    pub ignore_case: bool,
    /// Only prompts that have every one of these keywords.
    pub tags: Vec<String>,
    /// Search the release this label points to (prompts without it are passed over),
    /// instead of the latest.
    pub label: Option<Label>,
    /// Search every release, not only the latest.
    pub all_versions: bool,
    /// Only prompts under this prefix (whole segments).
    pub prefix: NamePrefix,
    /// Only prompts under one of these prefixes as well (a registry token's), if set.
    pub within: Option<Vec<NamePrefix>>,
}

impl Query {
    /// A literal search of the latest release of every prompt.
    pub fn new(pattern: impl Into<String>) -> Query {
        Query {
            pattern: pattern.into(),
            regex: false,
            ignore_case: false,
            tags: Vec::new(),
            label: None,
            all_versions: false,
            prefix: NamePrefix::all(),
            within: None,
        }
    }

    /// Whether the query looks at prompt `name` at all (its prefix and `within`).
    pub fn covers(&self, name: &Name) -> bool {
        name.is_under(&self.prefix)
            && self
                .within
                .as_ref()
                .is_none_or(|w| w.iter().any(|p| name.is_under(p)))
    }

    /// Whether a prompt with `meta` passes the keyword filter.
    pub fn keeps(&self, meta: &PromptMeta) -> bool {
        self.tags.iter().all(|t| meta.tags.contains(t))
    }

    /// Compile the pattern: a usage error (exit 2) for an empty, too long, malformed or
    /// too large pattern, or filters that cannot go together.
    pub fn matcher(&self) -> Result<Matcher> {
        if self.label.is_some() && self.all_versions {
            return Err(Error::usage(
                "a search looks at one labelled release or at every release, not both",
            )
            .with_hint("drop the label, or drop 'all versions'"));
        }
        if self.pattern.is_empty() {
            return Err(Error::usage("the search pattern is empty")
                .with_hint("an empty pattern would match every line; give some text to find"));
        }
        if self.pattern.len() > MAX_PATTERN_BYTES {
            return Err(Error::usage(format!(
                "the search pattern is {} bytes, more than the {MAX_PATTERN_BYTES} taken",
                self.pattern.len()
            )));
        }
        let source = if self.regex {
            self.pattern.clone()
        } else {
            regex::escape(&self.pattern)
        };
        let re = RegexBuilder::new(&source)
            .case_insensitive(self.ignore_case)
            .multi_line(true)
            .crlf(true)
            .size_limit(COMPILED_LIMIT)
            .dfa_size_limit(COMPILED_LIMIT)
            .build()
            .map_err(|e| pattern_error(&self.pattern, e))?;
        Ok(Matcher { re })
    }
}

fn pattern_error(pattern: &str, e: regex::Error) -> Error {
    let shown = crate::name::printable(pattern);
    match e {
        regex::Error::CompiledTooBig(limit) => Error::usage(format!(
            "the pattern '{shown}' is too large once compiled (more than {} MiB)",
            limit >> 20
        ))
        .with_hint("use fewer or smaller repetitions ('{n}') and alternatives"),
        other => Error::usage(format!(
            "'{shown}' is not a valid regular expression: {}",
            other
                .to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .trim_start_matches("error: ")
        ))
        .with_hint("without the regular expression option the pattern is found as it is written"),
    }
}

/// A compiled pattern, matched line by line.
#[derive(Debug, Clone)]
pub struct Matcher {
    re: Regex,
}

/// One matching line of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineMatch {
    /// Its number, from 1.
    pub number: u64,
    /// Where it is in the text, without its line ending (`\n`, or `\r\n`).
    pub span: Range<usize>,
    /// Where the pattern matched in it, as byte offsets into the line (empty matches
    /// are not listed: a pattern that matches only the empty string matches the line).
    pub ranges: Vec<[usize; 2]>,
}

impl Matcher {
    /// The lines of `text` the pattern matches, each searched alone (so `^` and `$` are
    /// its start and end), at most `limit` of them.
    pub fn lines(&self, text: &[u8], limit: usize) -> Vec<LineMatch> {
        let mut out = Vec::new();
        let (mut pos, mut counted, mut number) = (0, 0, 1u64);
        // The whole text is searched for the next match, so text with none is passed over
        // at the speed of the pattern's prefilter; each line it lands in is checked alone.
        while pos < text.len() && out.len() < limit {
            let Some(m) = self.re.find_at(text, pos) else {
                break;
            };
            let start = memchr::memrchr(b'\n', &text[pos..m.start()]).map_or(pos, |i| pos + i + 1);
            let end =
                memchr::memchr(b'\n', &text[m.start()..]).map_or(text.len(), |i| m.start() + i);
            number += memchr::memchr_iter(b'\n', &text[counted..start]).count() as u64;
            counted = start;
            let mut stop = end;
            if stop > start && text[stop - 1] == b'\r' {
                stop -= 1;
            }
            if let Some(ranges) = self.in_line(&text[start..stop]) {
                out.push(LineMatch {
                    number,
                    span: start..stop,
                    ranges,
                });
            }
            pos = end + 1;
        }
        out
    }

    /// Where the pattern matches in `line` taken alone, or `None` if it does not.
    fn in_line(&self, line: &[u8]) -> Option<Vec<[usize; 2]>> {
        let ranges: Vec<[usize; 2]> = self
            .re
            .find_iter(line)
            .filter(|m| !m.is_empty())
            .map(|m| [m.start(), m.end()])
            .collect();
        (!ranges.is_empty() || self.re.is_match(line)).then_some(ranges)
    }

    /// The hits in one release's content: its matching lines, or one hit without a line
    /// for content that looks binary (a NUL byte in its first [`BINARY_PROBE`] bytes).
    pub fn content_hits(&self, name: &Name, version: &Version, content: &[u8], out: &mut Vec<Hit>) {
        let probe = &content[..content.len().min(BINARY_PROBE)];
        if memchr::memchr(0, probe).is_some() {
            if !self.lines(content, 1).is_empty() {
                out.push(Hit {
                    name: name.clone(),
                    version: version.clone(),
                    field: Field::Content,
                    line: None,
                    text: None,
                    bytes: None,
                    ranges: Vec::new(),
                    binary: true,
                });
            }
            return;
        }
        for m in self.lines(content, usize::MAX) {
            out.push(Hit::line(
                name,
                version,
                Field::Content,
                Some(m.number),
                &content[m.span],
                m.ranges,
            ));
        }
    }

    /// The hits in a prompt's name, description and keywords, reported against the
    /// release `version`.
    pub fn meta_hits(&self, name: &Name, version: &Version, meta: &PromptMeta, out: &mut Vec<Hit>) {
        if let Some(ranges) = self.in_line(name.as_str().as_bytes()) {
            out.push(Hit::line(
                name,
                version,
                Field::Name,
                None,
                name.as_str().as_bytes(),
                ranges,
            ));
        }
        if let Some(description) = &meta.description {
            let text = description.as_bytes();
            for m in self.lines(text, usize::MAX) {
                out.push(Hit::line(
                    name,
                    version,
                    Field::Description,
                    Some(m.number),
                    &text[m.span],
                    m.ranges,
                ));
            }
        }
        for (i, keyword) in meta.tags.iter().enumerate() {
            if let Some(ranges) = self.in_line(keyword.as_bytes()) {
                out.push(Hit::line(
                    name,
                    version,
                    Field::Keywords,
                    Some(i as u64 + 1),
                    keyword.as_bytes(),
                    ranges,
                ));
            }
        }
    }
}

/// Where a hit was found.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The prompt's name.
    Name,
    /// The prompt's description (`line` is the line of the description).
    Description,
    /// One of the prompt's keywords (`line` is its place in the list, from 1).
    Keywords,
    /// The release's content (`line` is the line of the content).
    Content,
}

impl Field {
    /// The word text output shows in place of a line number for metadata.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Description => "description",
            Field::Keywords => "keywords",
            Field::Content => "content",
        }
    }
}

/// One match: a line of a release's content, or of the prompt's name, description or
/// keywords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hit {
    /// The prompt.
    pub name: Name,
    /// The release.
    pub version: Version,
    /// Where the match is.
    pub field: Field,
    /// The line number, from 1 (for keywords: the keyword's place); `None` for the name and
    /// for binary content.
    #[schema(required = true)]
    pub line: Option<u64>,
    /// The line, without its line ending; bytes that are not UTF-8 are shown as U+FFFD.
    /// `None` for binary content, which is not shown.
    #[schema(required = true)]
    pub text: Option<String>,
    /// The line's exact bytes, only when they are not UTF-8 (`text` then shows them
    /// with U+FFFD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
    /// Where the pattern matched in the line: `[start, end)` byte offsets into its bytes.
    pub ranges: Vec<[usize; 2]>,
    /// Whether the content looks binary (a NUL byte near its start): it matched, and is
    /// not shown.
    pub binary: bool,
}

impl Hit {
    fn line(
        name: &Name,
        version: &Version,
        field: Field,
        line: Option<u64>,
        bytes: &[u8],
        ranges: Vec<[usize; 2]>,
    ) -> Hit {
        let (text, exact) = match std::str::from_utf8(bytes) {
            Ok(text) => (text.to_owned(), None),
            Err(_) => (
                String::from_utf8_lossy(bytes).into_owned(),
                Some(bytes.to_vec()),
            ),
        };
        Hit {
            name: name.clone(),
            version: version.clone(),
            field,
            line,
            text: Some(text),
            bytes: exact,
            ranges,
            binary: false,
        }
    }

    /// The line's bytes as they are in the release (or metadata).
    pub fn line_bytes(&self) -> &[u8] {
        match (&self.bytes, &self.text) {
            (Some(bytes), _) => bytes,
            (None, Some(text)) => text.as_bytes(),
            (None, None) => &[],
        }
    }

    fn order(&self) -> (&Name, &Version, Field, Option<u64>) {
        (&self.name, &self.version, self.field, self.line)
    }
}

/// What a search found: every hit, in one order whatever the store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SearchReport {
    /// How many releases were searched.
    pub searched: u64,
    /// How many of them matched (in their content or their prompt's metadata).
    pub matched: u64,
    /// The hits, sorted by name, version, field (name, description, keywords, content)
    /// and line.
    pub hits: Vec<Hit>,
}

impl SearchReport {
    /// The report of `hits` found in `searched` releases, put in order.
    pub fn new(searched: u64, mut hits: Vec<Hit>) -> SearchReport {
        hits.sort_by(|a, b| a.order().cmp(&b.order()));
        let mut matched = 0;
        let mut last: Option<(&Name, &Version)> = None;
        for h in &hits {
            if last != Some((&h.name, &h.version)) {
                matched += 1;
                last = Some((&h.name, &h.version));
            }
        }
        SearchReport {
            searched,
            matched,
            hits,
        }
    }
}

impl SearchReport {
    /// The report of parts searched apart (each: how many releases, and their hits).
    pub fn from_parts(parts: impl IntoIterator<Item = (u64, Vec<Hit>)>) -> SearchReport {
        let mut searched = 0;
        let mut hits = Vec::new();
        for (n, part) in parts {
            searched += n;
            hits.extend(part);
        }
        SearchReport::new(searched, hits)
    }
}

/// Which releases of one prompt a query searches, and which of them carries the
/// prompt's own matches (name, description, keywords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The releases whose content is searched.
    pub versions: Vec<Version>,
    /// The release the prompt's metadata matches are reported against.
    pub meta_version: Version,
}

impl Plan {
    /// What `query` searches of a prompt with `versions` (any order) and, when the query
    /// names a label, `labels`. `None`: nothing (no releases, no such label, or a label
    /// pointing to a release that is not there).
    pub fn new(
        query: &Query,
        versions: &[Version],
        labels: Option<&BTreeMap<Label, Version>>,
    ) -> Option<Plan> {
        if let Some(label) = &query.label {
            let target = labels?.get(label)?;
            return versions.contains(target).then(|| Plan {
                versions: vec![target.clone()],
                meta_version: target.clone(),
            });
        }
        let newest = latest(versions)?.clone();
        Some(if query.all_versions {
            let mut all = versions.to_vec();
            all.sort();
            Plan {
                versions: all,
                meta_version: newest,
            }
        } else {
            Plan {
                versions: vec![newest.clone()],
                meta_version: newest,
            }
        })
    }
}

/// How many prompts (or releases) a store is asked about at once when it says nothing
/// of its own: its usual number of requests in flight, and never fewer than the cores.
pub fn jobs_for(store: &(impl Store + ?Sized)) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    store.parallel_writes().max(cores.min(8))
}

/// Search `store` through its interface: each prompt under the query's prefix, its
/// versions, metadata and labels, then each release chosen, read and checked against
/// its checksum. Every store can answer this way; a faster one gives the same answer.
pub fn search_store(store: &(impl Store + ?Sized), query: &Query) -> Result<SearchReport> {
    let matcher = query.matcher()?;
    let names: Vec<Name> = store
        .list(&query.prefix)?
        .into_iter()
        .filter(|n| query.covers(n))
        .collect();
    let parts = crate::parallel::try_map(names.len(), jobs_for(store), |i| {
        let name = &names[i];
        let mut hits = Vec::new();
        let versions = store.versions(name)?;
        let meta = match store.prompt_metadata(name) {
            Ok(meta) => meta,
            Err(e) if e.kind() == Kind::NotFound => PromptMeta::default(),
            Err(e) => return Err(e),
        };
        if !query.keeps(&meta) {
            return Ok((0, hits));
        }
        let labels = match query.label {
            Some(_) => Some(store.labels(name)?),
            None => None,
        };
        let Some(plan) = Plan::new(query, &versions, labels.as_ref()) else {
            return Ok((0, hits));
        };
        for version in &plan.versions {
            let content = store.fetch(name, version)?;
            matcher.content_hits(name, version, &content, &mut hits);
        }
        matcher.meta_hits(name, &plan.meta_version, &meta, &mut hits);
        Ok((plan.versions.len() as u64, hits))
    })?;
    Ok(SearchReport::from_parts(parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(q: &Query, text: &[u8]) -> Vec<(u64, String, Vec<[usize; 2]>)> {
        q.matcher()
            .unwrap()
            .lines(text, usize::MAX)
            .into_iter()
            .map(|m| {
                (
                    m.number,
                    String::from_utf8_lossy(&text[m.span]).into_owned(),
                    m.ranges,
                )
            })
            .collect()
    }

    #[test]
    fn literals_are_found_line_by_line_with_their_places() {
        let q = Query::new("a.b");
        let found = lines(&q, b"xa.b a.b\nnothing\r\naxb\n\na.b\r\n");
        assert_eq!(
            found,
            vec![
                (1, "xa.b a.b".to_owned(), vec![[1, 4], [5, 8]]),
                (5, "a.b".to_owned(), vec![[0, 3]]),
            ]
        );
        assert!(lines(&q, b"").is_empty());
    }

    #[test]
    fn regular_expressions_see_one_line_at_a_time() {
        let mut q = Query::new(r"^refund\s+\w+$");
        q.regex = true;
        q.ignore_case = true;
        let found = lines(&q, b"Refund\npolicy\nREFUND  policy\r\nno refund policy\n");
        assert_eq!(found, vec![(3, "REFUND  policy".to_owned(), vec![[0, 14]])]);
        // A match that would span lines is no match.
        let mut q = Query::new(r"a\nb");
        q.regex = true;
        assert!(lines(&q, b"a\nb\n").is_empty());
        // A pattern that matches only the empty string matches every line.
        let mut q = Query::new(r"x*");
        q.regex = true;
        assert_eq!(lines(&q, b"a\nb").len(), 2);
    }

    #[test]
    fn bad_and_huge_patterns_are_usage_errors() {
        for (pattern, regex) in [
            ("(", true),
            ("a{100000}{100000}", true),
            ("", false),
            (&*"x".repeat(MAX_PATTERN_BYTES + 1), false),
        ] {
            let mut q = Query::new(pattern);
            q.regex = regex;
            let e = q.matcher().unwrap_err();
            assert_eq!(e.kind(), Kind::Usage, "{pattern}: {}", e.message());
        }
        // Without --regex, a pattern is a literal.
        assert!(Query::new("(").matcher().is_ok());
        let mut both = Query::new("x");
        both.all_versions = true;
        both.label = Some(Label::parse("production").unwrap());
        assert_eq!(both.matcher().unwrap_err().kind(), Kind::Usage);
    }

    #[test]
    fn a_pathological_pattern_takes_linear_time() {
        let mut q = Query::new("(a*)*b");
        q.regex = true;
        let text = vec![b'a'; 1 << 20];
        let started = std::time::Instant::now();
        assert!(lines(&q, &text).is_empty());
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn binary_content_is_one_hit_without_its_line() {
        let m = Query::new("secret").matcher().unwrap();
        let (name, version) = (Name::parse("p").unwrap(), Version::parse("1.0.0").unwrap());
        let mut hits = Vec::new();
        m.content_hits(&name, &version, b"\0\x01secret\n", &mut hits);
        assert_eq!(hits.len(), 1);
        assert!(hits[0].binary && hits[0].text.is_none() && hits[0].line.is_none());
        hits.clear();
        m.content_hits(&name, &version, b"\xff secret \xfe\n", &mut hits);
        assert_eq!(hits[0].bytes.as_deref(), Some(&b"\xff secret \xfe"[..]));
        assert_eq!(hits[0].text.as_deref(), Some("\u{fffd} secret \u{fffd}"));
        assert_eq!(hits[0].ranges, vec![[2, 8]]);
    }

    #[test]
    fn plans_pick_latest_label_or_everything() {
        let v = |s: &str| Version::parse(s).unwrap();
        let versions = vec![v("1.0.0"), v("2.0.0-rc.1"), v("1.1.0")];
        let q = Query::new("x");
        let plan = Plan::new(&q, &versions, None).unwrap();
        assert_eq!(plan.versions, vec![v("1.1.0")]);
        let mut all = q.clone();
        all.all_versions = true;
        let plan = Plan::new(&all, &versions, None).unwrap();
        assert_eq!(plan.versions, vec![v("1.0.0"), v("1.1.0"), v("2.0.0-rc.1")]);
        assert_eq!(plan.meta_version, v("1.1.0"));
        let mut labelled = q.clone();
        labelled.label = Some(Label::parse("production").unwrap());
        let mut labels = BTreeMap::new();
        assert!(Plan::new(&labelled, &versions, Some(&labels)).is_none());
        labels.insert(Label::parse("production").unwrap(), v("1.0.0"));
        let plan = Plan::new(&labelled, &versions, Some(&labels)).unwrap();
        assert_eq!(plan.versions, vec![v("1.0.0")]);
        assert!(Plan::new(&q, &[], None).is_none());
    }
}
