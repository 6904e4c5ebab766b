#!/usr/bin/env bash
# The search benchmark: `pulse search` against `git grep` and ripgrep, on the same data,
# in the same run.
#
# Builds pulse in release mode, generates the data set (1,000 prompts × 10 releases) and
# imports it into a fresh prompt repository, exports it to a directory store, then times
# with hyperfine, each pair in one invocation (the order alternating between rounds):
#
#   latest     `pulse search P`                 vs `git grep -e P -- prompts/` in the worktree
#                                                  (each prompt's latest release is checked out)
#   all        `pulse search --all-versions P`  vs `git grep -e P TAG:PATH ...` for all 10,000
#                                                  release tags (each release's file)
#   directory  `pulse --store DIR search --all-versions P` vs `rg P DIR`
#
# for a rare pattern (one line of one prompt) and a common one (a word on most lines);
# then the same on the repository after `git gc`. Every pulse search is first checked to
# find the lines git grep or rg find. Prints medians, ratios (pulse / peer) and PASS/FAIL
# per budget (ratio ≤ 1).
#
# Usage (from the repository root):  bash scripts/bench-search.sh
#
# Knobs (environment):
#   BENCH_PROMPTS=1000   prompts in the data set (10 releases each)
#   BENCH_RUNS=20        timed runs per command per round
#   BENCH_WARMUP=3       warm-up runs per command per round
#   BENCH_ROUNDS=3       hyperfine invocations per pair (samples pooled)
#   BENCH_OUT=DIR        keep the hyperfine JSON files and the table in DIR
#   BENCH_KEEP=0         1: keep the temporary directory (its path is printed)
#   BENCH_STRICT=0       1: exit 3 when any budget fails
set -euo pipefail

BENCH_NAME=bench-search.sh
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PROMPTS=${BENCH_PROMPTS:-1000}
RUNS=${BENCH_RUNS:-20}
WARMUP=${BENCH_WARMUP:-3}
ROUNDS=${BENCH_ROUNDS:-3}
STRICT=${BENCH_STRICT:-0}

need_pkg hyperfine hyperfine
need_pkg rg ripgrep
build_pulse
hermetic_tmp pulse-bench-search "${BENCH_KEEP:-0}"

DATA="$TMP/data"
say "generating $PROMPTS prompts x 10 releases"
read -r RARE_NAME < <("$PYTHON" "$ROOT/scripts/gen-layout.py" "$DATA" "$PROMPTS" $((PROMPTS * 2 / 5 + 1)))
REPO="$TMP/repo"
"$PULSE" init "$REPO" >/dev/null
cd "$REPO"
say "pulse import"
"$PULSE" import "$DATA" >/dev/null
"$GIT" config gc.auto 0
# The worktree holds each prompt's working content: its latest release.
"$GIT" checkout -q -f
DIR="$TMP/store"
say "pulse export (the directory store)"
"$PULSE" export "$DIR" >/dev/null

# A rare pattern: the first line of one prompt (its name, in every release); a common one:
# a word on most lines of every release.
RARE="${RARE_NAME##*/} "
COMMON="irreversible"
# Each release's file, as git grep takes it: TAG:PATH.
"$GIT" for-each-ref --format='%(refname:short)' refs/tags |
    awk -F@ '{ print $0 ":prompts/" $1 ".md" }' >"$TMP/blobs"
[ "$(wc -l <"$TMP/blobs")" -eq $((PROMPTS * 10)) ] || die "expected $((PROMPTS * 10)) release tags"
cat >"$TMP/git-grep-all.sh" <<EOF
#!/usr/bin/env bash
exec "$GIT" grep -e "\$1" \$(cat "$TMP/blobs")
EOF
chmod +x "$TMP/git-grep-all.sh"

# check: pulse finds the content lines the peer finds (pulse also reports metadata hits).
check() { # LABEL PULSE-CMD PEER-CMD
    local p g
    p=$(eval "$2" | grep -vcE '^[^:]+:(name|description|keywords):' || true)
    g=$(eval "$3" | wc -l)
    [ "$p" -eq "$g" ] || die "$1: pulse found $p lines, the peer $g"
    echo "ok: $1: $p lines"
}

# pair KEY "PULSE CMD" "PEER CMD" PEER-NAME
pair() {
    local key=$1 pcmd=$2 gcmd=$3 peer=$4 r
    say "hyperfine: $key"
    for ((r = 1; r <= ROUNDS; r++)); do
        local args=(-N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$RES/$key.$r.json")
        if ((r % 2)); then
            args+=(-n pulse "$pcmd" -n "$peer" "$gcmd")
        else
            args+=(-n "$peer" "$gcmd" -n pulse "$pcmd")
        fi
        hyperfine "${args[@]}" >"$RES/$key.$r.log" 2>&1 || { cat "$RES/$key.$r.log" >&2; die "hyperfine failed on '$key'"; }
        grep -E '^(Benchmark|  Time)' "$RES/$key.$r.log" || true
    done
    printf '%s\t%s\n' "$key" "$peer" >>"$RES/pairs.tsv"
}

runs() { # STATE
    local st=$1 pat
    cd "$REPO"
    for pat in rare common; do
        local p
        [ "$pat" = rare ] && p=$RARE || p=$COMMON
        check "$st $pat latest" "$PULSE search -- '$p'" "$GIT grep -e '$p' -- prompts/"
        check "$st $pat all" "$PULSE search --all-versions -- '$p'" "$TMP/git-grep-all.sh '$p'"
        pair "${st}_latest_$pat" "$PULSE search -- '$p'" "$GIT grep -e '$p' -- prompts/" "git grep"
        pair "${st}_all_$pat" "$PULSE search --all-versions -- '$p'" "$TMP/git-grep-all.sh '$p'" "git grep"
    done
}

: >"$RES/pairs.tsv"
runs imported
say "git gc"
"$GIT" gc -q
runs gc
cd "$TMP"
for pat in rare common; do
    [ "$pat" = rare ] && p=$RARE || p=$COMMON
    check "directory $pat" "$PULSE --store '$DIR' search --all-versions -- '$p'" "rg --no-filename -g content.md -e '$p' '$DIR'"
    pair "dir_all_$pat" "$PULSE --store '$DIR' search --all-versions -- '$p'" "rg -e '$p' '$DIR'" "rg"
    pair "dir_latest_$pat" "$PULSE --store '$DIR' search -- '$p'" "rg -e '$p' '$DIR'" "rg"
done

say "results (medians of pooled samples)"
set +e
"$PYTHON" - "$RES" <<'EOF' | tee "$RES/table.txt"
import glob, json, os, statistics, sys
res = sys.argv[1]
failed = False
print(f"{'case':<22} {'pulse':>10} {'peer':>10} {'peer tool':<9} {'ratio':>6}  budget")
for line in open(os.path.join(res, "pairs.tsv")):
    key, peer = line.rstrip("\n").split("\t")
    times = {"pulse": [], peer: []}
    for f in sorted(glob.glob(os.path.join(res, f"{key}.*.json"))):
        for r in json.load(open(f))["results"]:
            times[r["command"]].extend(r["times"])
    p, g = statistics.median(times["pulse"]), statistics.median(times[peer])
    ratio = p / g
    ok = ratio <= 1.0
    failed |= not ok
    print(f"{key:<22} {p*1e3:>8.2f}ms {g*1e3:>8.2f}ms {peer:<9} {ratio:>6.2f}  {'PASS' if ok else 'FAIL'} (<= 1)")
sys.exit(3 if failed else 0)
EOF
status=${PIPESTATUS[0]}
set -e
if [ -n "${BENCH_OUT:-}" ]; then mkdir -p "$BENCH_OUT" && cp "$RES"/* "$BENCH_OUT"/; fi
if [ "$STRICT" = 1 ] && [ "$status" -ne 0 ]; then exit 3; fi
exit 0
