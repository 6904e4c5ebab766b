//! Property tests for every parser: names, versions, selectors, tag messages, sidecars,
//! configuration and time stamps. Arbitrary input never panics; valid input round-trips.

use proptest::prelude::*;
use pulse::meta::{Sidecar, Trailers, parse_tag_message, render_tag_message};
use pulse::{Label, Name, Selector, Version};

fn segment() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,6}([._-][a-z0-9]{1,6}){0,3}"
        .prop_filter("no .lock", |s| !s.ends_with(".lock"))
        .prop_filter("not a version", |s| {
            semver::Version::parse(s.strip_prefix('v').unwrap_or(s)).is_err()
        })
}

fn valid_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(segment(), 1..4).prop_map(|v| v.join("/"))
}

fn version() -> impl Strategy<Value = String> {
    (
        0u64..30,
        0u64..30,
        0u64..30,
        proptest::option::of("(alpha|beta|rc)(\\.(0|[1-9][0-9]?))?"),
    )
        .prop_map(|(a, b, c, pre)| match pre {
            Some(p) => format!("{a}.{b}.{c}-{p}"),
            None => format!("{a}.{b}.{c}"),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn valid_names_are_accepted_and_round_trip(name in valid_name()) {
        let parsed = Name::parse(&name).unwrap();
        prop_assert_eq!(parsed.as_str(), name.as_str());
        prop_assert_eq!(pulse::repo::paths::content_path(&parsed), format!("prompts/{name}.md"));
    }

    #[test]
    fn any_accepted_name_obeys_the_rules(input in "\\PC{0,40}|[a-zA-Z0-9./_@ -]{0,40}") {
        if let Ok(name) = Name::parse(&input) {
            let s = name.as_str();
            prop_assert!(s.len() <= 128);
            prop_assert!(!s.is_empty());
            prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b)));
            prop_assert!(!s.contains("..") && !s.contains("//") && !s.starts_with('/') && !s.ends_with('/'));
            for seg in s.split('/') {
                prop_assert!(seg != "." && seg != ".." && !seg.ends_with(".lock"));
                prop_assert!(seg.as_bytes()[0].is_ascii_alphanumeric());
            }
        }
    }

    #[test]
    fn labels_never_panic(input in "\\PC{0,70}") {
        if let Ok(l) = Label::parse(&input) {
            prop_assert!(l.as_str() != "latest" && l.as_str().len() <= 64);
        }
    }

    #[test]
    fn versions_round_trip_and_order_by_semver(a in version(), b in version()) {
        let (va, vb) = (Version::parse(&a).unwrap(), Version::parse(&b).unwrap());
        prop_assert_eq!(va.to_string(), a.clone());
        prop_assert_eq!(Version::parse(&format!("v{a}")).unwrap(), va.clone());
        let sa = semver::Version::parse(&a).unwrap();
        let sb = semver::Version::parse(&b).unwrap();
        prop_assert_eq!(va.cmp(&vb), sa.cmp(&sb));
        prop_assert_eq!(Selector::parse(&a).unwrap(), Selector::Exact(va));
    }

    #[test]
    fn arbitrary_versions_and_selectors_never_panic(input in "\\PC{0,30}|[0-9v.^~*<>=, a-z+-]{0,30}") {
        let _ = Version::parse(&input);
        if let Ok(sel) = Selector::parse(&input) {
            // A selector prints back to something that parses to the same selector.
            prop_assert_eq!(Selector::parse(&sel.to_string()).unwrap(), sel);
        }
    }

    #[test]
    fn tag_messages_round_trip(message in "[^\\x00]{0,200}", name in valid_name(), v in version(), size in 0u64..1_000_000, sha in "[0-9a-f]{64}") {
        let t = Trailers { name: Name::parse(&name).unwrap(), version: Version::parse(&v).unwrap(), path: format!("prompts/{name}.md"), blob: (size % 2 == 0).then(|| sha[..40].to_owned()), size, sha256: pulse::Digest::from_hex(&sha).unwrap(), format: 1 };
        let rendered = render_tag_message(&message, &t);
        let (back_message, back) = parse_tag_message(rendered.as_bytes()).unwrap();
        prop_assert_eq!(back, t);
        prop_assert_eq!(back_message, message.trim_end().to_owned());
    }

    #[test]
    fn arbitrary_tag_messages_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_tag_message(&raw);
    }

    #[test]
    fn sidecars_and_settings_never_panic(text in "\\PC{0,200}|([a-z_]{1,12}: [^\\n]{0,20}\\n){0,6}") {
        let _ = Sidecar::parse(text.as_bytes(), "p.yaml");
        let _ = pulse::config::RepoSettings::parse(text.as_bytes(), "config.yaml");
        let _ = pulse::config::expand_vars(&text, "k");
        let _ = pulse::config::parse_time(&text);
    }

    #[test]
    fn sidecars_round_trip(desc in proptest::option::of("\\PC{0,40}"), tags in proptest::collection::vec("[a-z]{1,8}", 0..4), labels in proptest::collection::btree_map("[a-z][a-z0-9-]{0,10}", version(), 0..4)) {
        let s = Sidecar { description: desc, tags, labels };
        prop_assert_eq!(Sidecar::parse(s.to_yaml().as_bytes(), "p.yaml").unwrap(), s);
    }
}

/// A YAML value to render in one of several styles; the `u8`s pick the style.
#[derive(Debug, Clone)]
enum Node {
    Scalar(u8),
    Seq(Vec<Node>, u8),
    Map(Vec<(Node, Node)>, u8),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = any::<u8>().prop_map(Node::Scalar);
    leaf.prop_recursive(12, 96, 4, |inner| {
        prop_oneof![
            (proptest::collection::vec(inner.clone(), 0..4), any::<u8>())
                .prop_map(|(items, style)| Node::Seq(items, style)),
            (
                proptest::collection::vec((inner.clone(), inner), 0..4),
                any::<u8>()
            )
                .prop_map(|(entries, style)| Node::Map(entries, style)),
        ]
    })
}

/// A scalar that is safe anywhere, some with brackets that are only text.
fn flow_scalar(kind: u8, n: usize) -> String {
    match kind % 6 {
        0 => format!("w{n}"),
        1 => format!("'[{{s{n}'"),
        2 => format!("\"]}}[\\\"{n}\""),
        3 => format!("&a{n} v{n}"),
        4 => format!("!t{n} x"),
        _ => format!("'it''s [{n}'"),
    }
}

fn flow(node: &Node, n: &mut usize) -> String {
    *n += 1;
    match node {
        Node::Scalar(k) => flow_scalar(*k, *n),
        Node::Seq(items, style) => {
            let parts: Vec<String> = items.iter().map(|i| flow(i, n)).collect();
            let sep = if style % 3 == 0 { ",\n  " } else { ", " };
            format!("[{}]", parts.join(sep))
        }
        Node::Map(entries, style) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Node::Scalar(kind) => flow_scalar(*kind, *n),
                        other => format!("? {}", flow(other, n)),
                    };
                    format!("{key}: {}", flow(v, n))
                })
                .collect();
            // A map with one entry may also be written as a pair inside a sequence.
            if style % 4 == 0 && parts.len() == 1 {
                format!("[{}]", parts[0])
            } else {
                format!("{{{}}}", parts.join(", "))
            }
        }
    }
}

/// The lines of a block collection whose entries start at column `indent`.
fn block(node: &Node, indent: usize, n: &mut usize) -> Vec<String> {
    *n += 1;
    let pad = " ".repeat(indent);
    let mut lines = Vec::new();
    match node {
        Node::Scalar(k) => lines.push(format!("{pad}{}", flow_scalar(*k, *n))),
        Node::Seq(items, _) if items.is_empty() => lines.push(format!("{pad}[]")),
        Node::Map(entries, _) if entries.is_empty() => lines.push(format!("{pad}{{}}")),
        Node::Seq(items, style) => {
            for item in items {
                match item {
                    Node::Scalar(k) if k % 5 == 0 => {
                        lines.push(format!("{pad}- |"));
                        lines.push(format!("{pad}  text [[ {{{{ - a: b"));
                        lines.push(format!("{pad}   \"more ]] *x"));
                    }
                    Node::Scalar(k) => lines.push(format!("{pad}- {}", flow_scalar(*k, *n))),
                    _ if style % 3 == 0 => lines.push(format!("{pad}- {}", flow(item, n))),
                    _ => {
                        let inner = block(item, indent + 2, n);
                        if style % 3 == 1 {
                            // Compact: the first entry shares the line of the `- `.
                            let first = inner[0][indent + 2..].to_owned();
                            lines.push(format!("{pad}- {first}"));
                            lines.extend(inner.into_iter().skip(1));
                        } else {
                            lines.push(format!("{pad}-"));
                            lines.extend(inner);
                        }
                    }
                }
                if style % 7 == 0 {
                    lines.push(format!("{pad}# [[ {{ a comment"));
                }
            }
        }
        Node::Map(entries, style) => {
            for (k, v) in entries {
                let key = match k {
                    Node::Scalar(kind) => flow_scalar(*kind, *n),
                    other => flow(other, n),
                };
                let step = 1 + usize::from(style % 4);
                if style % 5 == 4 {
                    lines.push(format!("{pad}? {key}"));
                    lines.push(format!("{pad}:"));
                    lines.extend(block(v, indent + step, n));
                    continue;
                }
                match v {
                    Node::Scalar(kind) if kind % 5 == 0 => {
                        lines.push(format!("{pad}{key}: >- # [["));
                        lines.push(format!("{pad}{}[[ text {{ - x: y", " ".repeat(step)));
                    }
                    Node::Scalar(kind) => {
                        lines.push(format!("{pad}{key}: {} # ]]", flow_scalar(*kind, *n)))
                    }
                    Node::Seq(items, s) if !items.is_empty() && s % 2 == 0 => {
                        // A sequence at its mapping's own indentation.
                        lines.push(format!("{pad}{key}:"));
                        lines.extend(block(v, indent, n));
                    }
                    _ if style % 3 == 0 => lines.push(format!("{pad}{key}: {}", flow(v, n))),
                    _ => {
                        lines.push(format!("{pad}{key}:"));
                        lines.extend(block(v, indent + step, n));
                    }
                }
            }
        }
    }
    lines
}

/// The deepest nesting of collections in a parsed YAML value.
fn yaml_depth(v: &serde_yaml_ng::Value) -> usize {
    use serde_yaml_ng::Value;
    match v {
        Value::Sequence(s) => 1 + s.iter().map(yaml_depth).max().unwrap_or(0),
        Value::Mapping(m) => {
            1 + m
                .iter()
                .map(|(k, v)| yaml_depth(k).max(yaml_depth(v)))
                .max()
                .unwrap_or(0)
        }
        Value::Tagged(t) => yaml_depth(&t.value),
        _ => 0,
    }
}

/// The deepest nesting in every document of `text` that parses, up to the first error.
fn parsed_yaml_depth(text: &str) -> usize {
    use serde::Deserialize;
    let mut depth = 0;
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        match serde_yaml_ng::Value::deserialize(document) {
            Ok(v) => depth = depth.max(yaml_depth(&v)),
            Err(_) => break,
        }
    }
    depth
}

fn json_value_depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(json_value_depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(json_value_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        "[\\[\\]{}\"\\\\a-z ]{0,8}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(10, 64, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map("[\\[\\]{}\"a-z]{0,4}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Fragments that, strung together at random, make YAML of every shape, valid or not.
const YAML_BITS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ",",
    ": ",
    ":",
    "- ",
    "-",
    "? ",
    "?",
    "\n",
    "\n",
    "  ",
    " ",
    "a",
    "b1",
    "'",
    "\"",
    "''",
    "\\\"",
    "# ",
    "|",
    ">",
    "|-\n",
    "&x ",
    "*x",
    "!t ",
    "!<a,[b]> ",
    "\t",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\r\n",
    "k: ",
    "- k: ",
    "x\n",
    "  - ",
    "\u{85}",
    "\u{feff}",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn yaml_prescan_never_underestimates_block_and_flow_nesting(tree in node()) {
        let mut n = 0;
        for text in [block(&tree, 0, &mut n).join("\n") + "\n", flow(&tree, &mut n)] {
            let parsed = parsed_yaml_depth(&text);
            let scanned = pulse::bounded::yaml_shape(&text).depth;
            prop_assert!(scanned >= parsed, "scan {} < parsed {} for\n{}", scanned, parsed, text);
        }
    }

    #[test]
    fn yaml_prescan_never_underestimates_arbitrary_text(bits in proptest::collection::vec(0..YAML_BITS.len(), 0..60)) {
        let text: String = bits.iter().map(|&i| YAML_BITS[i]).collect();
        let parsed = parsed_yaml_depth(&text);
        let scanned = pulse::bounded::yaml_shape(&text).depth;
        prop_assert!(scanned >= parsed, "scan {} < parsed {} for {:?}", scanned, parsed, text);
    }

    #[test]
    fn json_prescan_is_exact_and_bounds_yaml_too(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
        let depth = json_value_depth(&value);
        prop_assert_eq!(pulse::bounded::json_depth(text.as_bytes()), depth);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(json_value_depth(&parsed), depth);
        // JSON is YAML too: the YAML scan bounds what the YAML parser makes of it.
        prop_assert!(pulse::bounded::yaml_shape(&text).depth >= parsed_yaml_depth(&text));
    }
}

/// Lines a sidecar might hold: the shapes pulse writes and many near them.
const SIDECAR_LINES: [&str; 31] = [
    "description: '\u{2028}  '\n",
    "description: 'x\u{2029}'\n",
    "description: 'caf\u{e9} \u{1F600}'\n",
    "description: d\n",
    "description: Reviews pull requests, carefully\n",
    "description: 'It''s: careful'\n",
    "description: 'a'b'\n",
    "description: 1.5\n",
    "description: yes\n",
    "description: ~\n",
    "description: a: b\n",
    "description: \"quoted\"\n",
    "description: x # note\n",
    "description:\n",
    "tags:\n",
    "- x\n",
    "- 2\n",
    "- 'y z'\n",
    "- no\n",
    "labels:\n",
    "  production: 1.0.0\n",
    "  staging: 1.10.0-rc.1\n",
    "  canary: 1.5\n",
    "  production: 2.0.0\n",
    "  'odd key': v\n",
    "   deep: 1\n",
    "other: x\n",
    "\n",
    "# comment\n",
    "tags: [a, b]\n",
    "labels: {a: b}\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The sidecar reader that skips the YAML parser for the shape pulse writes must
    /// agree with the YAML parser on everything it accepts.
    #[test]
    fn sidecars_read_as_the_yaml_parser_reads_them(lines in proptest::collection::vec(0..SIDECAR_LINES.len(), 0..8)) {
        let text: String = lines.iter().map(|&i| SIDECAR_LINES[i]).collect();
        let yaml = serde_yaml_ng::from_str::<Sidecar>(&text).ok();
        let ours = Sidecar::parse(text.as_bytes(), "p.yaml").ok();
        if text.trim().is_empty() {
            prop_assert_eq!(ours, Some(Sidecar::default()));
        } else {
            prop_assert_eq!(ours, yaml, "{:?}", text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// On anything pulse writes, with any characters at all, the sidecar reader agrees
    /// with the YAML parser.
    #[test]
    fn sidecars_pulse_writes_read_as_the_yaml_parser_reads_them(
        desc in proptest::option::of("(?s).{0,30}|\\PC{0,30}|[ -~]{0,30}"),
        tags in proptest::collection::vec("(?s).{0,12}|[a-z0-9 .:#'-]{1,12}", 0..3),
        labels in proptest::collection::btree_map("[a-z][a-z0-9-]{0,6}", "(?s).{0,8}|[0-9.a-z-]{1,8}", 0..3),
    ) {
        let s = Sidecar { description: desc, tags, labels };
        let text = s.to_yaml();
        let yaml = serde_yaml_ng::from_str::<Sidecar>(&text).ok();
        let ours = Sidecar::parse(text.as_bytes(), "p.yaml").ok();
        prop_assert_eq!(ours, yaml, "{:?}", text);
    }
}
