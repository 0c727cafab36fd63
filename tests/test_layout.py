"""The architecture rule: imports go one way, and no module imports itself through others.

    data  <-  summarizer.model  <-  summarizer (the product)  <-  eval  <-  summarizer.training
          <-  summarizer.cli and app

Every import counts, including those inside functions: a late import hides a cycle from Python,
not from the design.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("data", "summarizer", "eval", "app")


def layer(module: str) -> int:
    """Rank of a module in the rule above; a module may import only ranks at or below its own."""
    if module == "data" or module.startswith("data."):
        return 0
    if module.startswith("summarizer.model"):
        return 1
    if module.startswith("summarizer.training"):
        return 4
    if module in ("summarizer.cli", "summarizer.__main__"):
        return 5
    if module == "summarizer" or module.startswith("summarizer."):
        return 2
    if module == "eval" or module.startswith("eval."):
        return 3
    if module == "app" or module.startswith("app."):
        return 5
    raise ValueError(f"{module} is in no layer")


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules that `path` imports anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import submodule` imports the submodule; otherwise the module.
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in known else node.module for n in names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = project_modules()
    return {module: imports_of(path, known) - {module} for module, path in known.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if layer(target) > layer(module)
    )


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_imports_go_one_way():
    assert upward_imports(import_graph()) == []


def test_there_are_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_package_inits_import_nothing_above_the_model():
    # `import summarizer` must stay cheap and safe for any layer: it registers the model only.
    assert import_graph()["summarizer"] <= {"summarizer.model"}


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"data.ingest": {"summarizer.api"}, "summarizer.api": set()}, "upward"),
        ({"summarizer.api": {"eval.evaluate"}, "eval.evaluate": set()}, "upward"),
        ({"eval.a": {"eval.b"}, "eval.b": {"eval.a"}}, "cycle"),
        ({"eval.evaluate": {"summarizer.api"}, "summarizer.api": {"data.ingest"}}, None),
    ],
)
def test_the_checks_catch_what_they_guard(graph, expected):
    upward = upward_imports(graph)
    cycle = find_cycle(graph)
    assert bool(upward) == (expected == "upward")
    assert (cycle is not None) == (expected == "cycle")
