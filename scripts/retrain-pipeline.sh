#!/usr/bin/env bash
# What retrain.yml's first job runs: set up, retrain, gate. Writes candidate.json,
# gate-report.json, gate-report.md, evidence.json, drift-report.html and retrain.log to OUT,
# and `passed=true|false` to $GITHUB_OUTPUT when set. A retrain that refuses its data (exit
# 2: an empty window, a schema change, too few rows) ends here with exit 0 and no candidate:
# the propose job then opens an issue naming the problem. Inputs come from the environment:
# MODEL, REASON, TRIGGER_ID, EVIDENCE (never interpolated into this script's text).
# PHASE `retrain` or `gate` runs only that half (the Argo WorkflowTemplate's train and gate
# steps, k8s/workflows); DRIFTLOOP_INSTALLED=1 (the image) skips the setup.
set -euo pipefail
out=${1:?usage: scripts/retrain-pipeline.sh OUT_DIR [retrain|gate]}
phase=${2:-all}
case "$phase" in all|retrain|gate) ;; *) echo "unknown phase $phase" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
mkdir -p "$out"
if [ "${DRIFTLOOP_INSTALLED:-}" != 1 ]; then
    bash scripts/setup.sh
    export PATH="$PWD/.venv/bin:$PATH"
fi
retrain() {
    printf '%s' "${EVIDENCE:-{\}}" > "$out/evidence.json"
    # The inputs are checked (length, characters, evidence shape) before anything is trained.
    set +e
    driftloop retrain --model "$MODEL" --reason "${REASON:-manual}" \
        --trigger-id "${TRIGGER_ID:-}" --evidence "$out/evidence.json" \
        --drift-report "$out/drift-report.html" --out "$out/candidate.json" 2> "$out/retrain.log"
    local status=$?
    set -e
    cat "$out/retrain.log" >&2
    if [ "$status" = 2 ] && grep -q "driftloop retrain: error:" "$out/retrain.log"; then
        echo "the retrain refused its data: no candidate; the propose job opens an issue"
        exit 0
    elif [ "$status" != 0 ]; then
        exit "$status"
    fi
}
if [ "$phase" != gate ]; then
    retrain
    if [ "$phase" = retrain ]; then
        exit 0
    fi
elif [ ! -f "$out/candidate.json" ]; then
    echo "no candidate (the retrain refused its data): nothing to gate"
    exit 0
fi
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
