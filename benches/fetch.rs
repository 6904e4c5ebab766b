//! The library budget: fetching an exact release, warm, takes under 10 µs.
//!
//! A plain `harness = false` benchmark (no extra dependency): the repository is opened
//! once as a store (`GitStore`, what every command reads through), then `store.resolve` +
//! `store.fetch` of an exact version (the warm exact fetch, checksum verified) runs in
//! batches, and the median per-call time of the batches is reported.
//!
//! Repositories measured:
//! - `small`: 1 prompt × 10 releases, made with `PromptRepo::add`;
//! - `1000x10`: 1,000 prompts × 10 releases written in the directory layout and
//!   synced from an in-memory store, as `pulse import` does (10,000 tags, packed refs),
//!   or the repository named by `PULSE_BENCH_REPO` (what `scripts/bench.sh` passes).
//!
//! Environment: `PULSE_BENCH_REPO` (+ `PULSE_BENCH_NAME`, `PULSE_BENCH_VERSION`) to measure
//! an existing repository; `PULSE_BENCH_PROMPTS` (default 1000, 0 skips the big repository);
//! `PULSE_BENCH_JSON=FILE` to also write the results as JSON. Run with
//! `cargo bench --bench fetch`.

use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pulse::meta::MetadataUpdate;
use pulse::repo::{AddRequest, Content, VersionChoice};
use pulse::store::{GitStore, MemoryStore, NewRelease, Store, StoreExt};
use pulse::{Name, PromptRepo, Selector, Version};

type Res<T> = std::result::Result<T, Box<dyn Error>>;

/// The budget for a warm exact fetch.
const BUDGET: Duration = Duration::from_micros(10);
/// Versions of every generated prompt: SemVer order differs from string order.
const VERSIONS: [&str; 10] = [
    "0.1.0",
    "0.9.0",
    "1.0.0",
    "1.1.0",
    "1.2.0",
    "1.9.0",
    "1.10.0",
    "1.10.1",
    "2.0.0-rc.1",
    "2.0.0",
];

/// Per-call times of one measured operation.
struct Stats {
    label: String,
    repo: String,
    median: Duration,
    p10: Duration,
    p90: Duration,
    calls: u64,
}

/// Time `f` in batches sized to take about 1 ms each; 201 batches after a warm-up.
fn measure(repo: &str, label: &str, mut f: impl FnMut() -> Res<usize>) -> Res<Stats> {
    let warm_until = Instant::now() + Duration::from_millis(200);
    let mut batch: u64 = 1;
    while Instant::now() < warm_until {
        let start = Instant::now();
        for _ in 0..batch {
            black_box(f()?);
        }
        if start.elapsed() < Duration::from_millis(1) {
            batch *= 2;
        }
    }
    let mut per_call = Vec::with_capacity(201);
    for _ in 0..201 {
        let start = Instant::now();
        for _ in 0..batch {
            black_box(f()?);
        }
        per_call.push(start.elapsed() / u32::try_from(batch)?);
    }
    per_call.sort();
    let at = |q: usize| per_call[(per_call.len() - 1) * q / 100];
    Ok(Stats {
        label: label.to_owned(),
        repo: repo.to_owned(),
        median: at(50),
        p10: at(10),
        p90: at(90),
        calls: batch * 201,
    })
}

fn git(dir: &Path, args: &[&str]) -> Res<()> {
    let status = Command::new("git").arg("-C").arg(dir).args(args).status()?;
    if !status.success() {
        return Err(format!("git {} failed in '{}'", args.join(" "), dir.display()).into());
    }
    Ok(())
}

/// A new prompt repository at `dir` with a git identity of its own (the library reads
/// `user.name` / `user.email` like git does), initialised for pulse.
fn new_repo(dir: &Path) -> Res<PromptRepo> {
    drop(PromptRepo::init(dir, false)?);
    git(dir, &["config", "user.name", "Bench Author"])?;
    git(dir, &["config", "user.email", "author@bench.invalid"])?;
    git(dir, &["config", "gc.auto", "0"])?;
    let repo = PromptRepo::open(dir)?;
    repo.initialize(None)?;
    Ok(repo)
}

/// Deterministic prompt text of a few hundred bytes to a few KB.
fn content(seed: u64, name: &str, version: &str) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "you",
        "are",
        "a",
        "careful",
        "assistant",
        "review",
        "the",
        "code",
        "answer",
        "concisely",
        "cite",
        "sources",
        "never",
        "invent",
        "facts",
        "step",
    ];
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let size = 200 + usize::try_from(next() % 3800).unwrap_or(0);
    let mut text = format!("# {name} {version}\n\n");
    while text.len() < size {
        for _ in 0..12 {
            text.push_str(WORDS[usize::try_from(next() % 16).unwrap_or(0)]);
            text.push(' ');
        }
        text.push_str(".\n");
    }
    text.into_bytes()
}

fn small_repo(dir: &Path) -> Res<(PromptRepo, Name, Version)> {
    let repo = new_repo(dir)?;
    let name = Name::parse("team-a/code.reviewer")?;
    for (i, v) in VERSIONS.iter().enumerate() {
        let bytes = content(i as u64, name.as_str(), v);
        repo.add(
            None,
            &AddRequest {
                name: &name,
                version: VersionChoice::Exact(Version::parse(v)?),
                content: Content::Given(&bytes),
                metadata: MetadataUpdate {
                    description: Some("a small benchmark prompt".to_owned()),
                    tags: Some(vec!["bench".to_owned()]),
                },
                message: None,
                allow_older: false,
                provenance: Default::default(),
                sign: Default::default(),
                check_templates: true,
            },
        )?;
    }
    Ok((repo, name, Version::parse("1.10.1")?))
}

fn big_repo(dir: &Path, prompts: usize) -> Res<(PromptRepo, Name, Version)> {
    // Written to an in-memory store, then synced into the repository (the path `pulse
    // import` and `pulse sync` take: pack files and one packed-refs transaction).
    let source = MemoryStore::new("Bench Author <author@bench.invalid>");
    for p in 0..prompts {
        let name = Name::parse(&format!("team-{}/prompt-{p:04}", p % 8))?;
        for (i, v) in VERSIONS.iter().enumerate() {
            let mut release = NewRelease::new(
                name.clone(),
                Version::parse(v)?,
                content((p * 10 + i) as u64, name.as_str(), v),
            );
            release.created = Some(format!("2024-01-{:02}T00:00:00Z", i + 1));
            release.message = Some(format!("Release {name}@{v}"));
            release.tags = Some(vec!["bench".to_owned()]);
            release.description = Some(format!("benchmark prompt {p}"));
            source.put(&release)?;
        }
    }
    let path = dir.join("repo");
    drop(new_repo(&path)?);
    let start = Instant::now();
    let synced = pulse::sync::sync(
        &source,
        &GitStore::open(&path, None)?,
        &pulse::sync::SyncOptions::default(),
    )?;
    eprintln!(
        "  imported {} releases in {:.2}s",
        synced.copied.len(),
        start.elapsed().as_secs_f64()
    );
    let repo = PromptRepo::open(&path)?;
    let name = Name::parse(&format!(
        "team-{}/prompt-{:04}",
        (prompts / 2) % 8,
        prompts / 2
    ))?;
    Ok((repo, name, Version::parse("1.10.1")?))
}

/// Measure the warm exact fetch through the store (the budget) and, for context, the
/// same read straight from the repository, a warm range fetch, opening the repository,
/// and opening it for every fetch (what one `pulse fetch` does).
fn bench_repo(
    label: &str,
    path: &Path,
    repo: PromptRepo,
    name: &Name,
    version: &Version,
) -> Res<Vec<Stats>> {
    let store = GitStore::from_repo(repo, None);
    let exact = Selector::Exact(version.clone());
    let expected = store.fetch(name, version)?;
    let fetch = |store: &GitStore| -> Res<usize> {
        let v = store.resolve(black_box(name), black_box(&exact))?;
        Ok(store.fetch(name, &v)?.len())
    };
    if fetch(&store)? != expected.len() {
        return Err("the fetched content changed".into());
    }
    let mut out = vec![measure(label, "warm exact fetch", || fetch(&store))?];
    {
        let repo = store.repo()?;
        out.push(measure(label, "repository read, context", || {
            let release = repo
                .release(black_box(name), black_box(version))?
                .ok_or("release vanished")?;
            Ok(repo.release_content(&release)?.len())
        })?);
    }
    let range = Selector::parse("^1")?;
    out.push(measure(label, "warm range fetch (^1), context", || {
        let v = store.resolve(name, black_box(&range))?;
        Ok(store.fetch(name, &v)?.len())
    })?);
    out.push(measure(label, "open only, context", || {
        Ok(black_box(PromptRepo::open(path)?)
            .git_dir()
            .as_os_str()
            .len())
    })?);
    out.push(measure(label, "open + exact fetch, context", || {
        fetch(&GitStore::open(path, None)?)
    })?);
    Ok(out)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() -> Res<()> {
    // `cargo bench` passes `--bench` (and maybe a filter); there is nothing to select.
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let tmp = tempfile::tempdir()?;
    let mut results = Vec::new();

    eprintln!("building the small repository (1 prompt x 10 releases)");
    let small = tmp.path().join("small");
    let (repo, name, version) = small_repo(&small)?;
    results.extend(bench_repo("small", &small, repo, &name, &version)?);

    let given = env("PULSE_BENCH_REPO");
    let prompts: usize = env("PULSE_BENCH_PROMPTS").map_or(Ok(1000), |v| v.parse())?;
    if let Some(path) = given {
        let path = Path::new(&path);
        let repo = PromptRepo::open(path)?;
        let name = Name::parse(&env("PULSE_BENCH_NAME").ok_or("set PULSE_BENCH_NAME")?)?;
        let version = Version::parse(&env("PULSE_BENCH_VERSION").unwrap_or("1.10.1".into()))?;
        let tags = repo
            .all_release_refs()?
            .values()
            .map(Vec::len)
            .sum::<usize>();
        let label = format!("{tags} tags");
        eprintln!("using '{}' ({label})", path.display());
        results.extend(bench_repo(&label, path, repo, &name, &version)?);
    } else if prompts > 0 {
        eprintln!("building the big repository ({prompts} prompts x 10 releases)");
        let dir = tmp.path().join("big");
        let (repo, name, version) = big_repo(&dir, prompts)?;
        let label = format!("{}x10", prompts);
        results.extend(bench_repo(
            &label,
            &dir.join("repo"),
            repo,
            &name,
            &version,
        )?);
    }

    println!(
        "{:<12} {:<34} {:>10} {:>10} {:>10} {:>9}  budget",
        "repository", "operation", "median", "p10", "p90", "calls"
    );
    for s in &results {
        let verdict = if s.label == "warm exact fetch" {
            if s.median < BUDGET {
                "< 10 us: PASS"
            } else {
                "< 10 us: FAIL"
            }
        } else {
            ""
        };
        println!(
            "{:<12} {:<34} {:>7.2} us {:>7.2} us {:>7.2} us {:>9}  {verdict}",
            s.repo,
            s.label,
            us(s.median),
            us(s.p10),
            us(s.p90),
            s.calls
        );
    }
    if let Some(path) = env("PULSE_BENCH_JSON") {
        let rows: Vec<_> = results
            .iter()
            .filter(|s| s.label == "warm exact fetch")
            .map(|s| {
                serde_json::json!({
                    "repo": s.repo,
                    "operation": s.label,
                    "median_ns": s.median.as_nanos() as u64,
                    "p10_ns": s.p10.as_nanos() as u64,
                    "p90_ns": s.p90.as_nanos() as u64,
                    "calls": s.calls,
                })
            })
            .collect();
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&serde_json::json!({ "results": rows }))?,
        )?;
    }
    Ok(())
}
