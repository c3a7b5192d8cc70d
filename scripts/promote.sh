#!/usr/bin/env bash
# What promote.yml runs on a push to main that touched the production overlay: for every
# model whose version pin the pushed commit changes, judge the merge that made it (see
# `driftloop promote --help`), then write the audit tags to the MLflow version and move the
# champion alias. Exit 1 (the rule named) when a version reached main without an approval.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
driftloop promote --host github --commit "${GITHUB_SHA:?the pushed commit}"
