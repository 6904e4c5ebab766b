//! What the fuzz targets (`fuzz/`, run with `cargo +nightly fuzz`) and their seed corpus
//! (run by the ordinary tests) put every parser through: each function takes any bytes,
//! must neither panic nor run for more than a moment, and checks what a parser promises
//! about what it accepts (a name prints as it was read, a version reads back as itself).
//! An invariant that does not hold panics, which is how the fuzzer reports it.
//!
//! Not an API for programs: it exists for the fuzzer and the tests.

use std::collections::BTreeMap;

use crate::name::{Label, Name, NamePrefix};
use crate::selector::Selector;
use crate::version::Version;

/// What a fuzz target runs on its input.
pub type Check = fn(&[u8]);

/// The parsers, by the name of their fuzz target.
pub const TARGETS: &[(&str, Check)] = &[
    ("name", name),
    ("version", version),
    ("selector", selector),
    ("tag_message", tag_message),
    ("sidecar", sidecar),
    ("metadata_json", metadata_json),
    ("labels_json", labels_json),
    ("config", config),
    ("address", address),
    ("serve_path", serve_path),
    ("age_content", age_content),
    ("template", template),
    ("search", search),
    ("search_cache", search_cache),
];

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Names, name prefixes and labels.
pub fn name(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(n) = Name::parse(s) {
        assert!(
            n.as_str().len() <= 128,
            "a name longer than 128 bytes: {s:?}"
        );
        assert_eq!(Name::parse(n.as_str()).ok().as_ref(), Some(&n), "{s:?}");
        assert!(
            n.as_str()
                .split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != ".."),
            "{s:?}"
        );
        assert!(
            !n.as_str().starts_with('_') && !n.as_str().contains("/_"),
            "{s:?}"
        );
        assert!(
            crate::repo::parse_tag_name(&format!("{n}@1.0.0")).is_some(),
            "the release tag of {s:?} does not read back"
        );
    }
    if let Ok(p) = NamePrefix::parse(s) {
        let _ = p.as_str();
    }
    if let Ok(l) = Label::parse(s) {
        assert!(l.as_str().len() <= 64 && l.as_str() != "latest", "{s:?}");
        assert_eq!(Label::parse(l.as_str()).ok().as_ref(), Some(&l), "{s:?}");
    }
}

/// Versions.
pub fn version(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(v) = Version::parse(s) {
        let shown = v.to_string();
        assert_eq!(Version::parse(&shown).ok().as_ref(), Some(&v), "{s:?}");
        assert!(!shown.contains('+'), "build metadata kept: {s:?}");
    }
}

/// Selectors, and picking with them from a fixed list of versions.
pub fn selector(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(sel) = Selector::parse(s) {
        let versions: Vec<Version> = ["0.1.0", "1.0.0", "1.2.3", "1.10.0", "2.0.0-rc.1", "2.0.0"]
            .iter()
            .filter_map(|v| Version::parse(v).ok())
            .collect();
        if let Some(picked) = sel.pick(&versions) {
            assert!(versions.contains(picked));
        }
        let _ = sel.to_string();
    }
}

/// Release tag messages and their trailers.
pub fn tag_message(data: &[u8]) {
    if let Ok((message, trailers)) = crate::meta::parse_tag_message(data) {
        // What pulse writes for what it read reads back the same.
        let again = crate::meta::render_tag_message(&message, &trailers);
        let (message2, trailers2) = crate::meta::parse_tag_message(again.as_bytes())
            .unwrap_or_else(|e| panic!("a rendered tag message does not read back: {e}"));
        assert_eq!(trailers2, trailers);
        assert_eq!(message2.trim_end(), message.trim_end());
    }
}

/// Prompt sidecars (`prompts/<name>.yaml`).
pub fn sidecar(data: &[u8]) {
    let _ = crate::meta::Sidecar::parse(data, "fuzz.yaml");
}

/// A release's `metadata.json` in a directory, S3 or HTTP store.
pub fn metadata_json(data: &[u8]) {
    let _ = crate::store::layout::parse_file::<crate::store::layout::ReleaseFile>(
        data,
        crate::bounded::METADATA_JSON,
        &|| "metadata.json".to_owned(),
    );
    let _ = crate::store::layout::parse_file::<crate::store::layout::PromptIndex>(
        data,
        crate::bounded::INDEX_JSON,
        &|| "_index.json".to_owned(),
    );
}

/// A prompt's `labels.json`, read as the layout reads it.
pub fn labels_json(data: &[u8]) {
    let Ok(raw) = crate::store::layout::parse_file::<BTreeMap<String, String>>(
        data,
        crate::bounded::LABELS_JSON,
        &|| "labels.json".to_owned(),
    ) else {
        return;
    };
    for (label, version) in raw {
        let _ = Label::parse(&label);
        let _ = Version::parse(&version);
    }
}

/// The user's configuration file and the repository's settings file.
pub fn config(data: &[u8]) {
    let _ = crate::config::parse_user(data, "config.yaml");
    let _ = crate::config::RepoSettings::parse(data, ".pulse/config.yaml");
}

/// Store addresses.
pub fn address(data: &[u8]) {
    let Some(s) = text(data) else { return };
    match crate::store::Address::parse(s) {
        Ok(_) => assert!(
            !s.starts_with('-'),
            "an option-shaped address was taken: {s:?}"
        ),
        Err(e) => assert_eq!(e.kind(), crate::error::Kind::Usage, "{s:?}: {e}"),
    }
    let _ = crate::store::configured_address(Some("s3"), Some(s));
}

/// The request paths `pulse serve` reads.
pub fn serve_path(data: &[u8]) {
    let Some(s) = text(data) else { return };
    crate::serve::fuzz_path(s);
}

/// A throwaway age key, published here on purpose: the fuzzer decrypts with it, and the
/// seeds include files encrypted to it.
pub const FUZZ_AGE_KEY: &str =
    "AGE-SECRET-KEY-1D7RUM5EEZMCNQA3XFN5FHQK3Z3AUC40M2WH50JALUQ7NYLHKM8WQ75NLHL";

/// Encryption at rest: the first byte picks what the rest is. `r`: a recipients list
/// (`age_recipients`), whose keys read back as themselves; `o`: stored content opened
/// with [`FUZZ_AGE_KEY`] (a failure is an integrity failure or a key that does not fit,
/// never a panic); `s`: plaintext, which seals and opens back to itself.
pub fn age_content(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(identity) = FUZZ_AGE_KEY.parse::<age::x25519::Identity>() else {
        panic!("the fuzz key does not parse");
    };
    let keys = crate::crypt::Keys::for_identity(identity);
    match mode {
        b'r' => {
            let Some(s) = text(rest) else { return };
            if let Ok(list) = crate::crypt::parse_recipients(s, "fuzz") {
                for r in list {
                    let shown = r.to_string();
                    let again = crate::crypt::parse_recipient(&shown, "fuzz");
                    assert_eq!(again.ok().map(|r| r.to_string()), Some(shown));
                }
            }
        }
        b'o' => {
            if let Err(e) = keys.open(rest, "fuzz") {
                assert!(
                    matches!(
                        e.kind(),
                        crate::error::Kind::Integrity | crate::error::Kind::Unavailable
                    ),
                    "{e}"
                );
            }
        }
        b's' => {
            let Ok(Some(sealed)) = keys.seal(rest) else {
                panic!("sealing to the fuzz key failed");
            };
            assert!(sealed.starts_with(crate::crypt::AGE_MAGIC));
            assert_eq!(keys.open(&sealed, "fuzz").ok().as_deref(), Some(rest));
        }
        _ => {}
    }
}

/// A prompt read as a template: its frontmatter's declaration, its body, a render, and a
/// vars file. What is declared is valid; the start of a content declares what the whole
/// does (a release reads only the start); a render that is given every required variable
/// and uses only declared ones fails only as a usage error.
pub fn template(data: &[u8]) {
    use crate::template::{
        Template, breaking_changes, declarations, declares_validly, is_variable_name,
        vars_from_document,
    };
    let declared = declarations(data);
    if let Ok(Some(vars)) = &declared {
        for (i, v) in vars.iter().enumerate() {
            assert!(is_variable_name(&v.name), "{:?}", v.name);
            assert!(!(v.required && v.default.is_some()), "{:?}", v.name);
            assert!(vars[..i].iter().all(|w| w.name != v.name), "{:?}", v.name);
        }
        assert!(breaking_changes(vars, vars).is_empty());
    }
    let head = &data[..data.len().min(crate::bounded::FRONTMATTER.max_bytes)];
    assert_eq!(
        format!(
            "{:?}",
            declarations(head).map_err(|e| e.message().to_owned())
        ),
        format!("{:?}", declared.map_err(|e| e.message().to_owned())),
        "the start of the content reads differently from the whole"
    );
    let _ = declares_validly(data);
    let _ = vars_from_document(data, "fuzz.yaml");
    let Ok(t) = Template::parse(data) else { return };
    for name in t.variables_used() {
        let _ = t.used_at(name);
    }
    for v in t.variables() {
        let _ = t.declared_at(&v.name);
    }
    let given: BTreeMap<String, String> = t
        .variables()
        .iter()
        .filter(|v| v.required)
        .map(|v| (v.name.clone(), "x".to_owned()))
        .collect();
    if let Err(e) = t.render(&given) {
        assert_eq!(e.kind(), crate::Kind::Usage, "{}", e.message());
    }
    let mut extra = given;
    extra.insert("not_declared_by_anyone".to_owned(), String::new());
    if !t
        .variables()
        .iter()
        .any(|v| v.name == "not_declared_by_anyone")
    {
        assert!(
            t.render(&extra).is_err(),
            "an undeclared variable was taken"
        );
    }
}

/// Search patterns and the lines they find. The input is a pattern (up to the first NUL;
/// a leading `R` makes it a regular expression, a leading `I` folds case, in that order),
/// then the text. Every line reported is a whole line of the text, numbered as it is
/// there, in order, each match inside it; a case-sensitive literal finds exactly the
/// lines that hold it.
pub fn search(data: &[u8]) {
    use crate::search::Query;
    let (head, body) = match memchr::memchr(0, data) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let Some(mut pattern) = text(head) else {
        return;
    };
    let regex = pattern.starts_with('R');
    if regex {
        pattern = &pattern[1..];
    }
    let ignore_case = pattern.starts_with('I');
    if ignore_case {
        pattern = &pattern[1..];
    }
    let mut query = Query::new(pattern);
    query.regex = regex;
    query.ignore_case = ignore_case;
    let Ok(matcher) = query.matcher() else { return };
    let found = matcher.lines(body, usize::MAX);
    let mut last = 0;
    for m in &found {
        assert!(m.number > last, "line {} after {last}", m.number);
        last = m.number;
        assert!(m.span.start <= m.span.end && m.span.end <= body.len());
        assert!(m.span.start == 0 || body[m.span.start - 1] == b'\n');
        let line = &body[m.span.clone()];
        assert!(memchr::memchr(b'\n', line).is_none());
        let newlines = memchr::memchr_iter(b'\n', &body[..m.span.start]).count();
        assert_eq!(m.number, newlines as u64 + 1);
        for [start, end] in &m.ranges {
            assert!(
                start < end && *end <= line.len(),
                "{start}..{end} in {}",
                line.len()
            );
            if !regex && !ignore_case {
                assert_eq!(&line[*start..*end], pattern.as_bytes());
            }
        }
    }
    if !regex && !ignore_case {
        let holding = body
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| l.windows(pattern.len()).any(|w| w == pattern.as_bytes()))
            .count();
        assert_eq!(found.len(), holding, "lines holding {pattern:?}");
    }
    let (Ok(name), Ok(version)) = (Name::parse("fuzz/p"), Version::parse("1.0.0")) else {
        return;
    };
    let mut hits = Vec::new();
    matcher.content_hits(&name, &version, body, &mut hits);
    assert!(hits.len() <= found.len().max(1));
}

/// The git repository's search cache file (`pulse-search.cache`), as any bytes: opening
/// it never fails loudly, and writing it anew with one more release keeps what it held
/// and gives that release back.
pub fn search_cache(data: &[u8]) {
    use crate::repo::search_cache::{FILE, Record, SearchCache};
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join(FILE), data).is_err() {
        return;
    }
    let cache = SearchCache::open(dir.path());
    let held = cache.len();
    let tag = gix::ObjectId::from_bytes_or_panic(&[0xab; 20]);
    let mut buf = Vec::new();
    let _ = cache.get(&tag, "fuzz/p@1.0.0", &mut buf);
    let content = data.iter().rev().take(1024).copied().collect::<Vec<u8>>();
    let record = Record {
        tag,
        spec: "fuzz/p@1.0.0".to_owned(),
        sha256: crate::digest::Digest::of(&content),
        content: content.clone(),
    };
    let was_there = cache.holds(&tag);
    cache.write(dir.path(), |_| true, std::slice::from_ref(&record));
    let again = SearchCache::open(dir.path());
    assert_eq!(again.len(), held + usize::from(!was_there));
    assert_eq!(
        again.get(&tag, "fuzz/p@1.0.0", &mut buf),
        Some(&content[..]),
        "the release just written"
    );
    assert_eq!(again.get(&tag, "fuzz/q@1.0.0", &mut buf), None);
}
