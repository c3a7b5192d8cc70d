"""CODEOWNERS: who owns a path, read the way GitHub reads the file.

GitHub looks for ``.github/CODEOWNERS``, then ``CODEOWNERS``, then ``docs/CODEOWNERS``; lines
are gitignore-like patterns followed by owners (``@user``, ``@org/team`` or an e-mail); the
last matching line wins, and a matching line without owners leaves the path unowned.
https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LOCATIONS", "CodeOwners", "parse_codeowners"]

LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")


def _regex(pattern: str) -> re.Pattern[str]:
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    # A slash at the start or in the middle anchors the pattern at the root; otherwise it
    # matches at any depth, like .gitignore.
    anchored = pattern.startswith("/") or "/" in body
    wildcards = {"**/": "(?:.*/)?", "/**": "(?:/.*)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    pieces = re.split(r"(\*\*/|/\*\*|\*\*|\*|\?)", body)
    parts = [wildcards.get(piece) or re.escape(piece) for piece in pieces]
    prefix = "" if anchored else "(?:.*/)?"
    # `docs/*` owns the files directly in docs/ only (GitHub's documented exception to
    # gitignore); any other pattern also owns everything below a matching directory.
    suffix = "/.*" if directory else ("" if body.endswith("/*") else "(?:/.*)?")
    return re.compile(f"^{prefix}{''.join(parts)}{suffix}$")


@dataclass(frozen=True)
class Rule:
    line: int
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern[str]


@dataclass(frozen=True)
class CodeOwners:
    source: str
    rules: tuple[Rule, ...]

    def rule_for(self, path: str) -> Rule | None:
        path = path.lstrip("/")
        for rule in reversed(self.rules):
            if rule.regex.match(path):
                return rule
        return None

    def owners_of(self, path: str) -> tuple[str, ...]:
        """The owners of ``path`` (``@user``, ``@org/team``, e-mail); empty when unowned."""
        rule = self.rule_for(path)
        return rule.owners if rule else ()


def parse_codeowners(text: str, source: str = ".github/CODEOWNERS") -> CodeOwners:
    rules = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(?<!\\)#.*$", "", raw).strip()
        if not line:
            continue
        pattern, *owners = line.split()
        pattern = pattern.replace("\\#", "#")
        rules.append(Rule(number, pattern, tuple(owners), _regex(pattern)))
    return CodeOwners(source, tuple(rules))
