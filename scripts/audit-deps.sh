#!/usr/bin/env bash
# What release.yml's audit job runs: set up, then `driftloop audit-deps` over the image's
# lock file against OSV (OSV_URL, default https://api.osv.dev). Writes OUT/audit.json, which
# the image job stores beside the image digest; exits 1 when the policy fails the release.
set -euo pipefail
out=${1:?usage: scripts/audit-deps.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
driftloop audit-deps --requirements requirements/image.txt --policy policies/dependencies.yaml \
    --osv-url "${OSV_URL:-https://api.osv.dev}" --out "$out/audit.json"
