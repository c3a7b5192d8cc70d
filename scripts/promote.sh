#!/usr/bin/env bash
# What promote.yml runs after a merge touched the production overlay: for the model the
# overlay serves, check the merged PR was approved by someone other than its author, write
# the audit tags to the MLflow version and move the champion alias.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
driftloop promote --host github --model "${MODEL:-churn}"
