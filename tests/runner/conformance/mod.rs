//! One conformance suite for the storage interface: named cases, each run on a fresh
//! store, for every kind of store. A new store joins with one line:
//! `conformance_suite!(its_name, Fixture::its_constructor(), can: [..])`, declaring what it
//! can be put through (tampering from outside, becoming unreachable).

mod cases;

use crate::common::stores::Fixture;

/// Every case of the suite, as one test each, for the store `$make` builds.
macro_rules! conformance_suite {
    ($module:ident, $make:expr, can: [$($cap:ident),*]) => {
        mod $module {
            #[allow(unused_imports)]
            use super::{Fixture, cases};
            #[allow(unused_imports)]
            use crate::common::stores::Capability;

            fn run(case: fn(&dyn pulse::store::Store)) {
                let fixture: Fixture = $make;
                case(fixture.store.as_ref());
                fixture.finish();
            }

            fn run_fixture(case: fn(&Fixture)) {
                let fixture: Fixture = $make;
                case(&fixture);
                fixture.finish();
            }

            /// What this store can be put through is declared here, so a case it skips
            /// is skipped by declaration, never silently.
            #[test]
            fn capabilities_are_as_declared() {
                let fixture: Fixture = $make;
                let declared: Vec<Capability> = vec![$(Capability::$cap),*];
                for cap in [Capability::Corrupt, Capability::Unavailable, Capability::Atomic] {
                    assert_eq!(fixture.can(cap), declared.contains(&cap), "{cap:?}");
                }
            }
            #[test]
            fn large_content_round_trips() {
                run(cases::large_content_round_trips)
            }
            #[test]
            fn corrupted_content_is_an_integrity_failure() {
                run_fixture(cases::corrupted_content_is_an_integrity_failure)
            }
            #[test]
            fn an_unreachable_store_is_unavailable() {
                run_fixture(cases::an_unreachable_store_is_unavailable)
            }

            #[test]
            fn put_then_fetch_is_byte_exact() {
                run(cases::put_then_fetch_is_byte_exact)
            }
            #[test]
            fn a_missing_release_is_not_found() {
                run(cases::a_missing_release_is_not_found)
            }
            #[test]
            fn put_is_create_only() {
                run(cases::put_is_create_only)
            }
            #[test]
            fn versions_are_in_semver_order() {
                run(cases::versions_are_in_semver_order)
            }
            #[test]
            fn selectors_resolve() {
                run(cases::selectors_resolve)
            }
            #[test]
            fn list_matches_whole_segments() {
                run(cases::list_matches_whole_segments)
            }
            #[test]
            fn release_metadata_travels_whole() {
                run(cases::release_metadata_travels_whole)
            }
            #[test]
            fn prompt_metadata_changes_without_touching_releases() {
                run(cases::prompt_metadata_changes_without_touching_releases)
            }
            #[test]
            fn labels_move_and_guard_deletion() {
                run(cases::labels_move_and_guard_deletion)
            }
            #[test]
            fn labels_move_by_compare_and_swap() {
                run(cases::labels_move_by_compare_and_swap)
            }
            #[test]
            fn delete_removes_one_release() {
                run(cases::delete_removes_one_release)
            }
            #[test]
            fn summaries_and_verify() {
                run(cases::summaries_and_verify)
            }
            #[test]
            fn concurrent_create_only_writes_have_one_winner() {
                run_fixture(cases::concurrent_create_only_writes_have_one_winner)
            }
            #[test]
            fn concurrent_writes_of_different_versions_all_land() {
                run_fixture(cases::concurrent_writes_of_different_versions_all_land)
            }
            #[test]
            fn concurrent_label_moves_lose_none() {
                run_fixture(cases::concurrent_label_moves_lose_none)
            }
        }
    };
}

conformance_suite!(memory, Fixture::memory(), can: [Atomic]);
conformance_suite!(git, Fixture::git(), can: [Corrupt, Atomic]);
conformance_suite!(git_bare, Fixture::git_bare(), can: [Corrupt, Atomic]);
conformance_suite!(dir, Fixture::dir(), can: [Corrupt, Atomic]);
// Encrypted with age: the same cases hold, content and checksums being the plaintext's.
conformance_suite!(dir_encrypted, Fixture::dir_encrypted(), can: [Corrupt, Atomic]);
conformance_suite!(s3_moto_encrypted, Fixture::s3_encrypted(crate::common::s3::Kind::Moto), can: [Corrupt, Unavailable, Atomic]);
conformance_suite!(s3_moto, Fixture::s3(crate::common::s3::Kind::Moto), can: [Corrupt, Unavailable, Atomic]);
// Through the on-disk cache: an unreachable server is answered from it, so that case is
// not this store's (the cache tests cover it).
conformance_suite!(s3_moto_cached, Fixture::s3_cached(crate::common::s3::Kind::Moto), can: [Corrupt, Atomic]);
// s3s-fs checks a write's condition, then writes in a second step: its concurrent
// writers can both win, so the concurrency cases are declared out for it.
conformance_suite!(s3_s3s_fs, Fixture::s3(crate::common::s3::Kind::S3sFs), can: [Corrupt, Unavailable]);
// A directory store behind a static web server, read over HTTP (written as a directory).
conformance_suite!(static_export, Fixture::static_export(), can: [Corrupt, Atomic]);
// The same, read through the on-disk cache.
conformance_suite!(static_export_cached, Fixture::static_export_cached(), can: [Corrupt, Atomic]);
// The registry: pulse serve over a directory store and over S3, through the HTTP store.
conformance_suite!(registry_dir, Fixture::registry_dir(), can: [Corrupt, Unavailable, Atomic]);
conformance_suite!(registry_s3, Fixture::registry_s3(), can: [Corrupt, Unavailable, Atomic]);
// Encrypted by the client: the registry holds no key and passes the ciphertext on.
conformance_suite!(registry_dir_encrypted, Fixture::registry_dir_encrypted(), can: [Corrupt, Unavailable, Atomic]);
