#!/usr/bin/env bash
# The registry benchmark, in one run:
#
# 1. `pulse serve` against nginx serving the same export directory: GET of release content
#    (a different release on each request, cycling through one release of every prompt),
#    requests/s and p99 latency with wrk, rounds alternating which server goes first;
#    budget: pulse at least 0.8 × nginx's requests/s (medians over the rounds).
# 2. `pulse fetch NAME@x.y.z --from http://…` with a warm cache against `pulse fetch` from
#    the local repository (hyperfine); budget: no slower.
# 3. The same fetch with a cold cache (emptied before each run) against `curl` of the
#    release's content.md from the same server (reported; pulse makes two requests, the
#    metadata and the content, and checks the checksum).
#
# Both servers serve the export of the 1,000 × 10 data set on 127.0.0.1 and share the
# machine's cores with wrk, as they would with any client on the same host.
#
# Usage (from the repository root):  bash scripts/bench-serve.sh
#
# Knobs (environment):
#   BENCH_PROMPTS=1000   prompts in the data set (10 releases each)
#   BENCH_ROUNDS=3       wrk runs per server (alternating order)
#   BENCH_DURATION=10    seconds per wrk run
#   BENCH_CONNECTIONS=32 wrk connections; BENCH_THREADS=2 wrk threads
#   BENCH_RUNS=50        hyperfine runs per fetch command
#   BENCH_OUT=DIR        keep the table and raw outputs in DIR
#   BENCH_KEEP=0         1: keep the temporary directory
#   BENCH_STRICT=0       1: exit 3 when a budget fails
set -euo pipefail

BENCH_NAME=bench-serve.sh
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
PROMPTS=${BENCH_PROMPTS:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
RUNS=${BENCH_RUNS:-50}
STRICT=${BENCH_STRICT:-0}

need_pkg wrk wrk
need_pkg nginx nginx
need_pkg hyperfine hyperfine
need_pkg curl curl
NGINX=$(command -v nginx)
build_pulse
hermetic_tmp pulse-bench-serve "${BENCH_KEEP:-0}"

# ---------------------------------------------------------------------------------------
# Data: the repository and its export
# ---------------------------------------------------------------------------------------
DATA="$TMP/data"
say "generating $PROMPTS prompts x 10 releases"
read -r TARGET < <("$PYTHON" "$ROOT/scripts/gen-layout.py" "$DATA" "$PROMPTS" $(( PROMPTS * 2 / 5 + 1 )))
REPO="$TMP/repo"
"$GIT" init -q "$REPO"
(cd "$REPO" && "$PULSE" init -q && "$PULSE" import -q "$DATA" && "$GIT" gc -q)
EXPORT="$TMP/export"
(cd "$REPO" && "$PULSE" export -q "$EXPORT")
VERSION=1.2.0
# One release of every prompt, as URL paths.
(cd "$EXPORT" && find . -path "*/$VERSION/content.md" | sed 's|^\.||' | sort) > "$TMP/paths"
[ "$(wc -l < "$TMP/paths")" -eq "$PROMPTS" ] || die "expected $PROMPTS release paths"
{
    echo 'local paths = {'
    sed 's/.*/  "&",/' "$TMP/paths"
    echo '}'
    echo 'local i = 0'
    echo 'request = function()'
    echo '  i = i % #paths + 1'
    echo '  return wrk.format("GET", paths[i])'
    echo 'end'
} > "$TMP/paths.lua"

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---------------------------------------------------------------------------------------
# The two servers
# ---------------------------------------------------------------------------------------
PULSE_PORT=$(free_port)
"$PULSE" --store "$EXPORT" serve --listen "127.0.0.1:$PULSE_PORT" --allow-anonymous-read \
    --audit-log "$TMP/audit.log" > "$TMP/serve.out" 2> "$TMP/serve.err" &
SERVE_PID=$!
NGINX_PORT=$(free_port)
mkdir -p "$TMP/nginx/logs"
# As root, nginx's workers would drop to 'nobody', who cannot read the private temporary
# directory: they stay the user that runs the benchmark.
NGINX_USER=""
[ "$(id -u)" -eq 0 ] && NGINX_USER="user root;"
cat > "$TMP/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    types { text/markdown md; application/json json; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $EXPORT;
        location ~ /\\.                                    { deny all; }
        location ~ /(labels|_index|_catalog)\\.json\$       { add_header Cache-Control "no-cache"; }
        location ~ /[0-9][^/]*/(content\\.md|metadata\\.json)\$ {
            add_header Cache-Control "public, max-age=31536000, immutable";
        }
    }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" &
NGINX_PID=$!
trap 'kill "$SERVE_PID" "$NGINX_PID" 2>/dev/null || true; cd /; if [ "$BENCH_KEEP_TMP" = 1 ]; then echo "$BENCH_NAME: kept $TMP" >&2; else rm -rf "$TMP"; fi' EXIT
FIRST_PATH=$(head -1 "$TMP/paths")
for url in "http://127.0.0.1:$PULSE_PORT$FIRST_PATH" "http://127.0.0.1:$NGINX_PORT$FIRST_PATH"; do
    for _ in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done
    curl -sf -o /dev/null "$url" || die "no answer from $url"
done
# Both serve the same bytes.
cmp <(curl -sf "http://127.0.0.1:$PULSE_PORT$FIRST_PATH") <(curl -sf "http://127.0.0.1:$NGINX_PORT$FIRST_PATH") \
    || die "pulse serve and nginx sent different bytes for $FIRST_PATH"

# ---------------------------------------------------------------------------------------
# 1. GET of release content: wrk
# ---------------------------------------------------------------------------------------
run_wrk() { # NAME PORT ROUND
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/paths.lua" \
        "http://127.0.0.1:$2" > "$RES/wrk-$1-$3.txt"
    local rps p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$RES/wrk-$1-$3.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$RES/wrk-$1-$3.txt")
    errors=$(grep -c "Non-2xx\|Socket errors" "$RES/wrk-$1-$3.txt" || true)
    [ "$errors" = 0 ] || die "wrk saw errors against $1: $(cat "$RES/wrk-$1-$3.txt")"
    echo "$rps $p99" >> "$RES/wrk-$1.txt"
}
say "warming both servers (one pass over every path)"
wrk -t1 -c4 -d3s -s "$TMP/paths.lua" "http://127.0.0.1:$PULSE_PORT" > /dev/null
wrk -t1 -c4 -d3s -s "$TMP/paths.lua" "http://127.0.0.1:$NGINX_PORT" > /dev/null
for round in $(seq "$ROUNDS"); do
    say "wrk round $round of $ROUNDS (${DURATION}s each, $CONNECTIONS connections)"
    if [ $((round % 2)) = 1 ]; then
        run_wrk pulse "$PULSE_PORT" "$round"; run_wrk nginx "$NGINX_PORT" "$round"
    else
        run_wrk nginx "$NGINX_PORT" "$round"; run_wrk pulse "$PULSE_PORT" "$round"
    fi
done
# to_ms LATENCY: wrk's 1.23ms / 456.00us / 1.02s as milliseconds.
median_rps() { awk '{print $1}' "$1" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
median_p99() {
    awk '{v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' "$1" |
        sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
PULSE_RPS=$(median_rps "$RES/wrk-pulse.txt"); NGINX_RPS=$(median_rps "$RES/wrk-nginx.txt")
PULSE_P99=$(median_p99 "$RES/wrk-pulse.txt"); NGINX_P99=$(median_p99 "$RES/wrk-nginx.txt")

# ---------------------------------------------------------------------------------------
# 2 and 3. Fetches: warm cache vs the local repository; cold cache vs curl
# ---------------------------------------------------------------------------------------
REGISTRY="http://127.0.0.1:$PULSE_PORT"
RELEASE="$TARGET@$VERSION"
cd "$REPO"
"$PULSE" fetch "$RELEASE" --from "$REGISTRY" > /dev/null   # warms the cache
cmp <("$PULSE" fetch "$RELEASE" --from "$REGISTRY") <("$PULSE" fetch "$RELEASE") || die "the registry and the repository differ for $RELEASE"
say "pulse fetch --from (warm cache) vs pulse fetch (local repository)"
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$RES/fetch-warm.json" \
    "$PULSE fetch $RELEASE --from $REGISTRY" "$PULSE fetch $RELEASE" > "$RES/fetch-warm.txt"
say "pulse fetch --from (cold cache) vs curl of the content"
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$RES/fetch-cold.json" \
    --prepare "rm -rf $HOME/.cache/progress-pulse" \
    "$PULSE fetch $RELEASE --from $REGISTRY" \
    "curl -sf -o /dev/null $REGISTRY/$TARGET/$VERSION/content.md" > "$RES/fetch-cold.txt"
medians() { "$PYTHON" -c 'import json,sys; print(" ".join("%.3f" % (r["median"]*1000) for r in json.load(open(sys.argv[1]))["results"]))' "$1"; }
read -r WARM LOCAL < <(medians "$RES/fetch-warm.json")
read -r COLD CURL < <(medians "$RES/fetch-cold.json")

# ---------------------------------------------------------------------------------------
# Table
# ---------------------------------------------------------------------------------------
ratio() { "$PYTHON" -c "print('%.2f' % ($1 / $2))"; }
FAIL=0
verdict() { # OK-CONDITION
    if "$PYTHON" -c "import sys; sys.exit(0 if $1 else 1)"; then echo PASS; else FAIL=1; echo FAIL; fi
}
RPS_RATIO=$(ratio "$PULSE_RPS" "$NGINX_RPS")
WARM_RATIO=$(ratio "$WARM" "$LOCAL")
COLD_RATIO=$(ratio "$COLD" "$CURL")
{
    echo "bench-serve: $PROMPTS prompts x 10 releases, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION}s x $ROUNDS rounds, GET of $PROMPTS different release contents"
    printf '%-44s %12s %12s %8s %s\n' "measure" "pulse" "peer" "ratio" "budget"
    printf '%-44s %12s %12s %8s %s\n' "GET content.md, requests/s (vs nginx)" "$PULSE_RPS" "$NGINX_RPS" "$RPS_RATIO" "$(verdict "$PULSE_RPS >= 0.8 * $NGINX_RPS") (>= 0.80)"
    printf '%-44s %12s %12s %8s %s\n' "GET content.md, p99 latency ms (vs nginx)" "$PULSE_P99" "$NGINX_P99" "$(ratio "$PULSE_P99" "$NGINX_P99")" "(reported)"
    printf '%-44s %12s %12s %8s %s\n' "fetch --from warm cache ms (vs local fetch)" "$WARM" "$LOCAL" "$WARM_RATIO" "$(verdict "$WARM <= $LOCAL") (<= 1.00)"
    printf '%-44s %12s %12s %8s %s\n' "fetch --from cold cache ms (vs curl)" "$COLD" "$CURL" "$COLD_RATIO" "(reported)"
} | tee "$RES/table.txt"
if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT" && cp "$RES"/* "$BENCH_OUT"/
fi
[ "$STRICT" = 1 ] && [ "$FAIL" = 1 ] && exit 3
exit 0
