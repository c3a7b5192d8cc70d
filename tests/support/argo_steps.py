"""Run a submitted Workflow's steps here, in their order, as Argo would run them in the image.

Each step's container is laid out under ``root`` as its filesystem: the workflow's volume at
its mount path (shared by the steps, as the volumeClaimTemplate is), a git input artifact
cloned where its ``path`` says (from a local clone standing in for GitHub), Secrets written
where they are mounted, and the environment from the template: ``env`` with the workflow's
parameters substituted as Argo substitutes ``{{workflow.parameters.*}}``, and ``envFrom``
from the built ConfigMaps and the given Secrets (a missing optional Secret adds nothing).
The command and working directory are the template's, container paths moved under ``root``.
What a test may change: service addresses, the repository's URL, never paths or commands.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
JSON = dict[str, Any]
IMAGE_TMP = "/tmp"  # noqa: S108 - the Dockerfile's HOME and TMPDIR, each pod's emptyDir


class LocalWorkflow:
    def __init__(
        self, root: Path, built: dict[tuple[str, str], JSON], workflow: JSON,
        secrets: dict[str, dict[str, str]], overrides: dict[str, str], repository: Path,
    ) -> None:  # fmt: skip
        self.root, self.built, self.workflow = root, built, workflow
        self.secrets, self.overrides, self.repository = secrets, overrides, repository
        name = workflow["spec"]["workflowTemplateRef"]["name"]
        self.template = built[("WorkflowTemplate", name)]
        spec = self.template["spec"]
        self.parameters = {p["name"]: p.get("value", "") for p in spec["arguments"]["parameters"]}
        given = workflow["spec"].get("arguments", {}).get("parameters", [])
        self.parameters.update({p["name"]: p["value"] for p in given})
        self.templates = {t["name"]: t for t in spec["templates"]}
        self.volumes = {v["name"]: v for v in spec.get("volumes", [])}
        self.claims = {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])}
        self.ran: list[tuple[str, subprocess.CompletedProcess[str]]] = []

    def path(self, container_path: str, step: str) -> Path:
        """Where a container path lives: the claim is shared, anything else per step."""
        return self.root / step / container_path.lstrip("/")

    def _substitute(self, text: str) -> str:
        out = re.sub(r"\{\{workflow\.parameters\.([\w-]+)\}\}",
                     lambda m: self.parameters[m.group(1)], text)  # fmt: skip
        assert "{{" not in out, f"an expression the local runner does not know: {text}"
        return out

    def _mounts(self, step: str, container: JSON) -> dict[str, Path]:
        mounts: dict[str, Path] = {}
        for mount in container.get("volumeMounts", []):
            name = mount["name"]
            target = (self.root / "claims" / name if name in self.claims
                      else self.path(mount["mountPath"], step))  # fmt: skip
            target.mkdir(parents=True, exist_ok=True)
            volume = self.volumes.get(name, {})
            if "secret" in volume:
                for key, text in self.secrets[volume["secret"]["secretName"]].items():
                    (target / key).write_text(text)
                    (target / key).chmod(volume["secret"].get("defaultMode", 0o644))
            mounts[mount["mountPath"]] = target
        return mounts

    def _local(self, value: str, mounts: dict[str, Path]) -> str:
        for mount, target in sorted(mounts.items(), key=lambda m: -len(m[0])):
            if value == mount or value.startswith(mount.rstrip("/") + "/"):
                return str(target) + value[len(mount.rstrip("/")) :]
        return value

    def _environment(self, container: JSON, mounts: dict[str, Path]) -> dict[str, str]:
        env: dict[str, str] = {"HOME": IMAGE_TMP, "TMPDIR": IMAGE_TMP}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(self.built[("ConfigMap", source["configMapRef"]["name"])]["data"])
            else:
                ref = source["secretRef"]
                if ref["name"] not in self.secrets:
                    assert ref.get("optional"), f"Secret {ref['name']} is not optional"
                    continue
                env.update(self.secrets[ref["name"]])
        for item in container.get("env", []):
            env[item["name"]] = self._substitute(item["value"])
        env.update(self.overrides)
        env = {k: self._local(v, mounts) for k, v in env.items()}
        return {**env, "PATH": f"{BIN}:/usr/bin:/bin"}

    def _artifacts(self, step: JSON, mounts: dict[str, Path]) -> None:
        for artifact in step.get("inputs", {}).get("artifacts", []):
            assert "git" in artifact, artifact
            target = Path(self._local(artifact["path"], mounts))
            assert target != Path(artifact["path"]), "the artifact must land on a mounted volume"
            depth = ["--depth", str(artifact["git"]["depth"])] if "depth" in artifact["git"] else []
            subprocess.run(["git", "clone", "-q", *depth, f"file://{self.repository}", str(target)],
                           check=True, capture_output=True)  # fmt: skip

    def run(self, timeout: float = 900) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
        """Every step of the entrypoint, in order, until one fails."""
        entry = self.templates[self.template["spec"]["entrypoint"]]
        for group in entry["steps"]:
            assert len(group) == 1, "parallel steps are not run locally"
            name = group[0]["name"]
            step = self.templates[group[0]["template"]]
            container = step["container"]
            mounts = self._mounts(name, container)
            self._artifacts(step, mounts)
            env = self._environment(container, mounts)
            command = [self._local(w, mounts) for w in container["command"]]
            cwd = Path(self._local(container["workingDir"], mounts))
            result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                                    check=False, timeout=timeout)  # fmt: skip
            self.ran.append((name, result))
            if result.returncode != 0:
                break
        return self.ran
