#!/usr/bin/env bash
# What promote.yml runs on a push to main that touched production paths: judge every push
# since the last judged one (from the push's before commit, or further back to promote's
# marker in MLflow), sign and record the approval of each model version a reviewed merge
# pinned, and move the champion alias (see `driftloop promote --help`). Exit 1 (the rule
# named, an issue opened) when anything reached production without an approval.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# The signing key reaches promote as a file only this job can read, removed on exit; the
# variable holding it is cleared before anything else runs.
if [ -n "${DRIFTLOOP_SIGNING_KEY:-}" ]; then
    key_file="$(umask 077 && mktemp "${RUNNER_TEMP:-/tmp}/driftloop-signing.XXXXXX")"
    trap 'rm -f "$key_file"' EXIT
    printf '%s\n' "$DRIFTLOOP_SIGNING_KEY" > "$key_file"
    unset DRIFTLOOP_SIGNING_KEY
    export DRIFTLOOP_SIGNING_KEY_FILE="$key_file"
else
    echo "promote: no DRIFTLOOP_SIGNING_KEY in the environment: approvals stay unsigned and" \
        "production servers will refuse them (docs/security.md)" >&2
fi

since=()
if [[ "${PUSH_BEFORE:-}" =~ ^[0-9a-f]{40}$ ]] && [[ ! "$PUSH_BEFORE" =~ ^0+$ ]]; then
    since=(--since "$PUSH_BEFORE")
fi
driftloop promote --host github --commit "${GITHUB_SHA:?the pushed commit}" "${since[@]}"
