#!/usr/bin/env bash
# The sync benchmark: `pulse sync` of the 1,000 × 10 data set from a directory store to
# S3, against `rclone sync` and `aws s3 sync` of the same files to the same server, in
# the same run; the second (nothing to copy) runs of all three; and `pulse --store s3://…
# fetch NAME@x.y.z` against `aws s3 cp` of the same object.
#
# The server is s3s-fs on 127.0.0.1 (scripts/s3-servers.sh installs it and the aws CLI);
# rclone is Debian's package. Each initial sync goes to a fresh bucket of its own (a bucket
# per tool and round: s3s-fs lists a bucket by walking all of it, and answers rclone's
# HEAD of a prefix that exists with 500, which rclone retries for a minute and a half);
# rounds alternate the order of the three tools. Times are wall-clock medians over the
# rounds (initial syncs) or hyperfine runs (no-op syncs, fetches); ratios are pulse over
# the faster peer. Peak memory (max RSS) of pulse's sync comes from /usr/bin/time -v.
#
# Usage (from the repository root):  bash scripts/bench-sync.sh
#
# Knobs (environment):
#   BENCH_PROMPTS=1000   prompts in the data set (10 releases each)
#   BENCH_ROUNDS=3       initial syncs per tool (each into a fresh bucket)
#   BENCH_RUNS=5         hyperfine runs of each no-op sync; fetches run 10 × as many
#   BENCH_OUT=DIR        keep the table and the raw timings in DIR
#   BENCH_KEEP=0         1: keep the temporary directory
#   BENCH_STRICT=0       1: exit 3 when a budget fails
set -euo pipefail

BENCH_NAME=bench-sync.sh
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
# shellcheck source=scripts/s3-servers.sh
. "$ROOT/scripts/s3-servers.sh"
PROMPTS=${BENCH_PROMPTS:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
RUNS=${BENCH_RUNS:-5}
STRICT=${BENCH_STRICT:-0}

need_pkg hyperfine hyperfine
need_pkg rclone rclone
[ -x /usr/bin/time ] || need_pkg /usr/bin/time time
say "installing the S3 test server and the aws CLI if missing (scripts/s3-servers.sh)"
s3_install
build_pulse
hermetic_tmp pulse-bench-sync "${BENCH_KEEP:-0}"

# ---------------------------------------------------------------------------------------
# Server, credentials and the three clients' configuration
# ---------------------------------------------------------------------------------------
s3_start s3s-fs "$TMP/s3"
trap 'kill "$S3_PID" 2>/dev/null || true; cd /; if [ "$BENCH_KEEP_TMP" = 1 ]; then echo "$BENCH_NAME: kept $TMP" >&2; else rm -rf "$TMP"; fi' EXIT
# Only what is set here reaches the clients (a machine-wide AWS_CA_BUNDLE, say, makes
# rclone refuse to start).
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(AWS_[A-Za-z_]*\|RCLONE_[A-Za-z_]*\)=.*/\1/p')
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$TMP/home/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$TMP/home/.aws/credentials"
s3_pulse_config
export RCLONE_CONFIG_S3BENCH_TYPE=s3 RCLONE_CONFIG_S3BENCH_PROVIDER=Other
export RCLONE_CONFIG_S3BENCH_ENDPOINT=$S3_ENDPOINT RCLONE_CONFIG_S3BENCH_REGION=us-east-1
export RCLONE_CONFIG_S3BENCH_ACCESS_KEY_ID=$S3_ACCESS_KEY RCLONE_CONFIG_S3BENCH_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export RCLONE_CONFIG="$TMP/home/rclone.conf"
AWS="$S3_AWS --endpoint-url $S3_ENDPOINT"
: > "$RCLONE_CONFIG"

# ---------------------------------------------------------------------------------------
# Data: a directory store of PROMPTS × 10 releases (what the three tools copy)
# ---------------------------------------------------------------------------------------
say "generating $PROMPTS prompts x 10 releases and making a directory store of them"
read -r TARGET _ < <("$PYTHON" "$ROOT/scripts/gen-layout.py" "$TMP/layout" "$PROMPTS" $(( PROMPTS / 2 )))
SRC="$TMP/src"
"$PULSE" sync "$TMP/layout" "$SRC" --quiet >/dev/null
FILES=$(find "$SRC" -type f | wc -l)
BYTES=$(du -sb "$SRC" | cut -f1)
say "source: $FILES files, $BYTES bytes; server: s3s-fs $S3S_FS_VERSION at $S3_ENDPOINT"

# ---------------------------------------------------------------------------------------
# Initial syncs: each tool into a fresh bucket, ROUNDS times, in rotating order
# ---------------------------------------------------------------------------------------
run_initial() { # TOOL ROUND
    local dst="$1-$2" start end
    mkdir -p "$TMP/s3/data/$dst"
    start=$(date +%s.%N)
    case $1 in
        pulse) "$PULSE" sync "$SRC" "s3://$dst" --quiet >/dev/null ;;
        rclone) rclone sync "$SRC" "S3BENCH:$dst" ;;
        aws) $AWS s3 sync --only-show-errors "$SRC" "s3://$dst" ;;
    esac
    end=$(date +%s.%N)
    awk -v t="$1" -v a="$start" -v b="$end" 'BEGIN { printf "%s %.3f\n", t, b - a }' >> "$RES/initial.txt"
}
TOOLS=(pulse rclone aws)
for r in $(seq 1 "$ROUNDS"); do
    for k in 0 1 2; do
        tool=${TOOLS[$(( (r + k) % 3 ))]}
        say "initial sync, round $r: $tool"
        run_initial "$tool" "$r"
    done
done
say "peak memory of pulse sync (a fresh bucket)"
mkdir -p "$TMP/s3/data/pulse-rss"
/usr/bin/time -v "$PULSE" sync "$SRC" "s3://pulse-rss" --quiet >/dev/null 2>"$RES/rss.txt" || true
RSS_KB=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$RES/rss.txt")
# Every tool copied every file.
for tool in pulse rclone aws; do
    n=$($AWS s3 ls --recursive "s3://$tool-1/" | wc -l)
    [ "$n" = "$FILES" ] || die "$tool copied $n objects, not $FILES"
done

# ---------------------------------------------------------------------------------------
# No-op syncs (everything already there) and one fetch
# ---------------------------------------------------------------------------------------
say "no-op syncs (hyperfine, $RUNS runs each)"
hyperfine -N --style basic --warmup 1 --runs "$RUNS" --export-json "$RES/noop.json" \
    -n pulse "$PULSE sync $SRC s3://pulse-1 --quiet" \
    -n rclone "rclone sync $SRC S3BENCH:rclone-1" \
    -n aws "$AWS s3 sync --only-show-errors $SRC s3://aws-1" >&2
VERSION=1.10.1
say "fetch $TARGET@$VERSION from S3 (hyperfine, $(( RUNS * 10 )) runs each)"
"$PULSE" --store "s3://pulse-1" fetch "$TARGET@$VERSION" > "$RES/pulse.out"
$AWS s3 cp "s3://pulse-1/$TARGET/$VERSION/content.md" - > "$RES/aws.out"
cmp "$RES/pulse.out" "$RES/aws.out" || die "pulse and aws s3 cp read different bytes"
hyperfine -N --style basic --warmup 3 --runs $(( RUNS * 10 )) --export-json "$RES/fetch.json" \
    -n pulse "$PULSE --store s3://pulse-1 fetch $TARGET@$VERSION" \
    -n aws "$AWS s3 cp s3://pulse-1/$TARGET/$VERSION/content.md -" >&2

# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------
status=0
"$PYTHON" - "$RES" "$RSS_KB" "$FILES" "$PROMPTS" > "$RES/table.md" <<'EOF' || status=$?
import json, statistics, sys
res, rss_kb, files, prompts = sys.argv[1], int(sys.argv[2] or 0), sys.argv[3], int(sys.argv[4])
initial = {}
for line in open(f"{res}/initial.txt"):
    tool, t = line.split()
    initial.setdefault(tool, []).append(float(t))
def med(xs): return statistics.median(xs)
def hf(name):
    return {r["command"]: med(r["times"]) for r in json.load(open(f"{res}/{name}.json"))["results"]}
noop, fetch = hf("noop"), hf("fetch")
fails = 0
def row(what, p, peers, unit=1.0, fmt="{:.2f} s"):
    global fails
    best = min(peers.values())
    ratio = p / best
    ok = ratio <= 1.0
    fails += not ok
    peers_s = " · ".join(f"{k} {fmt.format(v * unit)}" for k, v in peers.items())
    print(f"| {what} | {fmt.format(p * unit)} | {peers_s} | {ratio:.2f}× | {'passes' if ok else '**fails**'} |")
print(f"Sync of {prompts} prompts × 10 releases ({files} files) from a directory store to s3s-fs on 127.0.0.1.\n")
print("| operation | pulse (median) | peers (median) | pulse / faster peer | budget ≤ 1 |")
print("|---|---|---|---|---|")
row("initial sync to a fresh bucket", med(initial["pulse"]), {"rclone sync": med(initial["rclone"]), "aws s3 sync": med(initial["aws"])})
row("second sync, nothing to copy", noop["pulse"], {"rclone sync": noop["rclone"], "aws s3 sync": noop["aws"]})
row("fetch one release (`aws s3 cp`)", fetch["pulse"], {"aws s3 cp": fetch["aws"]}, 1000.0, "{:.1f} ms")
print(f"\nPeak memory of `pulse sync` (fresh bucket): {rss_kb / 1024:.1f} MiB.")
print("Initial syncs, every round (s): " + "; ".join(f"{k} " + ", ".join(f"{t:.2f}" for t in v) for k, v in initial.items()))
sys.exit(3 if fails else 0)
EOF
cat "$RES/table.md"
if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT" && cp "$RES"/* "$BENCH_OUT"/
fi
if [ "$STRICT" = 1 ] && [ "$status" != 0 ]; then exit 3; fi
exit 0
