#!/usr/bin/env bash
# The headless Chromium the web view's tests (tests/runner/web.rs) drive. They use
# PULSE_TEST_CHROMIUM when it is set, else `chromium` or `chromium-browser` on PATH.
#
#   bash scripts/install-chromium.sh    install Debian's chromium, unless one already runs
#
# Idempotent: when a Chromium answers `--version`, it says which and changes nothing.
# Otherwise it installs the `chromium` package with apt-get (through sudo when not root).
# It prints the path of the Chromium found or installed on standard output.

set -euo pipefail

say() { printf 'install-chromium: %s\n' "$*" >&2; }

# found: the path of a Chromium that runs, if there is one.
found() {
    local candidate
    for candidate in "${PULSE_TEST_CHROMIUM:-}" chromium chromium-browser; do
        [ -n "$candidate" ] || continue
        local path
        path="$(command -v -- "$candidate" 2>/dev/null)" || continue
        # The Debian launcher checks /dev/shm and may say so on stderr; only the exit status counts.
        if "$path" --version >/dev/null 2>&1; then
            printf '%s\n' "$path"
            return 0
        fi
    done
    return 1
}

if path="$(found)"; then
    say "$("$path" --version 2>/dev/null) at $path; nothing to do"
    printf '%s\n' "$path"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    say "no chromium found, and no apt-get to install it with: install Chromium, then set PULSE_TEST_CHROMIUM to its path"
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
say "installing Debian's chromium package"
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2

if path="$(found)"; then
    say "$("$path" --version 2>/dev/null) at $path"
    printf '%s\n' "$path"
    exit 0
fi
say "chromium was installed but does not run: see 'chromium --version'"
exit 1
