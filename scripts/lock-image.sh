#!/usr/bin/env bash
# Regenerate requirements/image.txt: install driftloop into a clean venv, as the Dockerfile
# would without a lock, and pin what pip chose. Review the diff: it is what the next image
# ships and what release.yml's dependency audit judges.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q .
{
    sed -n '1,/^# (a test fails/p' requirements/image.txt
    "$venv/bin/pip" freeze --exclude driftloop
} > requirements/image.txt.new
mv requirements/image.txt.new requirements/image.txt
