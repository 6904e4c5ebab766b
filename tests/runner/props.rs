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
        let t = Trailers { name: Name::parse(&name).unwrap(), version: Version::parse(&v).unwrap(), path: format!("prompts/{name}.md"), size, sha256: pulse::Digest::from_hex(&sha).unwrap(), format: 1 };
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
