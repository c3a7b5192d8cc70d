"""The tree shows the loop and stays layered: read with the standard library's ``ast``, the
import graph has no circles, the pure packages reach no adapter, CLI or network client,
every package imports only from its own layer or below, benchmarks and tests do not import
each other, no module grows past 450 lines, and no two test modules share a name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "driftloop"
MAX_LINES = 450

# Low to high: a package may import its own layer or any lower one, never a higher one.
LAYERS: dict[str, int] = {
    "__init__": 0, "errors": 0,
    "config": 1, "synthetic": 1,
    "data": 2, "drift": 2,
    "policy": 3, "gates": 3, "gitops": 3, "generate": 3, "attestation": 3, "card": 3,
    "train": 4,
    "adapters": 5,
    "serve": 6, "loop": 6, "doctor": 6,
    "demo": 7,
    "cli": 8, "__main__": 8,
}  # fmt: skip
PURE = ("config", "synthetic", "drift", "policy", "gates", "gitops", "attestation", "card")
NETWORK = (
    "requests", "httpx", "urllib3", "github", "mlflow", "uvicorn", "starlette", "socket",
    "http.client", "http.server", "urllib.request", "fsspec", "prometheus_client",
)  # fmt: skip
FORBIDDEN_FOR_PURE = ("driftloop.adapters", "driftloop.cli", "driftloop.loop", "driftloop.demo")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    target: str  # the module it names (a submodule when ``from pkg import submodule``)
    top_level: bool  # executed when the module is imported (not inside a function)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        found[module_name(path, root)] = path
    return found


def _resolve(node: ast.ImportFrom, source: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package else source.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _walk(tree: ast.AST, top: bool = True) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(tree):
        nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield child, top
        yield from _walk(child, top and not nested)


def imports_of(path: Path, source: str, known: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    found = []
    for node, top in _walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(source, alias.name, top, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, source, is_package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(source, sub if sub in known else base, top, node.lineno))
    return found


def graph(root: Path, package: str) -> tuple[dict[str, Path], list[Import]]:
    mods = modules(root, package)
    edges = [i for name, path in mods.items() for i in imports_of(path, name, set(mods))]
    return mods, edges


def cycles(nodes: set[str], edges: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other (directly or around a circle) when imported."""
    out: dict[str, set[str]] = {n: set() for n in nodes}
    for edge in edges:
        if edge.top_level and edge.target in nodes:
            out[edge.source].add(edge.target)

    def reach(start: str) -> set[str]:
        seen, todo = set(), list(out[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(out[node])
        return seen

    reached = {n: reach(n) for n in nodes}
    circles = {
        tuple(sorted({n} | {m for m in reached[n] if n in reached[m]}))
        for n in nodes
        if n in reached[n]
    }
    return sorted(list(c) for c in circles)


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layering_problems(edges: list[Import]) -> list[str]:
    problems = []
    for edge in edges:
        if not edge.target.startswith("driftloop"):
            continue
        source, target = layer_of(edge.source), layer_of(edge.target)
        if missing := [name for name in (source, target) if name not in LAYERS]:
            problems.append(f"{edge.source}:{edge.line}: {missing[0]} has no layer in LAYERS")
        elif LAYERS[target] > LAYERS[source]:
            problems.append(
                f"{edge.source}:{edge.line} imports {edge.target} "
                f"(layer {LAYERS[target]} above {LAYERS[source]})"
            )
    return problems


def purity_problems(edges: list[Import]) -> list[str]:
    problems = []
    for edge in edges:
        if layer_of(edge.source) not in PURE:
            continue
        names = (*FORBIDDEN_FOR_PURE, *NETWORK)
        if any(edge.target == n or edge.target.startswith(f"{n}.") for n in names):
            problems.append(f"{edge.source}:{edge.line} (pure) imports {edge.target}")
    return problems


def cross_problems(root: Path, package: str, other: str) -> list[str]:
    return [
        f"{name}:{edge.line} imports {edge.target}"
        for name, path in modules(root, package).items()
        for edge in imports_of(path, name, set())
        if edge.target == other or edge.target.startswith(f"{other}.")
    ]


def long_modules(root: Path, *folders: str) -> list[str]:
    return [
        f"{path.relative_to(root)}: {count} lines"
        for folder in folders
        for path in sorted((root / folder).rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    ]


# ---- the project itself ---------------------------------------------------------------------


def test_no_import_circles_among_driftloop_modules() -> None:
    mods, edges = graph(ROOT / "src", "driftloop")
    assert cycles(set(mods), edges) == []


def test_every_package_imports_only_its_layer_or_lower() -> None:
    _, edges = graph(ROOT / "src", "driftloop")
    assert layering_problems(edges) == []


def test_pure_packages_reach_no_adapter_cli_or_network_client() -> None:
    _, edges = graph(ROOT / "src", "driftloop")
    assert purity_problems(edges) == []


def test_benchmarks_and_tests_do_not_import_each_other() -> None:
    assert cross_problems(ROOT, "benchmarks", "tests") == []
    assert cross_problems(ROOT, "tests", "benchmarks") == []


def test_no_module_over_450_lines() -> None:
    assert long_modules(ROOT, "src", "benchmarks", "scripts") == []


def test_the_six_stages_live_in_the_loop_package() -> None:
    stages = {p.stem for p in (PACKAGE / "loop").glob("*.py")}
    assert {"check", "retrain", "gate", "propose", "promote", "reconcile"} <= stages
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "errors.py"]


# ---- the checks catch what they claim to ----------------------------------------------------


@pytest.fixture
def fake_package(tmp_path: Path) -> Path:
    pkg = tmp_path / "driftloop"
    for folder in ("policy", "adapters", "loop"):
        (pkg / folder).mkdir(parents=True)
        (pkg / folder / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    return tmp_path


def test_a_circle_through_a_from_import_is_found(fake_package: Path) -> None:
    policy = fake_package / "driftloop/policy"
    (policy / "decide.py").write_text("from driftloop.policy.schedule import scheduled\n")
    (policy / "schedule.py").write_text("from driftloop.policy import decide\n")
    mods, edges = graph(fake_package, "driftloop")
    assert cycles(set(mods), edges) == [["driftloop.policy.decide", "driftloop.policy.schedule"]]


def test_a_relative_circle_is_found_and_a_lazy_import_is_not_one(fake_package: Path) -> None:
    policy = fake_package / "driftloop/policy"
    (policy / "a.py").write_text("from .b import x\n")
    (policy / "b.py").write_text("def f():\n    from driftloop.policy.a import y\n")
    mods, edges = graph(fake_package, "driftloop")
    assert cycles(set(mods), edges) == []
    (policy / "b.py").write_text("from . import a\n")
    mods, edges = graph(fake_package, "driftloop")
    assert cycles(set(mods), edges) == [["driftloop.policy.a", "driftloop.policy.b"]]


def test_a_pure_module_reaching_an_adapter_or_network_is_named(fake_package: Path) -> None:
    policy = fake_package / "driftloop/policy"
    (policy / "rules.py").write_text(
        "import numpy\n\ndef f():\n    import requests\n    from driftloop.adapters import x\n"
    )
    _, edges = graph(fake_package, "driftloop")
    assert purity_problems(edges) == [
        "driftloop.policy.rules:4 (pure) imports requests",
        "driftloop.policy.rules:5 (pure) imports driftloop.adapters",
    ]


def test_an_upward_import_is_named(fake_package: Path) -> None:
    (fake_package / "driftloop/adapters/host.py").write_text("from driftloop.loop import check\n")
    _, edges = graph(fake_package, "driftloop")
    assert layering_problems(edges) == [
        "driftloop.adapters.host:1 imports driftloop.loop (layer 6 above 5)"
    ]


def test_benchmarks_importing_tests_is_named(tmp_path: Path) -> None:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks/bench.py").write_text("from tests.support.processes import stop\n")
    assert cross_problems(tmp_path, "benchmarks", "tests") == [
        "benchmarks.bench:1 imports tests.support.processes"
    ]


def test_a_long_module_is_named(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src/long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    (tmp_path / "src/short.py").write_text("x = 1\n" * MAX_LINES)
    assert long_modules(tmp_path, "src") == [f"src/long.py: {MAX_LINES + 1} lines"]


def test_no_two_test_modules_share_a_name() -> None:
    """The test folders are not packages: two test_x.py files collide in one pytest session
    and the whole suite fails to collect."""
    names: dict[str, list[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert {name: paths for name, paths in names.items() if len(paths) > 1} == {}
