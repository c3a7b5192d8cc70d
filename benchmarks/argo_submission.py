"""Submitting retrains to Argo Workflows for a fleet (issue #22): one `driftloop check
--dispatch argo` over 200 models that all retrain on the cluster, against a real Prometheus
(the history of benchmarks/check.py) and the local Argo Server and GitHub test servers of the
test suite (every request validated against their API descriptions).

Run: python benchmarks/argo_submission.py [--models 200 --shifted 1 10]
Counts the requests each server received during one check, for each number of models whose
drift lasts long enough to trigger: the history is a fixed number of requests for the whole
fleet; each triggered model adds its own submission (a lookup by trigger id, then the submit).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from check import POLICY, write_history  # noqa: E402
from tests.support.argo_server import FakeArgo, argo_server  # noqa: E402
from tests.support.github_server import FakeGitHub, app_credentials, github_server  # noqa: E402

from driftloop.demo.processes import prometheus  # noqa: E402


def one_check(models: int, shifted: int) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="driftloop-bench-argo-"))
    end = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
    write_history(work / "history.om", models, 5, end, end - 8 * 3600, shifted=shifted)
    subprocess.run([shutil.which("promtool") or "promtool", "tsdb", "create-blocks-from",
                    "openmetrics", str(work / "history.om"), str(work / "tsdb")],
                   check=True, capture_output=True)  # fmt: skip
    (work / "drift.yaml").write_text(POLICY)
    churn = (ROOT / "models/churn/model.yaml").read_text() + "retrain: {executor: argo}\n"
    for m in range(models):
        (work / "models" / f"m{m:03d}").mkdir(parents=True)
        (work / "models" / f"m{m:03d}" / "model.yaml").write_text(
            churn.replace("name: churn", f"name: m{m:03d}")
        )
    params = [{"name": n} for n in ("model", "reason", "trigger-id", "evidence")]
    with (
        prometheus(work, [], [], tsdb=work / "tsdb") as url,
        github_server(FakeGitHub()) as github,
        argo_server(FakeArgo()) as argo,
    ):
        github.add_file(".github/workflows/retrain.yml", "on: workflow_dispatch\n")
        for m in range(models):
            argo.add_template({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
                               "metadata": {"name": f"retrain-m{m:03d}"},
                               "spec": {"arguments": {"parameters": params}}})  # fmt: skip
        (work / "app").mkdir()
        for key, text in app_credentials(github).items():
            (work / "app" / key).write_text(text)
        (work / "token").write_text(argo.token)
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(work),
               "GITHUB_REPOSITORY": f"{github.owner}/{github.repo}", "GITHUB_API_URL": github.base,
               "GITHUB_APP_CREDENTIALS_DIR": str(work / "app"), "DRIFTLOOP_ARGO_SERVER": argo.base,
               "DRIFTLOOP_ARGO_TOKEN_FILE": str(work / "token")}  # fmt: skip
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "driftloop.cli.main", "check", "--prometheus", url,
             "--policy", str(work / "drift.yaml"), "--models", str(work / "models"),
             "--dispatch", "argo", "--json", "--at", datetime.fromtimestamp(end, UTC).isoformat()],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        decisions = [json.loads(line) for line in result.stdout.splitlines()]
        assert argo.contract_errors == [], argo.contract_errors
        assert github.contract_errors == [], github.contract_errors
        by_kind: dict[str, int] = {}
        for method, url_ in argo.requests:
            kind = "submit" if url_.endswith("/submit") else (
                "lookup by trigger id" if "trigger-id" in url_ else "history (list)")
            by_kind[kind] = by_kind.get(kind, 0) + 1
        out = {
            "models": models, "triggered": sum(d["decision"] == "trigger" for d in decisions),
            "workflows": len(argo.workflows), "argo_requests": len(argo.requests),
            "argo_by_kind": by_kind, "github_requests": len(github.requests),
            "github_dispatches": len(github.dispatches), "seconds": round(seconds, 2),
        }  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=200)
    parser.add_argument("--shifted", type=int, nargs="+", default=[0, 1, 10])
    args = parser.parse_args()
    print("| models | triggered | Argo Server requests | of which | GitHub requests | "
          "workflows | check |\n|---|---|---|---|---|---|---|")  # fmt: skip
    for shifted in args.shifted:
        r = one_check(args.models, shifted)
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["argo_by_kind"].items()))  # type: ignore[attr-defined]
        print(f"| {r['models']} | {r['triggered']} | {r['argo_requests']} | {kinds} | "
              f"{r['github_requests']} | {r['workflows']} | {r['seconds']} s |")


if __name__ == "__main__":
    main()
