#!/usr/bin/env bash
# Install everything driftloop needs on a fresh Debian machine (as root): Python with venv,
# git, Prometheus (promtool too), the Pushgateway, Alertmanager (amtool too), and the package
# with its test extras in .venv.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

# An environment that installed driftloop itself (the tests that run the workflows with act)
# says so; nothing else skips the set-up.
if [ "${DRIFTLOOP_SETUP:-}" = skip ] && [ -x .venv/bin/driftloop ]; then
    log "skipped (DRIFTLOOP_SETUP=skip)"
    exit 0
fi

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v make >/dev/null 2>&1 || missing+=(make)
if [ "${#missing[@]}" -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "missing ${missing[*]} and no apt-get to install them; install them by hand"
        exit 2
    fi
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python3 - <<'PY' || { log "driftloop needs Python >= 3.11"; exit 2; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
fi
log "installing driftloop[test] into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
