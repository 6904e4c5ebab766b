# Shared by the benchmark scripts (sourced, not run): messages, tools, the release build,
# and a temporary directory with a hermetic environment. Set BENCH_NAME before sourcing.

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# need_pkg COMMAND PACKAGE: install PACKAGE with apt-get when COMMAND is missing.
need_pkg() {
    command -v "$1" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "'$1' is missing; install the '$2' package"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing $2"
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq "$2" >&2
    command -v "$1" >/dev/null 2>&1 || die "could not install '$2'"
}

for tool in cargo git python3; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done
PYTHON=$(command -v python3)
GIT=$(command -v git)

# build_pulse: cargo build --release; sets TARGET_DIR and PULSE. Runs before the
# environment is made hermetic (cargo needs the real HOME).
build_pulse() {
    say "building pulse (cargo build --release)"
    (cd "$ROOT" && cargo build --release --quiet --bin pulse)
    TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
        "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    PULSE="$TARGET_DIR/release/pulse"
    [ -x "$PULSE" ] || die "no binary at $PULSE"
}

# hermetic_tmp PREFIX KEEP: a temporary directory TMP (kept at exit when KEEP is 1) with
# RES="$TMP/results", and an environment without the user's git or pulse settings: a
# temporary HOME, no system git config, a fixed identity, no colour, the C locale.
hermetic_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    BENCH_KEEP_TMP=$2
    trap 'cd /; if [ "$BENCH_KEEP_TMP" = 1 ]; then echo "$BENCH_NAME: kept $TMP" >&2; else rm -rf "$TMP"; fi' EXIT
    trap 'exit 130' INT TERM
    RES="$TMP/results"
    mkdir -p "$RES" "$TMP/home"
    while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(GIT_[A-Za-z_]*\|PULSE_[A-Za-z_]*\)=.*/\1/p')
    unset XDG_CONFIG_HOME
    export HOME="$TMP/home"
    export GIT_CONFIG_NOSYSTEM=1
    export GIT_AUTHOR_NAME="Bench Author" GIT_AUTHOR_EMAIL="author@bench.invalid"
    export GIT_COMMITTER_NAME="Bench Author" GIT_COMMITTER_EMAIL="author@bench.invalid"
    export NO_COLOR=1 LC_ALL=C TZ=UTC GIT_TERMINAL_PROMPT=0
}
