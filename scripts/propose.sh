#!/usr/bin/env bash
# What retrain.yml's propose job runs: a pull request bumping the production model version
# (gates passed), an issue with the evaluation diff (gates failed), or an issue naming why the
# retrain refused its data (no candidate). MODEL, REASON, TRIGGER_ID from the environment;
# OUT holds the retrain job's artifacts.
set -euo pipefail
out=${1:?usage: scripts/propose.sh OUT_DIR}
cd "$(dirname "$0")/.."
if [ "${DRIFTLOOP_INSTALLED:-}" != 1 ]; then  # the image (Argo's propose step) has it
    bash scripts/setup.sh
    export PATH="$PWD/.venv/bin:$PATH"
fi
if [ ! -f "$out/candidate.json" ]; then
    exec driftloop propose --host github --model "$MODEL" --retrain-failed "$out/retrain.log" \
        --reason "${REASON:-manual}" --trigger-id "${TRIGGER_ID:-}"
fi
driftloop propose --host github --model "$MODEL" --candidate "$out/candidate.json" \
    --gate-report "$out/gate-report.json" --evidence "$out/evidence.json"
