#!/usr/bin/env bash
# The whole test suite, set-up included: lint (ruff), types (mypy strict), then pytest.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
status=0
ruff check src tests benchmarks scripts || status=1
ruff format --check src tests benchmarks scripts || status=1
mypy || status=1
python -m pytest "$@" || status=1
exit "$status"
