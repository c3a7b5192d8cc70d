"""Slim GitHub's OpenAPI description to the operations driftloop uses.

The full description (npm package @octokit/openapi, generated/api.github.com.json, ~13 MB) is
cut down to these operations and the components they reference; examples are dropped. The
result is the contract the local GitHub test server validates every request and response
against (tests/contract/github-openapi.json).

Usage: python scripts/slim_github_openapi.py [FULL_SPEC.json] [OUT.json]
Without FULL_SPEC, `npm pack @octokit/openapi@VERSION` fetches it into a temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VERSION = "23.0.2"
OUT = ROOT / "tests/contract/github-openapi.json"
OPERATIONS = [
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"),
    ("post", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
    ("get", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/refs"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("put", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    # what promote judges a merge by, and doctor's checks of the repository's settings
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/orgs/{org}/teams/{team_slug}/members"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/rulesets/{ruleset_id}"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}/secrets"),
    ("get", "/repos/{owner}/{repo}/actions/secrets"),
    # who pushed and merged (GitHub's own record, not commit metadata), what a push changed,
    # and whether a code owner may write (GitHub ignores owners who cannot)
    ("get", "/repos/{owner}/{repo}/activity"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/orgs/{org}/teams/{team_slug}/repos/{owner}/{repo}"),
]


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _strip_examples(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_examples(v) for k, v in node.items() if k not in ("examples", "example")}
    if isinstance(node, list):
        return [_strip_examples(v) for v in node]
    return node


# Where the description contradicts GitHub's own documentation, the documentation wins, and
# the correction is written here. `created` on run listings takes the search syntax its own
# description points to (`>=2026-11-01`), but its schema says `format: date-time`
# (github/rest-api-description#2542, "[Schema Inaccuracy]").
CORRECTIONS = {("parameters", "created"): {"schema": {"type": "string"}}}


def _corrected(components: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for (section, name), change in CORRECTIONS.items():
        if name in components.get(section, {}):
            components[section][name] = {**components[section][name], **change}
    return components


def slim(full: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        item = full["paths"][path]
        target = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        target[method] = item[method]
    paths = _strip_examples(paths)
    components: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    _refs(paths, pending)
    done: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in done:
            continue
        done.add(ref)
        _, _, section, name = ref.split("/", 3)
        value = _strip_examples(full["components"][section][name])
        components.setdefault(section, {})[name] = value
        _refs(value, pending)
    return {
        "openapi": full["openapi"],
        "info": {
            **full["info"],
            "description": f"Slimmed from @octokit/openapi {VERSION} by {Path(__file__).name}",
        },
        "servers": full.get("servers", []),
        "paths": paths,
        "components": {
            k: dict(sorted(v.items())) for k, v in sorted(_corrected(components).items())
        },
    }


def fetch(tmp: Path) -> dict[str, Any]:
    subprocess.run(["npm", "pack", f"@octokit/openapi@{VERSION}", "--silent"], cwd=tmp, check=True)  # noqa: S607
    archive = next(tmp.glob("octokit-openapi-*.tgz"))
    with tarfile.open(archive) as tar:
        member = tar.extractfile("package/generated/api.github.com.json")
        assert member is not None
        return json.load(member)  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) > 1:
        full = json.loads(Path(sys.argv[1]).read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            full = fetch(Path(tmp))
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    out.write_text(json.dumps(slim(full), indent=1, sort_keys=False) + "\n")
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB, {len(OPERATIONS)} operations)")


if __name__ == "__main__":
    main()
