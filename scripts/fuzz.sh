#!/usr/bin/env bash
# Fuzz every parser pulse reads untrusted input with (fuzz/fuzz_targets/: names, versions,
# selectors, tag messages, sidecars, metadata.json and _index.json, labels.json, the
# configuration, store addresses, the registry's request paths, age content, template
# frontmatter, search patterns and the search cache file), each for SECONDS,
# with cargo-fuzz (libFuzzer) on the nightly toolchain. The build itself stays on stable:
# only this script needs nightly and cargo-fuzz.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 seconds, every target
#
# Each target starts from its seeds (fuzz/seeds/<target>/, committed) and a working corpus
# (fuzz/corpus/<target>/, not committed). A crash or a hang (an input that takes more than
# FUZZ_TIMEOUT seconds, default 2) stops that target: its input is copied to
# fuzz/regressions/<target>/, which the ordinary tests run (tests/runner/fuzz_corpus.rs),
# so fix the bug and commit the input. At the end a table says what ran for how long.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TIMEOUT=${FUZZ_TIMEOUT:-2}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi
# The fuzz build keeps to fuzz/target: sanitizer builds never mix with the others.
unset CARGO_TARGET_DIR
results=()
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/regressions/$t"
    echo "==> fuzzing $t for ${SECONDS_EACH}s" >&2
    log="fuzz/corpus/$t.log"
    if cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb=2048 >"$log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
        [ -n "$runs" ] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
        results+=("$t ok ${runs:-?} runs")
    else
        status=1
        for a in fuzz/artifacts/"$t"/*; do
            [ -f "$a" ] && cp "$a" "fuzz/regressions/$t/" && echo "    kept $a in fuzz/regressions/$t/" >&2
        done
        results+=("$t FOUND A BUG (see $log and fuzz/regressions/$t/)")
    fi
done
printf '\nfuzz.sh: %s s per target, %s\n' "$SECONDS_EACH" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '  %s\n' "${results[@]}"
exit "$status"
