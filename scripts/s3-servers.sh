#!/usr/bin/env bash
# The S3-compatible servers that the tests (and the S3 benchmarks) start on 127.0.0.1, and
# the aws CLI as their client, installed under ~/.cache/progress-pulse-tools, where the
# tests look for them by default:
#   bin/s3s-fs              s3s-fs 0.14.1 from crates.io (cargo install; about 2 minutes)
#   venv/bin/moto_server    moto[server] from PyPI, in a Python virtualenv
#   venv/bin/aws            awscli from PyPI, in the same virtualenv
#
#   bash scripts/s3-servers.sh install   install what is missing (quiet when nothing is)
#   bash scripts/s3-servers.sh paths     print the three executables' paths
#
# Sourced (`. scripts/s3-servers.sh`), it only defines the variables and functions below,
# for the benchmark scripts: s3_install; s3_start KIND DIR, which starts s3s-fs or moto
# in the background and sets S3_ENDPOINT and S3_PID; and s3_pulse_config.

S3_TOOLS="$HOME/.cache/progress-pulse-tools"
S3S_FS_VERSION=0.14.1
# Pinned: the tests record what these versions do with conditional writes.
S3_PY_REQUIREMENTS="moto[server]==5.2.5 awscli==1.46.3"
S3S_FS="$S3_TOOLS/bin/s3s-fs"
S3_MOTO="$S3_TOOLS/venv/bin/moto_server"
S3_AWS="$S3_TOOLS/venv/bin/aws"
# The fixed credentials of the test servers (s3s-fs checks them, moto takes any).
S3_ACCESS_KEY=pulse-test-access-key
S3_SECRET_KEY=pulse-test-secret-key

s3_say() { printf 's3-servers: %s\n' "$*" >&2; }

# s3_apt PACKAGE...: install Debian packages (apt-get update first).
s3_apt() {
    command -v apt-get >/dev/null 2>&1 || { s3_say "install $* first"; return 1; }
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}

s3_install_s3s_fs() {
    if [ -x "$S3S_FS" ] && [ "$("$S3S_FS" --version 2>/dev/null)" = "s3s-fs $S3S_FS_VERSION" ]; then
        return 0
    fi
    command -v cargo >/dev/null 2>&1 || { s3_say "cargo is missing"; return 1; }
    s3_say "installing s3s-fs $S3S_FS_VERSION into $S3_TOOLS/bin (cargo install, a few minutes)"
    # Its own temporary target directory, not the project's.
    (unset CARGO_TARGET_DIR
     cargo install s3s-fs --version "=$S3S_FS_VERSION" --locked --features binary \
         --root "$S3_TOOLS" --force --quiet) || return 1
    [ "$("$S3S_FS" --version 2>/dev/null)" = "s3s-fs $S3S_FS_VERSION" ] ||
        { s3_say "s3s-fs $S3S_FS_VERSION did not install"; return 1; }
}

s3_install_venv() {
    local venv="$S3_TOOLS/venv" stamp="$S3_TOOLS/venv/.pulse-requirements"
    if [ -x "$S3_MOTO" ] && [ -x "$S3_AWS" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$S3_PY_REQUIREMENTS" ] &&
        "$venv/bin/python" -c '' 2>/dev/null; then
        return 0
    fi
    s3_say "installing $S3_PY_REQUIREMENTS into $venv (pip)"
    command -v python3 >/dev/null 2>&1 || s3_apt python3 python3-venv || return 1
    rm -rf "$venv"
    # Debian's python3 makes virtualenvs only with its python3-venv package.
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        rm -rf "$venv"
        s3_apt python3-venv || return 1
        python3 -m venv "$venv" || return 1
    fi
    # shellcheck disable=SC2086 # the requirements are words
    "$venv/bin/pip" install --quiet --disable-pip-version-check $S3_PY_REQUIREMENTS || return 1
    [ -x "$S3_MOTO" ] && [ -x "$S3_AWS" ] || { s3_say "moto or awscli did not install"; return 1; }
    printf '%s\n' "$S3_PY_REQUIREMENTS" > "$stamp"
}

s3_install() {
    mkdir -p "$S3_TOOLS"
    s3_install_s3s_fs && s3_install_venv || return 1
    # All three must run, not merely exist.
    "$S3S_FS" --version >/dev/null 2>&1 || { s3_say "$S3S_FS does not run"; return 1; }
    "$S3_MOTO" --help >/dev/null 2>&1 || { s3_say "$S3_MOTO (moto_server) does not run"; return 1; }
    "$S3_AWS" --version >/dev/null 2>&1 || { s3_say "$S3_AWS does not run"; return 1; }
}

# s3_start KIND DIR: start s3s-fs (serving DIR/data) or moto on a free port of 127.0.0.1,
# its output in DIR/KIND.log; wait until it answers; set S3_ENDPOINT and S3_PID.
s3_start() {
    local kind=$1 dir=$2 port i
    mkdir -p "$dir/data"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    case $kind in
        s3s-fs) "$S3S_FS" --host 127.0.0.1 --port "$port" --access-key "$S3_ACCESS_KEY" \
                    --secret-key "$S3_SECRET_KEY" "$dir/data" >"$dir/$kind.log" 2>&1 &;;
        moto) "$S3_MOTO" -H 127.0.0.1 -p "$port" >"$dir/$kind.log" 2>&1 &;;
        *) s3_say "unknown server '$kind' (s3s-fs or moto)"; return 1;;
    esac
    S3_PID=$!
    S3_ENDPOINT="http://127.0.0.1:$port"
    for i in $(seq 1500); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$S3_PID" 2>/dev/null || break
        sleep 0.02
    done
    s3_say "$kind did not start; its output:"
    cat "$dir/$kind.log" >&2
    return 1
}

# s3_pulse_config: point pulse's user configuration ($HOME/.config/progress-pulse) at the
# server s3_start started, with the test credentials.
s3_pulse_config() {
    mkdir -p "$HOME/.config/progress-pulse"
    cat >"$HOME/.config/progress-pulse/config.yaml" <<EOF
storage_config:
  endpoint: $S3_ENDPOINT
  region: us-east-1
  access_key_id: $S3_ACCESS_KEY
  secret_access_key: $S3_SECRET_KEY
EOF
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        install) s3_install ;;
        paths) printf '%s\n' "$S3S_FS" "$S3_MOTO" "$S3_AWS" ;;
        *) echo "usage: bash scripts/s3-servers.sh install|paths" >&2; exit 2 ;;
    esac
fi
