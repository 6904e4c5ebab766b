#!/usr/bin/env bash
# Everything the test suite starts or drives besides git and cargo, installed where the
# tests find it (idempotent: what is there already is left alone):
#
#   - the S3-compatible test servers and their client: s3s-fs, moto, the aws CLI
#     (scripts/s3-servers.sh, under ~/.cache/progress-pulse-tools);
#   - schemathesis, run against the registry's OpenAPI document
#     (scripts/install-schemathesis.sh, into the same virtualenv: after the S3 tools,
#     which make that virtualenv);
#   - Chromium, which drives the registry's web view headless
#     (scripts/install-chromium.sh, Debian's package);
#   - gpg and ssh-keygen, which the signed-release tests make real keys with (Debian's
#     gnupg and openssh-client packages);
#   - age and age-keygen, which the encryption tests make keys with and decrypt what
#     pulse stored with (Debian's age package).
#
#   bash scripts/test-tools.sh        install what is missing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/s3-servers.sh" install
bash "$here/install-schemathesis.sh"
bash "$here/install-chromium.sh" >/dev/null
# The programs git signs tags with, and age, installed with apt-get when one is missing.
missing=()
command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
command -v age-keygen >/dev/null 2>&1 || missing+=(age)
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v gpg >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 \
    && command -v age-keygen >/dev/null 2>&1 || {
    echo "test-tools: gpg, ssh-keygen and age are needed (Debian: gnupg, openssh-client, age)" >&2
    exit 1
}
