#!/usr/bin/env bash
# What release.yml's pin job runs after the image was pushed: a pull request that sets the
# image digest in k8s/base (DIGEST from the environment, never interpolated into this text).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
driftloop pin-image --host github --digest "${DIGEST:?the pushed image digest}"
