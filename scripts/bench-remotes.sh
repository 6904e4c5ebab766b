#!/usr/bin/env bash
# Benchmark of `pulse push` / `pulse pull` against `git push` / `git fetch` of the same
# data, on the benchmark repository (1,000 prompts × 10 releases, made with pulse import).
#
# Builds pulse in release mode, generates the data set (the same generator as
# scripts/bench.sh), imports it, then times four pairs, each pair in one hyperfine run
# with an untimed --prepare that resets the state, and prints medians and ratios
# (pulse / git). Remotes are bare repositories on local paths: no network.
#
#   push everything   pulse push               vs git push --atomic main + refs/tags/* into an empty bare remote
#   pull everything   pulse pull               vs git fetch (heads + tags) into a fresh prompt repository
#                     (context: git fetch + git merge --ff-only origin/main, i.e. a git pull)
#   pull 1 release    pulse pull               vs git fetch, the remote one release ahead
#   push 1 release    pulse push               vs git push origin main <new tag>
#
# Usage (from the repository root):  bash scripts/bench-remotes.sh
#
# Knobs (environment):
#   BENCH_PROMPTS=1000   prompts in the data set (10 releases each)
#   BENCH_RUNS=10        timed runs per command (set: used as given for every pair)
#   BENCH_WARMUP=2       warm-up runs per command
#   BENCH_BUDGET=90      unless BENCH_RUNS is set, a pair whose commands (timed once in the
#                        correctness check) would take longer than this many seconds gets
#                        fewer runs (at least 3) and no warm-up: the check run warmed it
#   BENCH_OUT=DIR        keep the hyperfine JSON files and the table in DIR
#   BENCH_KEEP=0         1: keep the temporary directory (its path is printed)
set -euo pipefail

BENCH_NAME=bench-remotes.sh
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PROMPTS=${BENCH_PROMPTS:-1000}
RUNS=${BENCH_RUNS:-10}
WARMUP=${BENCH_WARMUP:-2}
BUDGET=${BENCH_BUDGET:-90}
RELEASES=$((PROMPTS * 10))

need_pkg hyperfine hyperfine
build_pulse
hermetic_tmp pulse-bench-remotes "${BENCH_KEEP:-0}"
case $TMP$PULSE$GIT in *[[:space:]]*) die "paths with blanks break hyperfine -N: set TMPDIR" ;; esac
# No automatic gc/maintenance in the middle of a timed fetch or push (for either side).
"$GIT" config --global gc.auto 0
"$GIT" config --global maintenance.auto false

# ---------------------------------------------------------------------------------------
# Data set (as in scripts/bench.sh): <dir>/<name>/<version>/content.md + metadata.json
# ---------------------------------------------------------------------------------------
DATA="$TMP/data"
say "generating $PROMPTS prompts x 10 releases"
NEW_NAME=$("$PYTHON" "$ROOT/scripts/gen-layout.py" "$DATA" "$PROMPTS" $(( PROMPTS * 3 / 5 + 2 )))
[ -n "$NEW_NAME" ] || die "data generation failed"

# ---------------------------------------------------------------------------------------
# Repositories
# ---------------------------------------------------------------------------------------
#   repo        pulse init + pulse import: the full data, origin = none
#   empty       the same repository right after pulse init (so its root commit is shared)
#   r-full      bare, the full data (pushed with git)
#   repo-inc    repo + 1 release (pulse add), r-inc = r-full + that release
#   clone-full  a clone of r-full whose origin is r-inc (the pull-incremental start state)
say "pulse init + pulse import"
cd "$TMP"
"$PULSE" -q init repo >/dev/null
cp -a repo empty
"$PULSE" --repo repo -q import "$DATA" >/dev/null
TAGS=$("$GIT" -C repo for-each-ref refs/tags | wc -l)
[ "$TAGS" -eq "$RELEASES" ] || die "expected $RELEASES tags after the import, found $TAGS"

"$GIT" init -q --bare -b main r-full
"$GIT" -C repo push -q "$TMP/r-full" refs/heads/main:refs/heads/main 'refs/tags/*:refs/tags/*'

cp -a repo repo-inc
printf '# %s, one more release\n\nYou are a careful reviewer. Answer concisely.\n' "$NEW_NAME" >"$TMP/new.md"
NEW_TAG=$("$PULSE" --repo repo-inc -q add "$NEW_NAME" --bump patch --file "$TMP/new.md")
[ "$NEW_TAG" = "$NEW_NAME@2.0.1" ] || die "pulse add printed '$NEW_TAG'"
cp -a r-full r-inc
"$GIT" -C repo-inc push -q "$TMP/r-inc" main "refs/tags/$NEW_TAG"

"$PULSE" -q clone "$TMP/r-full" clone-full >/dev/null
"$GIT" -C clone-full remote set-url origin "$TMP/r-inc"

# Working copies, one per side, reset by prep.sh before every run.
for side in pulse git; do
    cp -a repo "push-full-$side"                       # origin: an empty bare repository
    "$GIT" -C "push-full-$side" remote add origin "$TMP/push-full-$side.git"
    cp -a repo-inc "push-inc-$side"                    # origin: r-full (one release behind)
    "$GIT" -C "push-inc-$side" remote add origin "$TMP/push-inc-$side.git"
done
"$GIT" -C empty remote add origin "$TMP/r-full"
cat >"$TMP/prep.sh" <<EOF
#!/usr/bin/env bash
# prep.sh KEY: reset the state one timed command starts from (not timed)
set -euo pipefail
cd "$TMP"
case \$1 in
push-full-*) rm -rf "\$1.git"; git init -q --bare -b main "\$1.git" ;;
push-inc-*) rm -rf "\$1.git"; cp -a r-full "\$1.git" ;;
pull-full-*) rm -rf "\$1"; cp -a empty "\$1" ;;
pull-inc-*) rm -rf "\$1"; cp -a clone-full "\$1" ;;
*) echo "prep.sh: unknown key \$1" >&2; exit 2 ;;
esac
EOF
FETCH_ARGS="fetch -q origin +refs/heads/*:refs/remotes/origin/* refs/tags/*:refs/tags/*"
cat >"$TMP/git-pull.sh" <<EOF
#!/usr/bin/env bash
set -euo pipefail
cd "$TMP/\$1"
git fetch -q origin '+refs/heads/*:refs/remotes/origin/*' 'refs/tags/*:refs/tags/*'
git merge -q --ff-only origin/main
EOF
prep() { bash "$TMP/prep.sh" "$1"; }

# The commands, by key (the same strings go to hyperfine and to the checks below).
declare -A CMD
CMD[push-full-pulse]="$PULSE --repo $TMP/push-full-pulse -q push"
CMD[push-full-git]="$GIT -C $TMP/push-full-git push -q --atomic origin refs/heads/main:refs/heads/main refs/tags/*:refs/tags/*"
CMD[pull-full-pulse]="$PULSE --repo $TMP/pull-full-pulse -q pull"
CMD[pull-full-git]="$GIT -C $TMP/pull-full-git $FETCH_ARGS"
CMD[pull-full-gitpull]="bash $TMP/git-pull.sh pull-full-gitpull"
CMD[pull-inc-pulse]="$PULSE --repo $TMP/pull-inc-pulse -q pull"
CMD[pull-inc-git]="$GIT -C $TMP/pull-inc-git $FETCH_ARGS"
CMD[push-inc-pulse]="$PULSE --repo $TMP/push-inc-pulse -q push"
CMD[push-inc-git]="$GIT -C $TMP/push-inc-git push -q origin main refs/tags/$NEW_TAG"
declare -A SECS # KEY -> seconds the checked run took
run() { # KEY: run the command once as hyperfine -N would (split on blanks), timed
    local -a argv
    local t0
    read -r -a argv <<<"${CMD[$1]}"
    t0=$(date +%s.%N)
    "${argv[@]}" >/dev/null
    SECS[$1]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
}

# ---------------------------------------------------------------------------------------
# Correctness, once, before timing
# ---------------------------------------------------------------------------------------
say "checking the results of each command once"
tags_in() { "$GIT" -C "$1" tag -l | wc -l; }
head_of() { "$GIT" -C "$1" rev-parse "$2"; }
FULL_TIP=$(head_of repo main)
INC_TIP=$(head_of repo-inc main)
for side in pulse git; do
    k=push-full-$side; prep "$k"; run "$k"
    [ "$(tags_in "$k.git")" -eq "$RELEASES" ] || die "$k: the remote has $(tags_in "$k.git") tags"
    [ "$(head_of "$k.git" main)" = "$FULL_TIP" ] || die "$k: the remote's main is not the local main"
    "$GIT" -C "$k.git" fsck --no-progress >/dev/null 2>"$RES/$k.fsck" || die "$k: git fsck fails: $(head -3 "$RES/$k.fsck")"
    if [ -s "$RES/$k.fsck" ]; then die "$k: git fsck complains: $(head -3 "$RES/$k.fsck")"; fi
    k=push-inc-$side; prep "$k"; run "$k"
    [ "$(tags_in "$k.git")" -eq $((RELEASES + 1)) ] || die "$k: the remote has $(tags_in "$k.git") tags"
    [ "$(head_of "$k.git" main)" = "$INC_TIP" ] || die "$k: the remote's main is not the local main"
    "$GIT" -C "$k.git" fsck --no-progress >/dev/null 2>&1 || die "$k: git fsck fails"
done
for k in pull-full-pulse pull-full-git pull-full-gitpull; do
    prep "$k"; run "$k"
    [ "$(tags_in "$k")" -eq "$RELEASES" ] || die "$k: $(tags_in "$k") tags after the pull"
    [ "$(head_of "$k" origin/main)" = "$FULL_TIP" ] || die "$k: origin/main is not the remote's main"
done
for k in pull-full-pulse pull-full-gitpull; do
    [ "$(head_of "$k" main)" = "$FULL_TIP" ] || die "$k: main was not brought up to date"
    [ -z "$("$GIT" -C "$k" status --porcelain)" ] || die "$k: git status is not clean after the pull"
done
"$PULSE" --repo pull-full-pulse -q verify >/dev/null || die "pulse verify fails after pulse pull"
for side in pulse git; do
    k=pull-inc-$side; prep "$k"; run "$k"
    [ "$(tags_in "$k")" -eq $((RELEASES + 1)) ] || die "$k: $(tags_in "$k") tags after the pull"
    [ "$(head_of "$k" "refs/tags/$NEW_TAG^{commit}")" = "$INC_TIP" ] || die "$k: $NEW_TAG is not there"
done
[ "$(head_of pull-inc-pulse main)" = "$INC_TIP" ] || die "pull-inc-pulse: main was not fast-forwarded"
"$PULSE" --repo pull-inc-pulse -q verify >/dev/null || die "pulse verify fails after the incremental pulse pull"
echo "ok: push -> $RELEASES (+1) tags and main on the remote, git fsck clean;" \
    "pull -> $RELEASES (+1) tags, main fast-forwarded, worktree clean, pulse verify passes"

# ---------------------------------------------------------------------------------------
# hyperfine: each pair (or triple) in one invocation, every command with its own --prepare
# ---------------------------------------------------------------------------------------
bench() { # NAME KEY...
    local name=$1 k runs=$RUNS warmup=$WARMUP once=0
    shift
    for k in "$@"; do once=$(awk -v a="$once" -v b="${SECS[$k]}" 'BEGIN { print a + b }'); done
    if [ -z "${BENCH_RUNS:-}" ] && awk -v t="$once" -v n=$((RUNS + WARMUP)) -v b="$BUDGET" 'BEGIN { exit !(t * n > b) }'; then
        runs=$(awk -v t="$once" -v b="$BUDGET" -v m="$RUNS" 'BEGIN { r = int(b / t); print (r < 3 ? 3 : r > m ? m : r) }')
        warmup=0
        printf 'note: one run of each command takes %.1f s: %s runs, no warm-up (BENCH_BUDGET=%s)\n' \
            "$once" "$runs" "$BUDGET"
    fi
    local args=(-N --style basic --warmup "$warmup" --runs "$runs" --export-json "$RES/$name.json")
    for k in "$@"; do args+=(--prepare "bash $TMP/prep.sh $k"); done
    for k in "$@"; do args+=(-n "$k" "${CMD[$k]}"); done
    say "hyperfine: $name"
    hyperfine "${args[@]}" >"$RES/$name.log" 2>&1 || { cat "$RES/$name.log" >&2; die "hyperfine failed on $name"; }
    grep -E '^(Benchmark|  Time|  Range)' "$RES/$name.log" || true
}
cd "$TMP"
bench push-full push-full-pulse push-full-git
bench pull-full pull-full-pulse pull-full-git pull-full-gitpull
bench pull-inc pull-inc-pulse pull-inc-git
bench push-inc push-inc-pulse push-inc-git

# ---------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------
say "results (medians; ratio = pulse / git)"
"$PYTHON" - "$RES" >"$RES/table.txt" <<'PY'
import json, os, statistics, sys

res = sys.argv[1]
t = {}
for name in ["push-full", "pull-full", "pull-inc", "push-inc"]:
    with open(os.path.join(res, name + ".json")) as f:
        for r in json.load(f)["results"]:
            t[r["command"]] = r["times"]
med = lambda k: statistics.median(t[k])
ms = lambda x: f"{x * 1000:.1f} ms"
rows = [
    ("push everything", "push-full-pulse", "push-full-git", "git push --atomic"),
    ("pull everything", "pull-full-pulse", "pull-full-git", "git fetch"),
    ("  (context: git pull)", "pull-full-pulse", "pull-full-gitpull", "git fetch + merge --ff-only"),
    ("pull 1 new release", "pull-inc-pulse", "pull-inc-git", "git fetch"),
    ("push 1 new release", "push-inc-pulse", "push-inc-git", "git push main <tag>"),
]
head = ("operation", "pulse median", "git median", "ratio", "git side", "n")
out = [head]
for op, p, g, what in rows:
    out.append((op, ms(med(p)), ms(med(g)), f"{med(p) / med(g):.2f}", what, str(len(t[p]))))
w = [max(len(r[i]) for r in out) for i in range(len(head))]
fmt = lambda r: "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
print(fmt(head))
print("  ".join("-" * x for x in w))
for r in out[1:]:
    print(fmt(r))
PY
cat "$RES/table.txt"
echo
echo "commands (each timed after its own untimed --prepare 'bash prep.sh KEY'; TMP=$TMP):"
for k in push-full-pulse push-full-git pull-full-pulse pull-full-git pull-full-gitpull \
    pull-inc-pulse pull-inc-git push-inc-pulse push-inc-git; do
    printf '  %-18s %s\n' "$k" "${CMD[$k]//$TMP/\$TMP}"
done
echo "  (git-pull.sh: git fetch <same refspecs> && git merge -q --ff-only origin/main)"
echo
echo "repository: $PROMPTS prompts x 10 releases = $RELEASES annotated tags (pulse import); new release: $NEW_TAG"
echo "runs: up to $RUNS timed + $WARMUP warm-up per command (n above); remotes are bare repositories on local paths"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); pulse $("$PULSE" --version | cut -d' ' -f2-), $("$GIT" --version), $(hyperfine --version)"
if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT"
    cp "$RES"/* "$BENCH_OUT"/
    echo "results kept in $BENCH_OUT"
fi
