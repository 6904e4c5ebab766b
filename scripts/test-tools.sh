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
#     (scripts/install-chromium.sh, Debian's package).
#
#   bash scripts/test-tools.sh        install what is missing
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/s3-servers.sh" install
bash "$here/install-schemathesis.sh"
bash "$here/install-chromium.sh" >/dev/null
