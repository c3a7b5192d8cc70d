#!/usr/bin/env bash
# What retrain.yml's first job runs: set up, retrain, gate, Evidently report. Writes
# candidate.json, gate-report.json, gate-report.md, evidence.json and drift-report.html to
# OUT, and `passed=true|false` to $GITHUB_OUTPUT when set. Inputs come from the environment:
# MODEL, REASON, TRIGGER_ID, EVIDENCE (never interpolated into this script's text).
set -euo pipefail
out=${1:?usage: scripts/retrain-pipeline.sh OUT_DIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
printf '%s' "${EVIDENCE:-{\}}" > "$out/evidence.json"
# The inputs are checked (length, characters, evidence shape) before anything is trained.
driftloop retrain --model "$MODEL" --reason "${REASON:-manual}" --trigger-id "${TRIGGER_ID:-}" \
    --evidence "$out/evidence.json" --drift-report "$out/drift-report.html" \
    --out "$out/candidate.json"
set +e
driftloop gate --model "$MODEL" --candidate "$out/candidate.json" \
    --out "$out/gate-report.json" --markdown "$out/gate-report.md"
status=$?
set -e
if [ "$status" -gt 1 ]; then
    exit "$status"
fi
passed=$([ "$status" = 0 ] && echo true || echo false)
if [ -n "${GITHUB_OUTPUT:-}" ]; then
    echo "passed=$passed" >> "$GITHUB_OUTPUT"
fi
echo "gates passed: $passed"
