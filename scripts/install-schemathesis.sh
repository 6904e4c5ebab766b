#!/usr/bin/env bash
# schemathesis, which the OpenAPI test (tests/runner/openapi.rs) runs against a live
# `pulse serve`, installed from PyPI into the virtualenv under ~/.cache/progress-pulse-tools
# that scripts/s3-servers.sh makes, where the test looks for it by default:
#   venv/bin/schemathesis   schemathesis 4.32.5 (pinned: its command line and checks
#                           change between versions)
#
#   bash scripts/install-schemathesis.sh         install it unless it is there (quiet then)
#   bash scripts/install-schemathesis.sh path    print the executable's path
#
# Run it after `bash scripts/s3-servers.sh install`, which makes that virtualenv anew (and
# so drops schemathesis) when its own packages are missing or of other versions.
set -euo pipefail

TOOLS="$HOME/.cache/progress-pulse-tools"
VENV="$TOOLS/venv"
VERSION=4.32.5
EXE="$VENV/bin/schemathesis"

say() { printf 'install-schemathesis: %s\n' "$*" >&2; }

installed() {
    [ -x "$EXE" ] && [ "$("$EXE" --version 2>/dev/null)" = "schemathesis, version $VERSION" ]
}

# apt PACKAGE...: install Debian packages (apt-get update first).
apt() {
    command -v apt-get >/dev/null 2>&1 || { say "install $* first"; return 1; }
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

install() {
    installed && return 0
    say "installing schemathesis $VERSION into $VENV (pip)"
    mkdir -p "$TOOLS"
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        command -v python3 >/dev/null 2>&1 || apt python3 python3-venv
        rm -rf "$VENV"
        # Debian's python3 makes virtualenvs only with its python3-venv package.
        if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"
            apt python3-venv
            python3 -m venv "$VENV"
        fi
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
    installed || { say "schemathesis $VERSION did not install (or does not run)"; return 1; }
}

case "${1:-install}" in
    install) install ;;
    path) printf '%s\n' "$EXE" ;;
    *) echo "usage: bash scripts/install-schemathesis.sh [install|path]" >&2; exit 2 ;;
esac
