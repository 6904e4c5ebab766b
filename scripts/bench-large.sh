#!/usr/bin/env bash
# Peak memory of one large prompt: every command stays under the prompt's size + 64 MiB.
#
# Builds pulse in release mode, generates one large prompt (text-like by default: random
# words, which compress like real prompts; or incompressible bytes), and runs, each under
# /usr/bin/time -v: pulse add, pulse fetch (to /dev/null and with --output), pulse show,
# pulse export, pulse import (into a fresh repository), pulse verify, pulse fetch after
# 'git gc' (the content then lives in a pack), pulse sync from git to a directory store,
# to S3 (s3s-fs on 127.0.0.1), back to a directory and into a fresh repository, fetches
# from S3 and from the directory store, and, for comparison in the same run,
# 'git hash-object -w' and 'git cat-file -p' of the same content. Fetched, exported and
# imported content is compared byte for byte with the original (cmp). Prints a table:
# command, peak RSS (max RSS), budget, PASS/FAIL, wall time.
#
# Usage (from the repository root):  bash scripts/bench-large.sh
#
# Knobs (environment):
#   BENCH_LARGE_MIB=256      size of the prompt in MiB
#   BENCH_LARGE_KIND=text    'text' (random words) or 'random' (incompressible bytes)
#   BENCH_LARGE_KEEP=0       1: keep the temporary directory (its path is printed)
#   BENCH_LARGE_STRICT=0     1: exit 3 when a pulse command misses its budget
#   BENCH_LARGE_PULSE=PATH   measure this pulse binary instead of building one (e.g. an
#                            older build, for a before/after comparison)
set -euo pipefail

BENCH_NAME=bench-large.sh
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
MIB=${BENCH_LARGE_MIB:-256}
KIND=${BENCH_LARGE_KIND:-text}
STRICT=${BENCH_LARGE_STRICT:-0}
case $MIB in '' | *[!0-9]*) die "BENCH_LARGE_MIB must be a whole number of MiB" ;; esac
case $KIND in text | random) ;; *) die "BENCH_LARGE_KIND must be 'text' or 'random'" ;; esac
SIZE=$((MIB * 1024 * 1024))
BUDGET_KIB=$(((MIB + 64) * 1024))

[ -x /usr/bin/time ] || need_pkg /usr/bin/time time

# ---------------------------------------------------------------------------------------
# Build (before the environment is made hermetic: cargo needs the real HOME)
# ---------------------------------------------------------------------------------------
if [ -n "${BENCH_LARGE_PULSE:-}" ]; then
    PULSE=$(cd "$(dirname "$BENCH_LARGE_PULSE")" && pwd)/$(basename "$BENCH_LARGE_PULSE")
else
    build_pulse
fi
[ -x "$PULSE" ] || die "no binary at $PULSE"

# The S3 server for the sync leg, found (or installed) under the real HOME.
# shellcheck source=scripts/s3-servers.sh
. "$ROOT/scripts/s3-servers.sh"
s3_install

# ---------------------------------------------------------------------------------------
# Temporary directory and hermetic environment (as scripts/bench.sh)
# ---------------------------------------------------------------------------------------
hermetic_tmp pulse-bench-large "${BENCH_LARGE_KEEP:-0}"

# ---------------------------------------------------------------------------------------
# The prompt: deterministic, SIZE bytes
# ---------------------------------------------------------------------------------------
CONTENT="$TMP/big.md"
say "generating a $MIB MiB prompt ($KIND)"
"$PYTHON" - "$CONTENT" "$SIZE" "$KIND" <<'PY'
import random, sys

path, size, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(20240101)
with open(path, "wb") as out:
    if kind == "random":
        left = size
        while left:
            n = min(left, 1 << 20)
            out.write(rng.randbytes(n))
            left -= n
        sys.exit(0)
    # Random words from a vocabulary of a few thousand made-up ones plus common English
    # words, in sentences and lines: it compresses about as well as real prose.
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "we", "xi", "ya", "zu",
                 "pre", "con", "ant", "ing", "ous", "ter", "ble", "ment"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(4000)]
    words += ("the a of to and in is you are review code answer cite never when "
              "always explain step tool user assistant").split() * 20
    written = 0
    while written < size:
        ws = rng.choices(words, k=24000)
        text = "".join(" ".join(ws[i:i + 12]) + ".\n" for i in range(0, len(ws), 12))
        chunk = text.encode()[: size - written]
        out.write(chunk)
        written += len(chunk)
PY
[ "$(stat -c %s "$CONTENT")" -eq "$SIZE" ] || die "the generated prompt does not have $SIZE bytes"
echo "prompt: $SIZE bytes; gzip -1 makes it $(gzip -1 -c "$CONTENT" | wc -c) bytes"

# ---------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------
rss_kib() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }
wall_s() { # "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.55" -> seconds
    sed -n 's/^[[:space:]]*Elapsed (wall clock) time.*): //p' "$1" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}
: >"$RES/rows.tsv"
# measure KEY "LABEL" OUT CMD... : run CMD with stdout to OUT under /usr/bin/time -v
measure() {
    local key=$1 label=$2 out=$3
    shift 3
    say "$label"
    if ! /usr/bin/time -v -o "$RES/$key.time" "$@" >"$out" 2>"$RES/$key.err"; then
        cat "$RES/$key.err" "$RES/$key.time" >&2
        die "'$label' failed"
    fi
    printf '%s\t%s\t%s\t%s\n' "$key" "$label" "$(rss_kib "$RES/$key.time")" "$(wall_s "$RES/$key.time")" >>"$RES/rows.tsv"
}
same() { # FILE WHAT
    cmp -s "$CONTENT" "$1" || die "$2 is not byte-exact"
    echo "ok: $2 is byte-exact"
}

REPO="$TMP/repo"
"$PULSE" init "$REPO" >/dev/null
cd "$REPO"
measure add "pulse add" /dev/null "$PULSE" add big --version 1.0.0 --file "$CONTENT"
[ -z "$("$GIT" status --porcelain)" ] || die "git status is not clean after pulse add"
same "$REPO/prompts/big.md" "the worktree file written by pulse add"
measure fetch "pulse fetch > /dev/null" /dev/null "$PULSE" fetch big
"$PULSE" fetch big >"$TMP/stdout.md"
same "$TMP/stdout.md" "pulse fetch (stdout)"
measure fetch_output "pulse fetch --output FILE" /dev/null "$PULSE" fetch big --output "$TMP/output.md"
same "$TMP/output.md" "pulse fetch --output"
measure show "pulse show" /dev/null "$PULSE" show big
measure export "pulse export" /dev/null "$PULSE" export "$TMP/export"
same "$TMP/export/big/1.0.0/content.md" "pulse export"
measure verify "pulse verify" /dev/null "$PULSE" verify

REPO2="$TMP/imported"
"$PULSE" init "$REPO2" >/dev/null
cd "$REPO2"
measure import "pulse import (fresh repository)" /dev/null "$PULSE" import "$TMP/export"
"$PULSE" fetch big@1.0.0 >"$TMP/imported.md"
same "$TMP/imported.md" "the imported release"
"$GIT" gc --quiet
measure fetch_packed "pulse fetch, packed (after git gc)" /dev/null "$PULSE" fetch big

# Sync across stores: git -> directory -> S3 (s3s-fs on 127.0.0.1) -> directory -> git.
say "starting s3s-fs for the S3 leg"
s3_start s3s-fs "$TMP/s3"
trap 'kill "$S3_PID" 2>/dev/null || true; cd /; if [ "$BENCH_KEEP_TMP" = 1 ]; then echo "$BENCH_NAME: kept $TMP" >&2; else rm -rf "$TMP"; fi' EXIT
mkdir -p "$TMP/s3/data/large"
s3_pulse_config
cd "$TMP"
measure sync_git_dir "pulse sync git -> directory" /dev/null "$PULSE" sync "$REPO" "$TMP/dir1"
same "$TMP/dir1/big/1.0.0/content.md" "the directory store's content"
measure sync_dir_s3 "pulse sync directory -> S3" /dev/null "$PULSE" sync "$TMP/dir1" s3://large
measure fetch_s3 "pulse --store s3:// fetch --output" /dev/null "$PULSE" --store s3://large fetch big --output "$TMP/from-s3.md"
same "$TMP/from-s3.md" "pulse fetch from S3"
measure sync_s3_dir "pulse sync S3 -> directory" /dev/null "$PULSE" sync s3://large "$TMP/dir2"
same "$TMP/dir2/big/1.0.0/content.md" "the release synced back from S3"
measure fetch_dir "pulse --store DIR fetch --output" /dev/null "$PULSE" --store "$TMP/dir2" fetch big --output "$TMP/from-dir.md"
same "$TMP/from-dir.md" "pulse fetch from a directory store"
REPO3="$TMP/back"
"$PULSE" init "$REPO3" >/dev/null
measure sync_dir_git "pulse sync directory -> git" /dev/null "$PULSE" sync "$TMP/dir2" "$REPO3"
(cd "$REPO3" && "$PULSE" fetch big@1.0.0) >"$TMP/back.md"
same "$TMP/back.md" "the release after git -> directory -> S3 -> directory -> git"

GITREPO="$TMP/git"
"$GIT" init -q "$GITREPO"
cd "$GITREPO"
measure git_hash_object "git hash-object -w" "$TMP/blob-id" "$GIT" hash-object -w "$CONTENT"
measure git_cat_file "git cat-file -p" /dev/null "$GIT" cat-file -p "$(cat "$TMP/blob-id")"

# ---------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------
say "results: peak memory (max RSS) against the budget of $MIB MiB + 64 MiB"
awk -F'\t' -v budget="$BUDGET_KIB" -v mib="$MIB" -v failed_file="$RES/failed" '
    BEGIN {
        printf "%-36s %14s %12s  %-6s %8s\n", "command", "peak RSS MiB", "budget MiB", "result", "wall s"
        printf "%-36s %14s %12s  %-6s %8s\n", "-------", "------------", "----------", "------", "------"
    }
    {
        ok = ($3 <= budget) ? "PASS" : "FAIL"
        if (ok == "FAIL" && $1 !~ /^git_/) failed++
        printf "%-36s %14.1f %12d  %-6s %8.2f\n", $2, $3 / 1024, mib + 64, ok, $4
    }
    END { print failed + 0 > failed_file }
' "$RES/rows.tsv" >"$RES/table.txt"
cat "$RES/table.txt"
FAILED=$(cat "$RES/failed")
echo
echo "prompt: $MIB MiB ($KIND); git rows are for comparison and count toward no budget"
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); pulse $("$PULSE" --version | cut -d' ' -f2-), $("$GIT" --version)"
if [ "$FAILED" -gt 0 ]; then
    echo "$FAILED pulse command(s) over budget"
    [ "$STRICT" = 1 ] && exit 3
fi
exit 0
