#!/usr/bin/env bash
# The main job on embedded defaults, set-up included: `driftloop demo`, the whole loop on this
# machine (MLflow on SQLite, a local git repository as the repo host, the model server, a real
# Prometheus). The pull request it opens is approved automatically here (--approve); run
# `driftloop demo` without it to review the PR yourself (`driftloop demo approve`).
# Extra arguments go to `driftloop demo` (e.g. --scenario transient|degraded|none).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/driftloop demo --approve --workdir "${DRIFTLOOP_DEMO_DIR:-driftloop-demo}" "$@"
