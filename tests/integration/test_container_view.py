"""The image's view of the world: the drift-check CronJob and the model server run as shipped.

The container's filesystem is reproduced from the Dockerfile (its final stage copies only the
installed package: no repository files) plus the mounts of the built production overlay
(each ConfigMap's keys written where it is mounted, the GitHub App Secret where it is
mounted), its environment from the manifests, and an otherwise empty working directory. Then
the CronJob's exact command runs against a real Prometheus, Pushgateway and the GitHub test
server, and the server's exact command (image entrypoint plus the Rollout's args) against
real MLflow. What a test may change: the addresses of those services (never their paths or
the configuration), and 0.0.0.0 becomes 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.support.approvals import key_folder, sign_approval
from tests.support.argo_server import FakeArgo, argo_server
from tests.support.bundles import train_bundle
from tests.support.github_server import FakeGitHub, app_credentials, github_server
from tests.support.processes import free_port, prometheus, running, stop, wait_for

from driftloop.adapters.mlflow import MlflowRegistry
from driftloop.adapters.registry import CandidateRun
from driftloop.config import load_drift_policy
from driftloop.generate.manifests import main as write_manifests
from driftloop.generate.rules import build_groups, settings_from_policy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def build(repo: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out = subprocess.run(["kubectl", "kustomize", str(repo / "k8s/overlays/production")],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(out) if d}


def dockerfile() -> dict[str, Any]:
    """The final stage of the Dockerfile: what it copies, its entrypoint, env and workdir."""
    stages = re.split(r"(?m)^FROM ", (ROOT / "Dockerfile").read_text())[1:]
    final = stages[-1]
    text = re.sub(r"\\\n\s*", " ", final)
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(re.findall(r"(?m)^ENV (.*)$", text))))
    return {
        "copies": re.findall(r"(?m)^COPY (.*)$", text),
        "entrypoint": json.loads(re.search(r"(?m)^ENTRYPOINT (.*)$", text).group(1)),  # type: ignore[union-attr]
        "env": env,
        "workdir": (re.findall(r"(?m)^WORKDIR (\S+)", text) or ["/"])[-1],
    }


class Container:
    """One container of a built pod spec, laid out under ``root`` as its filesystem."""

    def __init__(
        self, root: Path, docs: dict[tuple[str, str], dict[str, Any]], pod: dict[str, Any]
    ):
        self.root, self.docs, self.pod = root, docs, pod
        self.spec = pod["containers"][0]
        self.image = dockerfile()
        # the final stage brings the installed package and nothing of the repository
        assert self.image["copies"] == ["--from=build /opt/venv /opt/venv"], self.image["copies"]
        self.cwd = self.path(self.image["workdir"])
        self.cwd.mkdir(parents=True, exist_ok=True)

    def path(self, container_path: str) -> Path:
        return self.root / container_path.lstrip("/")

    def mount(self, secrets: dict[str, dict[str, str]]) -> None:
        volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        for mount in self.spec.get("volumeMounts", []):
            target = self.path(mount["mountPath"])
            target.mkdir(parents=True, exist_ok=True)
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                found = self.docs.get(("ConfigMap", volume["configMap"]["name"]))
                for key, text in (found or {}).get("data", {}).items():  # missing: mounts empty
                    (target / key).write_text(text)
            elif "secret" in volume:
                for key, text in secrets[volume["secret"]["secretName"]].items():
                    (target / key).write_text(text)
                    (target / key).chmod(volume["secret"].get("defaultMode", 0o644))
            elif "projected" in volume:  # the kubelet writes the account's token
                for source in volume["projected"]["sources"]:
                    path = source["serviceAccountToken"]["path"]
                    (target / path).write_text(secrets["serviceAccountToken"]["token"])
                    (target / path).chmod(volume["projected"].get("defaultMode", 0o644))

    def environment(self, overrides: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in self.image["env"].items() if not k.startswith("PATH")}
        for source in self.spec.get("envFrom", []):
            env.update(self.docs[("ConfigMap", source["configMapRef"]["name"])]["data"])
        for item in self.spec.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            else:
                ref = item["valueFrom"]["configMapKeyRef"]
                env[item["name"]] = self.docs[("ConfigMap", ref["name"])]["data"][ref["key"]]
        env.update(overrides)
        for key, value in env.items():  # container paths live under the root
            if value.startswith("/"):
                env[key] = str(self.path(value))
        return {**env, "PATH": f"{BIN}:/usr/bin:/bin"}

    def command(self, env: dict[str, str]) -> list[str]:
        words = self.spec.get("command") or self.image["entrypoint"] + self.spec.get("args", [])
        words = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], w) for w in words]
        return [str(self.path(w)) if w.startswith("/etc/") else w for w in words]


@pytest.fixture
def services(tmp_path: Path) -> Iterator[dict[str, Any]]:
    binary = shutil.which("prometheus-pushgateway")
    assert binary is not None, "scripts/setup.sh installs prometheus-pushgateway"
    groups = build_groups(settings_from_policy(load_drift_policy(ROOT / "policies/drift.yaml")))
    port = free_port()
    with (
        github_server(FakeGitHub(token="ghs_app", owner="driftloop", repo="driftloop")) as fake,  # noqa: S106
        argo_server(FakeArgo(token="projected-sa-token")) as argo,  # noqa: S106
        prometheus(tmp_path / "prom", [], groups) as prom,
        running([binary, f"--web.listen-address=127.0.0.1:{port}"],
                f"http://127.0.0.1:{port}/-/ready", "pushgateway", tmp_path / "pg.log") as gateway,
    ):  # fmt: skip
        fake.add_file(".github/workflows/retrain.yml", "on: workflow_dispatch\n")
        yield {"github": fake, "prometheus": prom, "pushgateway": gateway, "argo": argo}
        assert fake.contract_errors == []
        assert argo.contract_errors == []


def run_check(repo: Path, root: Path, services: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    docs = build(repo)
    pod = docs[("CronJob", "drift-check")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = Container(root, docs, pod)
    container.mount({"driftloop-github-app": app_credentials(services["github"]),
                     "serviceAccountToken": {"token": services["argo"].token}})  # fmt: skip
    env = container.environment(
        {
            "DRIFTLOOP_PROMETHEUS_URL": services["prometheus"],
            "GITHUB_API_URL": services["github"].base,
            "DRIFTLOOP_ARGO_SERVER": services["argo"].base,
        }
    )
    command = [
        services["pushgateway"] if w.startswith("http://prometheus-pushgateway") else w
        for w in container.command(env)
    ]
    return subprocess.run(command, cwd=container.cwd, env=env, capture_output=True, text=True,
                          check=False, timeout=120)  # fmt: skip


def test_the_cronjobs_exact_command_runs_in_the_images_filesystem(
    tmp_path: Path, services: dict[str, Any]
) -> None:
    result = run_check(ROOT, tmp_path / "cronjob", services)
    assert result.returncode == 0, result.stderr
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(d["model"] for d in decisions) == ["churn", "taxi", "tickets"]
    assert {d["decision"] for d in decisions} == {"insufficient_data"}  # checked, no telemetry
    assert services["github"].app_token_requests >= 1  # the mounted App key authenticated
    # taxi retrains on Argo: its history was read with the projected token, in one list
    assert [m for m, _ in services["argo"].requests] == ["GET"]
    metrics = httpx.get(f"{services['pushgateway']}/metrics").text
    assert "driftloop_check_last_success_timestamp_seconds{" in metrics


def test_without_the_policy_configmap_the_cronjob_fails_naming_the_path(
    tmp_path: Path, services: dict[str, Any]
) -> None:
    repo = tmp_path / "repo"
    for part in ("k8s", "policies", "models"):
        shutil.copytree(ROOT / part, repo / part)
    base = repo / "k8s/base/kustomization.yaml"
    base.write_text(base.read_text().replace("  - ../../policies\n", ""))
    result = run_check(repo, tmp_path / "cronjob", services)
    assert result.returncode == 2
    assert "/etc/driftloop/policies/drift.yaml: file not found" in result.stderr


def test_the_servers_exact_command_serves_the_pinned_version_from_mlflow(tmp_path: Path) -> None:
    registry = MlflowRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=tmp_path / "art")
    bundle = train_bundle("churn", tmp_path / "bundle", rows=2000)
    version = registry.register_candidate(CandidateRun("churn", bundle, {}, {}, {}), "candidate")
    # production serves only what promote signed (ADR 0005): the repository's public key is
    # swapped for a test key whose private half signs here, as an adopter's keygen would
    repo = tmp_path / "repo"
    for part in ("k8s", "policies", "models"):
        shutil.copytree(ROOT / part, repo / part)
    for shipped in (repo / "policies/approval-keys").glob("*.pub"):
        shipped.unlink()
    keys = key_folder(tmp_path / "keys")
    shutil.copy(next(keys.glob("*.pub")), repo / "policies/approval-keys")
    assert write_manifests([str(repo)]) == 0
    sign_approval(registry, "churn", version.version, keys)
    docs = build(repo)
    pod = docs[("Rollout", "model-server-churn")]["spec"]["template"]["spec"]
    container = Container(tmp_path / "server", docs, pod)
    container.mount({})
    env = container.environment({"MLFLOW_TRACKING_URI": registry.tracking_uri})
    assert env["MODEL_URI"] == f"models:/churn/{version.version}"  # the production pin
    assert env["DRIFTLOOP_REQUIRE_APPROVAL"] == "true"
    mounted = Path(env["DRIFTLOOP_APPROVAL_KEYS"])  # the ConfigMap, where the pod mounts it
    assert sorted(p.name for p in mounted.glob("*.pub")) == [next(keys.glob("*.pub")).name]
    command = container.command(env)
    # the image's entrypoint listens on every interface; here on loopback only
    assert command[:5] == ["driftloop", "serve", "--host", "0.0.0.0", "--port"]  # noqa: S104
    port = free_port()
    command[3:6] = ["127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(command, cwd=container.cwd, env=env)
    try:
        wait_for(f"{url}/readyz", process, timeout=120)
        assert httpx.get(f"{url}/readyz").json()["version"] == version.version
        row = {"tenure_months": 3, "monthly_charges": 90.5, "contract": "month_to_month",
               "payment_method": "electronic_check", "support_calls": 4, "senior_citizen": 1}  # fmt: skip
        scored = httpx.post(f"{url}/invocations", json={"dataframe_records": [row]})
        assert scored.status_code == 200, scored.text
    finally:
        stop(process)
