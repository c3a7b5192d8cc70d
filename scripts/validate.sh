#!/usr/bin/env bash
# One validation entry point for the GitOps repository, run the same way by developers
# (`make validate`), CI and the test suite: Kustomize builds, Kubernetes and CRD schemas,
# Prometheus rules, GitHub workflows (zizmor, JSON Schema) and checkov.
set -euo pipefail

usage() {
    cat <<'USAGE'
usage: scripts/validate.sh [--no-checkov]
  --no-checkov   skip checkov (it needs its own virtual environment, .venv-checkov)
USAGE
}

checkov=1
for arg in "$@"; do
    case "$arg" in
        --no-checkov) checkov=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
failed=0

step() {
    local name=$1
    shift
    if "$@"; then
        echo "ok: $name"
    else
        echo "FAILED: $name" >&2
        failed=1
    fi
}

rules() {
    local tmp
    tmp=$(mktemp -d)
    python -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["spec"], open(sys.argv[2], "w"))' \
        k8s/base/prometheus-rule.yaml "$tmp/rules.yaml"
    promtool check rules "$tmp/rules.yaml"
    local status=$?
    rm -rf "$tmp"
    return $status
}

run_checkov() {
    # checkov pins packaging and boto3 tightly: it gets an environment of its own.
    if [ ! -x .venv-checkov/bin/checkov ]; then
        python3 -m venv .venv-checkov
        .venv-checkov/bin/python -m pip install -q --disable-pip-version-check checkov
    fi
    # k8s/models/<name>, models/ and policies/ are parts of k8s/base (which sets their
    # namespace), never deployed alone: checkov sees them in the base's build.
    BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true \
        .venv-checkov/bin/checkov -d . --framework kubernetes,kustomize,github_actions \
        --skip-download --quiet --compact \
        --skip-path 'k8s/models' --skip-path '^models' --skip-path 'policies'
}

step "kustomize builds, Kubernetes and CRD schemas" python scripts/validate_manifests.py
step "promtool check rules" rules
step "zizmor --offline" zizmor --offline --quiet .github/workflows
step "GitHub workflow schema" check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
if [ "$checkov" = 1 ]; then
    step "checkov" run_checkov
fi
exit "$failed"
