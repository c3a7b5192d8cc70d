#!/usr/bin/env bash
# What retrain.yml's propose job runs: a pull request bumping the production model version
# (gates passed) or an issue with the evaluation diff (gates failed). MODEL from the
# environment; OUT holds the retrain job's artifacts.
set -euo pipefail
out=${1:?usage: scripts/propose.sh OUT_DIR}
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
driftloop propose --host github --model "$MODEL" --candidate "$out/candidate.json" \
    --gate-report "$out/gate-report.json" --evidence "$out/evidence.json"
