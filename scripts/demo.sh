#!/usr/bin/env bash
# The main job on embedded defaults, set-up included. For now: drift between the churn
# model's reference data and the `persistent` scenario (a marketing push raising
# monthly_charges ~18% from hour 12), both generated on demand from the seeded scenarios.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
set +e
.venv/bin/driftloop drift --model churn \
    --reference demo://churn/reference --current demo://churn/persistent "$@"
status=$?
set -e
case "$status" in
    0) echo "demo: no drift found" ;;
    1) echo "demo: drift found, as the persistent scenario should (driftloop drift exit 1)" ;;
    *) exit "$status" ;;
esac
