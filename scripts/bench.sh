#!/usr/bin/env bash
# The performance benchmark: pulse against the git command line, on the same data, in
# the same run.
#
# Builds pulse in release mode, generates the data set (1,000 prompts × 10 releases) in
# the import directory layout, imports it into a fresh prompt repository (10,000
# annotated tags, packed refs), then times pulse against the git command line on the
# same repository in the same run with hyperfine: the reads twice, once on the
# repository as pulse import left it and once after `git gc` (as after a clone), and
# prints medians, ratios and PASS/FAIL per budget. Peak memory (max RSS) comes from /usr/bin/time -v, and the
# library's warm exact fetch from `cargo bench --bench fetch` run on the same repository.
#
# Usage (from the repository root):  bash scripts/bench.sh
#
# Knobs (environment):
#   BENCH_PROMPTS=1000   prompts in the data set (10 releases each)
#   BENCH_RUNS=50        timed runs per command per round
#   BENCH_WARMUP=5       warm-up runs per command per round
#   BENCH_ROUNDS=3       hyperfine invocations per pair; their samples are pooled, and
#                        the order of the two commands alternates between rounds
#   BENCH_LIB=1          0: skip the library micro-benchmark (cargo bench --bench fetch)
#   BENCH_OUT=DIR        keep the hyperfine JSON files, RSS figures and the table in DIR
#   BENCH_KEEP=0         1: keep the temporary directory (its path is printed)
#   BENCH_STRICT=0       1: exit 3 when any budget fails
#
# The machine may be shared and noisy: all comparisons use medians of pooled samples.
set -euo pipefail

BENCH_NAME=bench.sh
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PROMPTS=${BENCH_PROMPTS:-1000}
RUNS=${BENCH_RUNS:-50}
WARMUP=${BENCH_WARMUP:-5}
ROUNDS=${BENCH_ROUNDS:-3}
DO_LIB=${BENCH_LIB:-1}
STRICT=${BENCH_STRICT:-0}

# ---------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------
need_pkg hyperfine hyperfine
[ -x /usr/bin/time ] || need_pkg /usr/bin/time time

# ---------------------------------------------------------------------------------------
# Build (before the environment is made hermetic: cargo needs the real HOME)
# ---------------------------------------------------------------------------------------
build_pulse
# The static build of the README for programs that start pulse once per read: linked
# statically and not position-independent, so nothing is relocated before `main`. With
# an explicit --target, the flags apply to pulse and its dependencies only, not to the
# build scripts and proc-macros built for the host.
STATIC_TRIPLE=x86_64-unknown-linux-gnu
STATIC_RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static"
PULSE_STATIC=""
if [ "$(uname -sm)" = "Linux x86_64" ]; then
    say "building the static pulse ($STATIC_RUSTFLAGS, --target $STATIC_TRIPLE)"
    (cd "$ROOT" && RUSTFLAGS="$STATIC_RUSTFLAGS" \
        cargo build --release --quiet --bin pulse --target "$STATIC_TRIPLE")
    PULSE_STATIC="$TARGET_DIR/$STATIC_TRIPLE/release/pulse"
    [ -x "$PULSE_STATIC" ] || die "no binary at $PULSE_STATIC"
fi
if [ "$DO_LIB" = 1 ]; then
    say "building the library benchmark (cargo bench --bench fetch --no-run)"
    (cd "$ROOT" && cargo bench --quiet --bench fetch --no-run)
fi

# ---------------------------------------------------------------------------------------
# Temporary directory and hermetic environment
# ---------------------------------------------------------------------------------------
# The real HOME/cargo locations are still needed by `cargo bench`; keep them aside.
REAL_HOME=$HOME
REAL_CARGO_HOME=${CARGO_HOME:-$REAL_HOME/.cargo}
REAL_RUSTUP_HOME=${RUSTUP_HOME:-$REAL_HOME/.rustup}
hermetic_tmp pulse-bench "${BENCH_KEEP:-0}"

# ---------------------------------------------------------------------------------------
# Data set: <dir>/<name>/<version>/content.md + metadata.json
# ---------------------------------------------------------------------------------------
DATA="$TMP/data"
say "generating $PROMPTS prompts x 10 releases in $DATA"
read -r TARGET ADD_TARGET < <("$PYTHON" "$ROOT/scripts/gen-layout.py" "$DATA" "$PROMPTS" $(( PROMPTS * 2 / 5 + 1 )) $(( PROMPTS * 3 / 5 + 2 )))
[ -n "$TARGET" ] && [ -n "$ADD_TARGET" ] || die "data generation failed"
echo "data set: $(find "$DATA" -name content.md | wc -l) releases, $(du -sh "$DATA" | cut -f1); reads use '$TARGET', adds use '$ADD_TARGET'"

# ---------------------------------------------------------------------------------------
# Repository: pulse init + pulse import
# ---------------------------------------------------------------------------------------
REPO="$TMP/repo"
say "pulse init + pulse import"
"$PULSE" init "$REPO" >/dev/null
cd "$REPO"
/usr/bin/time -v -o "$RES/import.time" "$PULSE" import "$DATA"
rss_kib() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }
wall_s() { # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.55" -> seconds
    sed -n 's/^[[:space:]]*Elapsed (wall clock) time.*): //p' "$1" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}
IMPORT_S=$(wall_s "$RES/import.time")
IMPORT_KIB=$(rss_kib "$RES/import.time")
echo "import: ${IMPORT_S}s wall, peak RSS $((IMPORT_KIB / 1024)) MiB"
printf '%s\t%s\n' "$IMPORT_S" "$IMPORT_KIB" >"$RES/import.tsv"

# git must not start an automatic gc in the middle of the timed commits (the import leaves
# every object loose); pulse never runs one.
"$GIT" config gc.auto 0
TAGS=$("$GIT" for-each-ref refs/tags | wc -l)
LOOSE=$(find .git/refs -type f -path '*/refs/tags/*' | wc -l)
[ "$TAGS" -eq $((PROMPTS * 10)) ] || die "expected $((PROMPTS * 10)) tags, found $TAGS"
objects() { echo "$("$GIT" count-objects -v | sed -n 's/^count: //p') loose, $("$GIT" count-objects -v | sed -n 's/^in-pack: //p') packed in $(find .git/objects/pack -name '*.pack' | wc -l) packs"; }
echo "repository: $TAGS tags ($LOOSE loose tag refs, the rest packed); objects: $(objects)"

# ---------------------------------------------------------------------------------------
# Correctness checks: pulse and git must print the same bytes
# ---------------------------------------------------------------------------------------
say "checking that pulse and git agree"
CONTENT_PATH="prompts/$TARGET.md"
"$GIT" cat-file -p "$TARGET@1.10.1:$CONTENT_PATH" >"$TMP/expect"
"$PULSE" fetch "$TARGET@1.10.1" >"$TMP/got"
cmp -s "$TMP/expect" "$TMP/got" || die "pulse fetch $TARGET@1.10.1 differs from git cat-file"
"$PULSE" fetch "$TARGET@^1" >"$TMP/got"
cmp -s "$TMP/expect" "$TMP/got" || die "pulse fetch $TARGET@^1 is not release 1.10.1"
"$PULSE" versions "$TARGET" | awk '{print $1}' | tr '\n' ' ' | grep -q '1.9.0 1.10.0 1.10.1 2.0.0-rc.1 2.0.0' ||
    die "pulse versions $TARGET is not in SemVer order"
[ "$("$GIT" tag -l "$TARGET@*" --sort=v:refname | wc -l)" -eq 10 ] || die "git tag -l does not list 10 releases of $TARGET"
ROWS=$("$PULSE" list | tail -n +2 | wc -l)
[ "$ROWS" -eq "$PROMPTS" ] || die "pulse list shows $ROWS prompts, expected $PROMPTS"
echo "ok: fetch exact/range match git cat-file, versions in SemVer order, list shows $ROWS prompts"

# Copies for the write benchmarks (made before anything else writes).
cp -a "$REPO" "$TMP/add-pulse"
cp -a "$REPO" "$TMP/add-git"

# ---------------------------------------------------------------------------------------
# hyperfine: each pair in the same invocation, ROUNDS times, order alternating
# ---------------------------------------------------------------------------------------
# pair KEY "PULSE CMD" "GIT CMD" [extra hyperfine args for pulse] -- [for git]
# Extra args are per-command --prepare options; both lists may be empty.
pair() {
    local key=$1 pcmd=$2 gcmd=$3 pprep=${4:-} gprep=${5:-}
    say "hyperfine: $key"
    local r
    for ((r = 1; r <= ROUNDS; r++)); do
        local args=(-N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$RES/$key.$r.json")
        if ((r % 2)); then
            [ -n "$pprep" ] && args+=(--prepare "$pprep" --prepare "$gprep")
            args+=(-n pulse "$pcmd" -n git "$gcmd")
        else
            [ -n "$pprep" ] && args+=(--prepare "$gprep" --prepare "$pprep")
            args+=(-n git "$gcmd" -n pulse "$pcmd")
        fi
        if ! hyperfine "${args[@]}" >"$RES/$key.$r.log" 2>&1; then
            cat "$RES/$key.$r.log" >&2
            die "hyperfine failed on '$key'"
        fi
        grep -E '^(Benchmark|  Time|  Range)' "$RES/$key.$r.log" || true
    done
}

# The reads, on the repository in its current state; keys are prefixed with STATE.
reads() { # STATE
    local st=$1
    cd "$REPO"
    pair "${st}_fetch_exact" "$PULSE fetch $TARGET@1.10.1" "$GIT cat-file -p $TARGET@1.10.1:$CONTENT_PATH"
    pair "${st}_fetch_range" "$PULSE fetch $TARGET@^1" "$GIT cat-file -p $TARGET@1.10.1:$CONTENT_PATH"
    if [ -n "$PULSE_STATIC" ]; then
        pair "${st}_static_fetch_exact" "$PULSE_STATIC fetch $TARGET@1.10.1" "$GIT cat-file -p $TARGET@1.10.1:$CONTENT_PATH"
        pair "${st}_static_fetch_range" "$PULSE_STATIC fetch $TARGET@^1" "$GIT cat-file -p $TARGET@1.10.1:$CONTENT_PATH"
    fi
    pair "${st}_versions" "$PULSE versions $TARGET" "$GIT tag -l '$TARGET@*' --sort=v:refname"
    pair "${st}_list" "$PULSE list" "$GIT ls-tree -r HEAD prompts/"
    # The steadier reading of list: git listing the same 10,000 tags.
    pair "${st}_list_refs" "$PULSE list" "$GIT for-each-ref --format=%(refname) refs/tags"
}
reads imported
cd "$REPO"

# add: every run releases a new patch version with new content. The prepare step (not
# timed) writes the content: for pulse into a file given with --file, for git into the
# worktree, with the next tag name beside it. The git side runs the three commands from a
# bash script; 'bash (empty script)' below shows what bash itself costs.
cat >"$TMP/prep.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
side=\$1
n=\$(( \$(cat "$TMP/counter.\$side" 2>/dev/null || echo 0) + 1 ))
echo "\$n" >"$TMP/counter.\$side"
body="# $ADD_TARGET, benchmark edit \$n

You are a careful reviewer. Release \$n of this prompt asks for concise answers,
cites sources, and never invents facts. Explain each step; ask before acting.
"
if [ "\$side" = pulse ]; then
    printf '%s' "\$body" >"$TMP/add-content.md"
else
    printf '%s' "\$body" >"$TMP/add-git/prompts/$ADD_TARGET.md"
    echo "$ADD_TARGET@2.0.\$n" >"$TMP/git-next-tag"
fi
EOF
cat >"$TMP/git-release.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
cd "$TMP/add-git"
tag=\$(<"$TMP/git-next-tag")
git add "prompts/$ADD_TARGET.md"
git commit -q -m "Release \$tag"
git tag -a "\$tag" -m "Release \$tag"
EOF
printf '#!/usr/bin/env bash\n' >"$TMP/noop.sh"
pair add "$PULSE --repo $TMP/add-pulse -q add $ADD_TARGET --bump patch --file $TMP/add-content.md" \
    "bash $TMP/git-release.sh" "bash $TMP/prep.sh pulse" "bash $TMP/prep.sh git"
say "hyperfine: bash (empty script), for context"
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$RES/bash.json" \
    -n bash "bash $TMP/noop.sh" >"$RES/bash.log" 2>&1 || { cat "$RES/bash.log" >&2; die "hyperfine failed on bash"; }
grep -E '^(Benchmark|  Time|  Range)' "$RES/bash.log" || true

# The adds must really have happened, in both repositories.
PADDS=$(cd "$TMP/add-pulse" && "$GIT" tag -l "$ADD_TARGET@2.0.*" | grep -vc '@2.0.0' || true)
GADDS=$(cd "$TMP/add-git" && "$GIT" tag -l "$ADD_TARGET@2.0.*" | grep -vc '@2.0.0' || true)
echo "add: pulse made $PADDS releases, git made $GADDS tags"
[ "$PADDS" -eq $((ROUNDS * (RUNS + WARMUP))) ] || die "pulse add made $PADDS releases"
[ "$GADDS" -eq $((ROUNDS * (RUNS + WARMUP))) ] || die "the git script made $GADDS tags"
[ -z "$(cd "$TMP/add-pulse" && "$GIT" status --porcelain)" ] || die "git status is not clean after pulse add"

# ---------------------------------------------------------------------------------------
# Peak memory (max RSS) with /usr/bin/time -v, the highest of 3 runs
# ---------------------------------------------------------------------------------------
say "peak memory (/usr/bin/time -v)"
peak() { # key cmd...
    local key=$1 max=0 i kib
    shift
    for i in 1 2 3; do
        /usr/bin/time -v -o "$RES/$key.time" "$@" >/dev/null
        kib=$(rss_kib "$RES/$key.time")
        ((kib > max)) && max=$kib
    done
    printf '%s\t%s\n' "$key" "$max" >>"$RES/rss.tsv"
    printf '%-16s %6d KiB\n' "$key" "$max"
}
: >"$RES/rss.tsv"
cd "$REPO"
peak pulse_fetch_exact "$PULSE" fetch "$TARGET@1.10.1"
peak pulse_fetch_range "$PULSE" fetch "$TARGET@^1"
peak pulse_versions "$PULSE" versions "$TARGET"
peak pulse_list "$PULSE" list
peak git_fetch_exact "$GIT" cat-file -p "$TARGET@1.10.1:$CONTENT_PATH"
peak git_versions "$GIT" tag -l "$TARGET@*" --sort=v:refname
peak git_list "$GIT" ls-tree -r HEAD prompts/
peak_add() { # key side cmd...
    local key=$1 side=$2 max=0 i kib
    shift 2
    for i in 1 2 3; do
        bash "$TMP/prep.sh" "$side"
        /usr/bin/time -v -o "$RES/$key.time" "$@" >/dev/null
        kib=$(rss_kib "$RES/$key.time")
        ((kib > max)) && max=$kib
    done
    printf '%s\t%s\n' "$key" "$max" >>"$RES/rss.tsv"
    printf '%-16s %6d KiB\n' "$key" "$max"
}
peak_add pulse_add pulse "$PULSE" --repo "$TMP/add-pulse" -q add "$ADD_TARGET" --bump patch --file "$TMP/add-content.md"
# git side: the largest of its three commands
GMAX=0
for i in 1 2 3; do
    bash "$TMP/prep.sh" git
    tag=$(<"$TMP/git-next-tag")
    (
        cd "$TMP/add-git"
        /usr/bin/time -v -o "$RES/g1.time" "$GIT" add "prompts/$ADD_TARGET.md"
        /usr/bin/time -v -o "$RES/g2.time" "$GIT" commit -q -m "Release $tag"
        /usr/bin/time -v -o "$RES/g3.time" "$GIT" tag -a "$tag" -m "Release $tag"
    )
    for f in g1 g2 g3; do
        kib=$(rss_kib "$RES/$f.time")
        ((kib > GMAX)) && GMAX=$kib
    done
done
printf 'git_add\t%s\n' "$GMAX" >>"$RES/rss.tsv"
printf '%-16s %6d KiB\n' git_add "$GMAX"
peak pulse_verify "$PULSE" verify
printf 'pulse_import\t%s\n' "$IMPORT_KIB" >>"$RES/rss.tsv"

# ---------------------------------------------------------------------------------------
# Library: warm exact fetch (benches/fetch.rs), on this same repository
# ---------------------------------------------------------------------------------------
if [ "$DO_LIB" = 1 ]; then
    say "library: cargo bench --bench fetch (warm exact fetch)"
    (cd "$ROOT" && HOME="$REAL_HOME" CARGO_HOME="$REAL_CARGO_HOME" RUSTUP_HOME="$REAL_RUSTUP_HOME" \
        PULSE_BENCH_REPO="$REPO" PULSE_BENCH_NAME="$TARGET" PULSE_BENCH_VERSION=1.10.1 \
        PULSE_BENCH_JSON="$RES/lib.json" cargo bench --quiet --bench fetch)
fi

# ---------------------------------------------------------------------------------------
# The reads again after git gc (every object in one pack, deltified), as after a clone
# ---------------------------------------------------------------------------------------
say "git gc, then the reads again"
cd "$REPO"
"$GIT" gc --quiet
echo "after git gc: objects $(objects)"
reads gc

# ---------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------
say "results (medians of pooled samples; ratio = pulse / git)"
STATUS=0
"$PYTHON" - "$RES" "$ROUNDS" >"$RES/table.txt" <<'PY' || STATUS=$?
import glob, json, os, statistics, sys

res, rounds = sys.argv[1], int(sys.argv[2])
MIB = 1024

def samples(key):
    out = {}
    for path in sorted(glob.glob(os.path.join(res, f"{key}.*.json"))) + \
                sorted(glob.glob(os.path.join(res, f"{key}.json"))):
        with open(path) as f:
            for r in json.load(f)["results"]:
                out.setdefault(r["command"], []).extend(r["times"])
    return out

def med(xs):
    return statistics.median(xs) if xs else float("nan")

def ms(x):
    return f"{x * 1000:.2f} ms"

rows, failed = [], []

def row(op, p, g, budget, ok, note=""):
    rows.append((op, p, g, budget, "PASS" if ok else "FAIL", note))
    if not ok:
        failed.append(op)

def ratio_row(op, key, budget_text, strict_less):
    s = samples(key)
    p, g = med(s.get("pulse", [])), med(s.get("git", []))
    r = p / g
    ok = r < 1.0 if strict_less else r <= 1.0
    n = len(s.get("pulse", []))
    row(op, ms(p), ms(g), budget_text, ok, f"ratio {r:.2f}  (n={n})")
    return p, g

for st, label in (("imported", "as imported"), ("gc", "after git gc")):
    ratio_row(f"[{label}] pulse fetch NAME@x.y.z", f"{st}_fetch_exact", "ratio <= 1 vs git cat-file", False)
    ratio_row(f"[{label}] pulse fetch NAME@^1", f"{st}_fetch_range", "ratio <= 1 vs git cat-file", False)
    if samples(f"{st}_static_fetch_exact"):
        ratio_row(f"[{label}] static pulse fetch NAME@x.y.z", f"{st}_static_fetch_exact",
                  "ratio <= 1 vs git cat-file", False)
        ratio_row(f"[{label}] static pulse fetch NAME@^1", f"{st}_static_fetch_range",
                  "ratio <= 1 vs git cat-file", False)
    ratio_row(f"[{label}] pulse versions NAME", f"{st}_versions", "ratio <= 1 vs git tag -l --sort", False)
    s = samples(f"{st}_list")
    p, g = med(s["pulse"]), med(s["git"])
    row(f"[{label}] pulse list (1,000 prompts)", ms(p), ms(g), "< 20 ms (git ls-tree: context)",
        p < 0.020, f"ratio {p / g:.2f}  (n={len(s['pulse'])})")
    s = samples(f"{st}_list_refs")
    p, g = med(s["pulse"]), med(s["git"])
    rows.append((f"[{label}] pulse list vs git for-each-ref refs/tags", ms(p), ms(g),
                 "context: the same 10,000 tags", "", f"ratio {p / g:.2f}  (n={len(s['pulse'])})"))
ratio_row("pulse add (commit + tag)", "add", "ratio < 1 vs git add+commit+tag -a", True)
b = med(samples("bash").get("bash", []))
if b == b:
    rows.append(("  (bash startup in git side)", "", ms(b), "context only", "", "git side minus bash: "
                 + ms(med(samples("add")["git"]) - b)))

lib = os.path.join(res, "lib.json")
if os.path.exists(lib):
    with open(lib) as f:
        for r in json.load(f)["results"]:
            ns = r["median_ns"]
            row(f"library fetch, warm ({r['repo']})", f"{ns / 1000:.2f} us", "", "< 10 us", ns < 10_000,
                f"p10 {r['p10_ns'] / 1000:.2f} us, p90 {r['p90_ns'] / 1000:.2f} us")

rss = {}
with open(os.path.join(res, "rss.tsv")) as f:
    for line in f:
        k, v = line.split()
        rss[k] = int(v)
for k in ["fetch_exact", "fetch_range", "versions", "list", "add", "verify", "import"]:
    p = rss.get(f"pulse_{k}")
    if p is None:
        continue
    g = rss.get(f"git_{k}") or rss.get(f"git_{k.replace('_range', '_exact')}")
    row(f"peak RSS: pulse {k.replace('_', ' ')}", f"{p / MIB:.1f} MiB",
        f"{g / MIB:.1f} MiB" if g else "", "< 64 MiB", p < 64 * MIB)

head = ("operation", "pulse median", "git median", "budget", "result", "")
w = [max(len(str(r[i])) for r in rows + [head]) for i in range(6)]
line = lambda r: "  ".join(str(c).ljust(w[i]) for i, c in enumerate(r)).rstrip()
print(line(head))
print("  ".join("-" * x for x in w[:5]))
for r in rows:
    print(line(r))
print()
print(f"{sum(1 for r in rows if r[4] == 'PASS')} budgets pass, {len(failed)} fail"
      + (": " + "; ".join(failed) if failed else ""))
sys.exit(3 if failed else 0)
PY
cat "$RES/table.txt"
printf '\nimport of %s releases: %ss wall, peak RSS %s MiB\n' "$((PROMPTS * 10))" "$IMPORT_S" "$((IMPORT_KIB / 1024))"
echo "repository: $PROMPTS prompts x 10 releases, $TAGS tags in packed-refs; reads measured as pulse import left it and after git gc"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); pulse $("$PULSE" --version | cut -d' ' -f2-), $("$GIT" --version), $(hyperfine --version)"
if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT"
    cp "$RES"/* "$BENCH_OUT"/
    echo "results kept in $BENCH_OUT"
fi
case $STATUS in
0) ;;
3) [ "$STRICT" = 1 ] && exit 3 ;;
*) die "could not build the table (python exit $STATUS)" ;;
esac
exit 0
