"""#23's table: bad input per command, each row (input, exit code, a phrase of the message).

Every row runs the real command in process, in a workspace with the repository's models and
policies, a git repository, data files and MLflow on SQLite. Upstreams that answer what
Prometheus, GitHub or MLflow never would (an HTML page, a JSON object of the wrong shape) are
canned HTTP servers on 127.0.0.1. No row may end in a traceback or exit 70.

The class of #23 each row belongs to is its first field; `test_every_class_has_rows` keeps
the table honest about that.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
from tests.support.canned_http import canned

from driftloop.adapters.localhost import LocalRepoHost
from driftloop.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

# Prometheus answers: each is HTTP 200, none is what Prometheus says.
_SERIES = '{"status": "success", "data": {"resultType": "vector", "result": [%s]}}'
ANSWERS = {
    "html": ("<html><body>Sign in to continue</body></html>", "text/html"),
    "list": ("[1, 2, 3]", "application/json"),
    "no_result": ('{"status": "success", "data": {"resultType": "vector"}}', "application/json"),
    "result_text": (
        '{"status": "success", "data": {"resultType": "vector", "result": "x"}}',
        "application/json",
    ),
    "no_labels": (_SERIES % '{"value": [1, "1"]}', "application/json"),
    "bad_sample": (
        _SERIES % '{"metric": {"model": "churn", "version": "1"}, "value": [1, "abc"]}',
        "application/json",
    ),
    "null_sample": (_SERIES % '{"metric": {"model": "churn"}, "value": null}', "application/json"),
    "object": ('{"unexpected": true}', "application/json"),
}


class Case(NamedTuple):
    section: int  # the class in #23
    argv: str  # split on spaces after {placeholders} are filled; '' is an empty argument
    code: int
    phrase: str
    env: Mapping[str, str] = MappingProxyType({})


P = "--prometheus"
CHECK = "check --model churn --dispatch none"
BACKTEST = "backtest --model churn --start -1d"
RECONCILE = "reconcile --model churn --dry-run"
DOCTOR = "doctor --models {ws}/bad/{name}/models --policies {ws}/bad/{name}/policies"
SERVE = "serve --model-uri {ws}/no-bundle"
GH = {"GITHUB_REPOSITORY": "octo/gitops", "GITHUB_TOKEN": "not-a-token"}
TRIGGER_GH = "trigger --model churn --reason drift --dispatch github"

CASES = [
    # 11: Prometheus answers that are not Prometheus's: exit 3, never a traceback or "0"
    *(
        Case(11, f"{command} {P} {{{answer}}}", 3, phrase)
        for command in (CHECK, BACKTEST, RECONCILE)
        for answer, phrase in (
            ("html", "answered something unexpected: not JSON (text/html)"),
            ("list", "no success status"),
            ("no_result", "no result list"),
            ("result_text", "no result list"),
            ("no_labels", "a series without a label set"),
            ("bad_sample", "answered something unexpected"),
            ("null_sample", "a sample that is not [time, value]"),
        )
    ),
    # 11: steps, timeouts and times that cannot be queried
    Case(11, f"{CHECK} {P} {{empty}} --step 0s", 2, "--step: '0s' must be longer than 0s"),
    Case(11, f"{CHECK} {P} {{empty}} --step abc", 2, "'abc' is not a duration"),
    Case(11, f"{BACKTEST} {P} {{empty}} --step 0s", 2, "must be longer than 0s"),
    Case(11, f"{BACKTEST} {P} {{empty}} --step 99999999999999999w", 2, "longer than 100 years"),
    *(
        Case(
            11, f"{CHECK} {P} {{empty}} --timeout {value}", 2, "must be a number of seconds above 0"
        )
        for value in ("inf", "0", "-1", "nan")
    ),
    Case(11, f"{CHECK} {P} {{empty}} --timeout soon", 2, "'soon' is not a number of seconds"),
    Case(
        11,
        f"{CHECK} {P} {{empty}} --at 9999-12-31T00:00:00Z",
        2,
        "--at '9999-12-31T00:00:00Z' is in the future",
    ),
    Case(11, f"{CHECK} {P} {{empty}} --at 1900-01-01", 2, "--at '1900-01-01' is before 1970"),
    Case(11, f"{CHECK} {P} {{empty}} --at -99999999d", 2, "longer than 100 years"),
    Case(11, f"{CHECK} {P} {{empty}} --at 1e20", 2, "--at '1e20' is not a time"),
    Case(11, f"{RECONCILE} {P} {{empty}} --at 3000-01-01", 2, "is in the future"),
    Case(
        11, f"{BACKTEST.replace('-1d', '1e300')} {P} {{empty}}", 2, "--start '1e300' is not a time"
    ),
    Case(11, f"backtest --model churn --start 2999-01-01 {P} {{empty}}", 2, "is in the future"),
    # 11: configuration files that are not UTF-8 text, or whose durations overflow
    Case(
        11, f"{CHECK} {P} {{empty}} --policy {{ws}}/binary.yaml", 2, "binary.yaml: not UTF-8 text"
    ),
    Case(
        11,
        f"{BACKTEST} {P} {{empty}} --policy {{ws}}/latin1.yaml",
        2,
        "latin1.yaml: not UTF-8 text",
    ),
    Case(
        11,
        f"{CHECK} {P} {{empty}} --policy {{ws}}/overflow.yaml",
        2,
        "defaults.cooldown: '99999999999999999w' is longer than 100 years",
    ),
    Case(
        11,
        "trigger --model churn --reason x --repo {ws} --policy {ws}/overflow.yaml",
        2,
        "longer than 100 years",
    ),
    Case(
        11,
        "gate --model churn --candidate {ws}/c.json --out {ws}/g.json --policy {ws}/binary.yaml",
        2,
        "not UTF-8 text",
    ),
    Case(
        11,
        "retrain --model broken --models {ws}/binary-models --out {ws}/c.json",
        2,
        "model.yaml: not UTF-8 text",
    ),
    Case(
        11, f"{CHECK} {P} {{empty}} --policy {{ws}}/duplicate.yaml", 2, "key 'cooldown' given twice"
    ),
    Case(
        12,
        "gate --model churn --candidate {ws}/c.json --out {ws}/g.json --policy "
        "{ws}/bad/r2-on-classifier/policies/gates.yaml",
        2,
        "models.churn.primary_metric: churn is a binary_classification model",
    ),
    # 12: what doctor must not call valid (exit 1: a failed check, named by its key)
    *(
        Case(12, DOCTOR.replace("{name}", name), 1, phrase)
        for name, phrase in (
            ("unknown-model", "models.nosuch: no such model (churn, taxi, tickets)"),
            (
                "unknown-feature",
                "models.taxi.features.passengers: taxi has no feature 'passengers'",
            ),
            ("gates-unknown-model", "gates.yaml: models.nosuch: no such model"),
            ("auc-above-one", "thresholds.roc_auc.warn: must be between 0 and 1"),
            ("boolean-threshold", "defaults.thresholds.psi.warn: Input should be a valid number"),
            ("nan-threshold", "defaults.thresholds.psi.warn: Input should be a finite number"),
            ("duplicate-key", "key 'cooldown' given twice"),
            ("fairness-window", "defaults.fairness.window: must be one of the recorded windows"),
            ("fairness-negative", "defaults.fairness.max_increase: Input should be greater than 0"),
            ("detection-30d", "defaults.detection.window: windows longer than 24h are whole days"),
            ("estimator", "estimator.class: does not import"),
            (
                "r2-on-classifier",
                "models.churn.primary_metric: churn is a binary_classification model",
            ),
            ("unknown-floor", "defaults.absolute_floors.auroc: no gate computes 'auroc'"),
            ("floor-above-one", "defaults.absolute_floors.roc_auc: must be between 0 and 1"),
            (
                "auc-on-regressor",
                "defaults.performance.thresholds.roc_auc: taxi is a regression model",
            ),
        )
    ),
    # 13: the model server's settings, refused before it listens
    Case(13, f"{SERVE} --port 99999", 2, "--port: '99999' is not a port (1-65535)"),
    Case(13, f"{SERVE} --port -1", 2, "is not a port"),
    Case(13, f"{SERVE} --port http", 2, "'http' is not a port number"),
    Case(
        13, f"{SERVE} --host not..a..host", 2, "--host 'not..a..host': not an address to listen on"
    ),
    Case(13, f"{SERVE} --host 999.1.1.1", 2, "not an address to listen on"),
    Case(13, f"{SERVE} --max-body-bytes -1", 2, "--max-body-bytes: '-1' must be at least 1"),
    Case(13, f"{SERVE} --max-rows 0", 2, "--max-rows: '0' must be at least 1"),
    Case(13, f"{SERVE} --drain-seconds nan", 2, "finite number of seconds, 0 or more"),
    Case(13, f"{SERVE} --approval-wait -1", 2, "finite number of seconds, 0 or more"),
    Case(13, f"{SERVE} --golden {{ws}}/missing.csv", 2, "missing.csv"),
    Case(
        13, f"{SERVE} --golden {{ws}}/ref.csv --gate-policy {{ws}}/binary.yaml", 2, "not UTF-8 text"
    ),
    Case(
        13,
        f"{SERVE} --golden {{ws}}/ref.csv --gate-policy {{ws}}/missing.yaml",
        2,
        "missing.yaml: file not found",
    ),
    # 14: GitHub and MLflow that answer garbage, or URLs of another kind
    Case(
        14,
        TRIGGER_GH,
        2,
        "GITHUB_API_URL 'ftp://example.com' is not an http(s) URL",
        {**GH, "GITHUB_API_URL": "ftp://example.com"},
    ),
    Case(
        14,
        TRIGGER_GH,
        2,
        "GITHUB_API_URL 'api.github.com' is not an http(s) URL",
        {**GH, "GITHUB_API_URL": "api.github.com"},
    ),
    Case(
        14,
        TRIGGER_GH,
        2,
        "GITHUB_REPOSITORY 'gitops' is not owner/name",
        {**GH, "GITHUB_REPOSITORY": "gitops"},
    ),
    *(
        Case(
            14,
            TRIGGER_GH,
            3,
            "GitHub: listing retrain.yml runs: answered something unexpected",
            {**GH, "GITHUB_API_URL": f"{{{answer}}}"},
        )
        for answer in ("html", "list", "object")
    ),
    Case(
        14,
        f"{CHECK.replace('none', 'github')} {P} {{empty}}",
        3,
        "answered something unexpected",
        {**GH, "GITHUB_API_URL": "{html}"},
    ),
    *(
        Case(
            14,
            command,
            2,
            "MLFLOW_TRACKING_URI 'ftp://example.com': MLflow reads no ftp:// store",
            {"MLFLOW_TRACKING_URI": "ftp://example.com"},
        )
        for command in (
            "verify --model-uri models:/churn/1",
            "serve --model-uri models:/churn/1",
            "gate --model churn --candidate {ws}/c.json --out {ws}/g.json",
            "retrain --model churn --data {ws}/train.csv --out {ws}/c.json",
        )
    ),
    Case(
        14,
        "verify --model-uri models:/churn/1",
        3,
        "MLflow: resolving models:/churn/1: answered something unexpected",
        {"MLFLOW_TRACKING_URI": "{object}"},
    ),
    Case(
        14,
        "serve --model-uri models:/churn@champion",
        3,
        "answered something unexpected",
        {"MLFLOW_TRACKING_URI": "{object}"},
    ),
    Case(
        14,
        "verify --model-uri models:/churn/1",
        3,
        "not in a valid JSON format",
        {"MLFLOW_TRACKING_URI": "{html}"},
    ),
    # 14: the model card, the dependency audit and the search's workers
    Case(
        14, "card --model churn --version ../1", 2, "--version '../1': a version number or an alias"
    ),
    Case(14, "card --model Churn! --version 1", 2, "--model 'Churn!': not a model name"),
    Case(
        14,
        "card --model churn --version 1 --format annex-iv --policy {ws}/binary.yaml",
        2,
        "not UTF-8 text",
    ),
    Case(14, "card --model churn --version 1 --format pdf", 2, "invalid choice: 'pdf'"),
    Case(14, "audit-deps --timeout 0", 2, "--timeout 0: between 1 and 600 seconds"),
    Case(14, "audit-deps --osv-url ftp://example.com", 2, "is not an http(s) URL"),
    Case(
        14,
        "audit-deps --requirements {ws}/ref.csv --osv-url http://127.0.0.1:9",
        2,
        "ref.csv:1:",
    ),
    Case(
        14,
        "audit-deps --requirements {ws}/missing.txt --osv-url http://127.0.0.1:9",
        2,
        "cannot read the lock file",
    ),
    Case(
        14,
        "retrain --model churn --data {ws}/train.csv --workers 0 --out {ws}/c.json",
        2,
        "--workers 0: between 1 and 64",
    ),
    Case(
        14,
        "retrain --model churn --data {ws}/train.csv --out {ws}/c.json",
        2,
        "DRIFTLOOP_STUDY_STORAGE is not a database URL",
        {"DRIFTLOOP_STUDY_STORAGE": "notaurl"},
    ),
    # 14: profile and drift options that would silently judge nothing, or everything
    Case(
        14,
        "profile --data {ws}/ref.csv --out {ws}/p.json --bins 0",
        2,
        "--bins: '0' must be from 2 to 100",
    ),
    Case(14, "profile --data {ws}/ref.csv --out {ws}/p.json --bins 1", 2, "must be from 2 to 100"),
    Case(
        14,
        "profile --data {ws}/ref.csv --out {ws}/p.json --top-k 0",
        2,
        "--top-k: '0' must be from 1 to 1000",
    ),
    Case(
        14,
        "drift --reference {ws}/ref.csv --current {ws}/cur.csv --bins 0",
        2,
        "must be from 2 to 100",
    ),
    *(
        Case(
            14,
            f"drift --reference {{ws}}/ref.csv --current {{ws}}/cur.csv --threshold {t}",
            2,
            phrase,
        )
        for t, phrase in (
            ("psi=nan", "'psi=nan': the threshold must be a number above 0"),
            ("psi=-1", "'psi=-1': the threshold must be a number above 0"),
            ("psi=0", "the threshold must be a number above 0"),
            ("psi=inf", "the threshold must be a number above 0"),
            ("ks=2", "'ks=2': ks takes a significance level (alpha) between 0 and 1"),
            ("chisquare=0", "significance level"),
            ("psi", "'psi' is not TEST=NUMBER"),
        )
    ),
    Case(
        14,
        "drift --reference {ws}/ref.csv --current {ws}/cur.csv --tests ''",
        2,
        "--tests '' names no test",
    ),
    Case(
        14,
        "drift --reference {ws}/ref.csv --current {ws}/cur.csv --tests ,,",
        2,
        "--tests ',,' names no test",
    ),
    Case(
        14,
        "drift --reference {ws}/ref.csv --current {ws}/cur.csv --min-samples 0",
        2,
        "must be at least 1",
    ),
    # 14: hand-edited profiles
    *(
        Case(14, f"drift --profile {{ws}}/profiles/{name}.json --current {{ws}}/cur.csv", 2, phrase)
        for name, phrase in (
            ("negative-count", "invalid profile: age.counts: -50 is not a count"),
            ("fractional-count", "age.counts: 2.5 is not a count"),
            ("boolean-count", "age.counts: True is not a count"),
            ("text-count", "age.counts: 'many' is not a count"),
            ("wrong-type", "type must be numeric or categorical, got 'number'"),
            ("edges-backwards", "age: edges must be finite and increasing"),
            ("features-list", "features must map each feature name to its bins"),
            ("negative-rows", "n_rows: -3 is not a count"),
            ("no-other-bin", "plan: a categorical feature's bins end with '__other__', 'missing'"),
            ("calibration", "prediction_calibration holds probabilities"),
        )
    ),
    # the commands no class above names, so that every command has rows
    Case(14, "keygen --out {ws}/no-such-dir", 2, "no-such-dir: not a directory"),
    Case(
        14,
        "pin-image --digest sha256:abc --host local --repo {ws}",
        2,
        "'sha256:abc' is not an image digest (sha256: and 64 hex digits)",
    ),
    Case(
        14,
        "propose --model churn --candidate {ws}/c.json --host local --repo {ws}",
        2,
        "propose needs --candidate and --gate-report",
    ),
    Case(14, "promote --withdraw '' --model churn --version 1", 2, "a withdrawal needs a reason"),
    Case(
        14,
        "promote --commit no-such-ref --host local --repo {ws}",
        2,
        "'no-such-ref' is not a commit",
    ),
    Case(14, "demo --scenario no-such", 2, "argument --scenario: invalid choice: 'no-such'"),
    Case(14, "demo approve --workdir {ws}/no-demo", 2, "no open pull request in"),
    # 14: the retrain executor (#22): bad executors and resources, the Argo Server's token
    *(
        Case(
            14,
            f"trigger --model churn --reason x --dispatch {dispatch} --models {{ws}}/bad/{name}/models",
            2,
            phrase,
            env,
        )
        for name, dispatch, phrase, env in (
            (
                "unknown-executor",
                "argo",
                "retrain.executor: Input should be 'github' or 'argo'",
                {},
            ),
            ("negative-resource", "argo", "retrain.resources.requests.cpu: '-1' is negative", {}),
            ("argo-model", "argo", "DRIFTLOOP_ARGO_SERVER is not set", {}),
            (
                "argo-model",
                "argo",
                "missing-token: no such file",
                {
                    "DRIFTLOOP_ARGO_SERVER": "http://127.0.0.1:9",
                    "DRIFTLOOP_ARGO_TOKEN_FILE": "{ws}/missing-token",
                },
            ),
            (
                "argo-model",
                "argo",
                ": cannot be read",
                {
                    "DRIFTLOOP_ARGO_SERVER": "http://127.0.0.1:9",
                    "DRIFTLOOP_ARGO_TOKEN_FILE": "{ws}",
                },
            ),
            ("argo-model", "github", "churn: retrain.executor is argo in model.yaml", {}),
        )
    ),
    Case(
        14,
        f"{DOCTOR.replace('{name}', 'unknown-executor')}",
        1,
        "retrain.executor: Input should be 'github' or 'argo'",
    ),
    # 14: trigger and the local pull requests
    Case(14, "trigger --model churn --reason x --dispatch none", 2, "invalid choice: 'none'"),
    Case(14, "trigger --model churn --reason '' --repo {ws}", 2, "--reason: empty"),
    Case(14, "trigger --model churn --reason '   ' --repo {ws}", 2, "--reason: empty"),
    Case(14, "pulls approve {open} --as '' --repo {ws}", 2, "--as '' is not a login"),
    Case(14, "pulls approve {open} --as 'bob smith' --repo {ws}", 2, "is not a login"),
    Case(14, "pulls merge {open} --as '' --force --repo {ws}", 2, "is not a login"),
    Case(
        14,
        "pulls approve {merged} --as bob --repo {ws}",
        2,
        "#1 is merged: a review now changes nothing",
    ),
    Case(
        14,
        "pulls request-changes {merged} --as bob --repo {ws}",
        2,
        "#1 is merged: a review now changes nothing",
    ),
]


def _argv(text: str, places: dict[str, str]) -> list[str]:
    words = text.format(**places).split(" ")
    return ["" if word in ("''", '""') else word for word in _rejoin(words)]


def _rejoin(words: list[str]) -> list[str]:
    """'bob smith' and '   ' (quoted in the table) as one argument each."""
    out: list[str] = []
    quoted: list[str] | None = None
    for word in words:
        if quoted is not None:
            quoted.append(word)
            if word.endswith("'"):
                out.append(" ".join(quoted)[1:-1])
                quoted = None
        elif (word.startswith("'") and not word.endswith("'")) or word == "'":
            quoted = [word]
        else:
            out.append(word)
    return out


def _frames(ws: Path) -> None:
    rng = np.random.default_rng(23)
    plan = rng.choice(["basic", "plus", "pro"], 600)
    pd.DataFrame({"age": rng.normal(40, 9, 600), "plan": plan}).to_csv(ws / "ref.csv", index=False)
    pd.DataFrame({"age": rng.normal(47, 9, 600), "plan": plan}).to_csv(ws / "cur.csv", index=False)
    assert main(["profile", "--data", str(ws / "ref.csv"), "--out", str(ws / "good.json")]) == 0
    good = json.loads((ws / "good.json").read_text())
    (ws / "profiles").mkdir()

    def edited(name: str, change: object) -> None:
        data = json.loads(json.dumps(good))
        change(data)  # type: ignore[operator]
        (ws / "profiles" / f"{name}.json").write_text(json.dumps(data))

    edited("negative-count", lambda d: d["features"]["age"]["counts"].__setitem__(0, -50))
    edited("fractional-count", lambda d: d["features"]["age"]["counts"].__setitem__(0, 2.5))
    edited("boolean-count", lambda d: d["features"]["age"]["counts"].__setitem__(0, True))
    edited("text-count", lambda d: d["features"]["age"]["counts"].__setitem__(0, "many"))
    edited("wrong-type", lambda d: d["features"]["age"].__setitem__("type", "number"))
    edited("edges-backwards", lambda d: d["features"]["age"]["edges"].reverse())
    edited("features-list", lambda d: d.__setitem__("features", []))
    edited("negative-rows", lambda d: d.__setitem__("n_rows", -3))
    edited("no-other-bin", lambda d: d["features"]["plan"]["bins"].__setitem__(-2, "gold"))
    edited("calibration", lambda d: d.__setitem__("prediction_calibration", [0.2, 1.7]))


# Each a copy of models/ and policies/ with one edit that only a cross-file check can see
# (or that one file's check let through before #23).
BROKEN = {
    "unknown-model": ("policies/drift.yaml", "models:\n", "models:\n  nosuch:\n    min_samples: 10\n"),
    "unknown-feature": ("policies/drift.yaml", "      passenger_count:\n", "      passengers:\n"),
    "gates-unknown-model": ("policies/gates.yaml", "models:\n", "models:\n  nosuch: {}\n"),
    "auc-above-one": ("policies/drift.yaml", "roc_auc: {warn: 0.80, critical: 0.75}",
                      "roc_auc: {warn: 1.5, critical: 1.2}"),
    "boolean-threshold": ("policies/drift.yaml", "psi: {warn: 0.1,", "psi: {warn: true,"),
    "nan-threshold": ("policies/drift.yaml", "psi: {warn: 0.1,", "psi: {warn: .nan,"),
    "duplicate-key": ("policies/drift.yaml", "  cooldown: 24h", "  cooldown: 24h\n  cooldown: 1h\n #"),
    "estimator": ("models/churn/model.yaml", "sklearn.ensemble.HistGradientBoostingClassifier",
                  "sklearn.ensemble.HistGradientBoostingClasifier"),
    "r2-on-classifier": ("policies/gates.yaml", "  churn:\n", "  churn:\n    primary_metric: r2\n"),
    "unknown-floor": ("policies/gates.yaml", "absolute_floors: {roc_auc: 0.70,",
                      "absolute_floors: {auroc: 0.70, roc_auc: 0.70,"),
    "floor-above-one": ("policies/gates.yaml", "absolute_floors: {roc_auc: 0.70,",
                        "absolute_floors: {roc_auc: 70,"),
    "fairness-window": ("policies/drift.yaml", "fairness: {window: 24h,", "fairness: {window: 6h,"),
    "fairness-negative": ("policies/drift.yaml", "max_increase: 0.03,", "max_increase: -0.03,"),
    "detection-30d": ("policies/drift.yaml", "detection: {window: 5m,", "detection: {window: 30d,"),
    "auc-on-regressor": ("policies/drift.yaml", "  thresholds:\n    psi: {warn: 0.1, critical: 0.25}\n",
                         ("  thresholds:\n    psi: {warn: 0.1, critical: 0.25}\n  performance:\n"
                          "    thresholds: {roc_auc: {warn: 0.8, critical: 0.75}}\n")),
    "unknown-executor": ("models/churn/model.yaml", "profile: {bins: 10, top_k: 20}",
                         "profile: {bins: 10, top_k: 20}\nretrain: {executor: lambda}"),
    "negative-resource": ("models/churn/model.yaml", "profile: {bins: 10, top_k: 20}",
                          ("profile: {bins: 10, top_k: 20}\nretrain: {executor: argo, "
                           "resources: {requests: {cpu: '-1'}}}")),
    "argo-model": ("models/churn/model.yaml", "profile: {bins: 10, top_k: 20}",
                   "profile: {bins: 10, top_k: 20}\nretrain: {executor: argo}"),
}  # fmt: skip


def _configs(ws: Path) -> None:
    (ws / "binary.yaml").write_bytes(bytes(range(256)) * 2)
    (ws / "latin1.yaml").write_bytes(
        b"apiVersion: driftloop/v1\nkind: DriftPolicy\n# caf\xe9\nmodels: {}\n"
    )
    drift = (ROOT / "policies/drift.yaml").read_text()
    (ws / "overflow.yaml").write_text(
        drift.replace("cooldown: 24h", "cooldown: 99999999999999999w")
    )
    (ws / "duplicate.yaml").write_text(
        drift.replace("cooldown: 24h", "cooldown: 24h\n  cooldown: 1h\n #")
    )
    (ws / "binary-models/broken").mkdir(parents=True)
    (ws / "binary-models/broken/model.yaml").write_bytes(b"name: broken\n\xff\xfe\x00")
    for name, (file, old, new) in BROKEN.items():
        root = ws / "bad" / name
        shutil.copytree(ROOT / "models", root / "models")
        shutil.copytree(ROOT / "policies", root / "policies")
        text = (root / file).read_text()
        assert old in text, (name, old)
        (root / file).write_text(text.replace(old, new, 1))
    (ws / "c.json").write_text(json.dumps(
        {"model": "churn", "version": "1", "model_uri": "models:/churn/1"}
    ))  # fmt: skip
    pd.read_csv(ws / "ref.csv").to_csv(ws / "train.csv", index=False)


def _pulls(ws: Path) -> dict[str, str]:
    git = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x.invalid"}  # fmt: skip
    env = {**os.environ, **git}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=ws, check=True, capture_output=True, env=env)
    host = LocalRepoHost(ws)
    numbers = {}
    for name in ("merged", "open"):
        pull = host.open_pull(
            "churn", f"driftloop/{name}", name, "body",
            {"good.json": lambda text, name=name: text + f"\n{name}\n"}, name, [], [],
        )  # fmt: skip
        numbers[name] = str(pull.number)
    host.approve(int(numbers["merged"]), "bob")
    host.merge(int(numbers["merged"]), "alice")
    return numbers


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ws = tmp_path_factory.mktemp("bad-input-table")
    for folder in ("models", "policies", "k8s"):
        shutil.copytree(ROOT / folder, ws / folder)
    _frames(ws)
    _configs(ws)
    numbers = _pulls(ws)
    with ExitStack() as stack:
        urls = {name: stack.enter_context(canned(*answer)) for name, answer in ANSWERS.items()}
        empty = _SERIES % ""
        urls["empty"] = stack.enter_context(canned(empty))
        yield {"ws": str(ws), **urls, **numbers}


@pytest.mark.parametrize("case", CASES, ids=[f"{c.section}:{c.argv}" for c in CASES])
def test_bad_input(
    case: Case, places: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ws = Path(places["ws"])
    monkeypatch.chdir(ws)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{ws / 'mlflow.db'}")
    for name in (
        "GITHUB_API_URL",
        "GITHUB_REPOSITORY",
        "GITHUB_TOKEN",
        "DRIFTLOOP_DEBUG",
        "DRIFTLOOP_ARGO_SERVER",
        "DRIFTLOOP_ARGO_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(**places))
    try:
        code = main(_argv(case.argv, places))
    except SystemExit as stop:  # argparse
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    said = out + err
    assert "Traceback" not in said
    assert (code, case.phrase in said) == (case.code, True), said[-600:]


def test_every_class_has_rows() -> None:
    counts = {section: sum(c.section == section for c in CASES) for section in (11, 12, 13, 14)}
    assert all(counts.values()), counts
