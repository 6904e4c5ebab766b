//! The fuzz targets' seed corpus and every input a fuzzer ever found a bug with
//! (`fuzz/seeds/<target>/`, `fuzz/regressions/<target>/`), run through the same checks
//! the fuzz targets run (`pulse::fuzzing`), on the stable toolchain: a bug found once
//! stays found. Fuzzing itself is `bash scripts/fuzz.sh` (nightly).

#[test]
fn every_seed_and_regression_passes_its_target() {
    let root = crate::common::source_dir().join("fuzz");
    let mut ran = 0;
    for (target, check) in pulse::fuzzing::TARGETS {
        let fuzz_target = root.join("fuzz_targets").join(format!("{target}.rs"));
        assert!(fuzz_target.is_file(), "no fuzz target for {target}");
        let seeds = root.join("seeds").join(target);
        let seed_count = std::fs::read_dir(&seeds).map(|d| d.count()).unwrap_or(0);
        assert!(
            seed_count > 0,
            "no seeds for {target} in {}",
            seeds.display()
        );
        for dir in ["seeds", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.file_name().unwrap().to_string_lossy().starts_with('.') {
                    continue;
                }
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(|| check(&data));
                assert!(outcome.is_ok(), "{target} fails on {}", path.display());
                ran += 1;
            }
        }
    }
    assert!(ran >= 50, "only {ran} inputs");
}

#[test]
fn every_fuzz_target_is_listed() {
    let dir = crate::common::source_dir().join("fuzz/fuzz_targets");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = pulse::fuzzing::TARGETS
        .iter()
        .map(|(t, _)| (*t).to_owned())
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}
