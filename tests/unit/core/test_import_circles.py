"""No import circle in src/joulebench: a lower layer never imports an upper one back."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (SRC / "joulebench").rglob("*.py"):
        rel = path.relative_to(SRC).with_suffix("")
        mods[".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)] = path
    return mods


def _imports(path: Path, module: str, mods: dict[str, Path]) -> set[str]:
    """Every joulebench module ``module`` imports (anywhere in the file), most specific first."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            while name and name not in mods:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def test_no_import_circles() -> None:
    mods = _modules()
    graph = {m: _imports(p, m, mods) for m, p in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    assert circles == [], circles


#: Packages above the runner: nothing outside them (and the shells over them) may import them.
UPPER = ("joulebench.experiments", "joulebench.commands", "joulebench.cli", "joulebench.demo")
#: Top-level entry points that may import them: ``python -m joulebench`` and the ``ls`` listing.
SHELLS = ("joulebench.__main__", "joulebench.plugins")


def _is_under(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_lower_layers_never_import_experiments_or_the_cli() -> None:
    mods = _modules()
    offenders = sorted(
        f"{module} imports {target}"
        for module, path in mods.items() if not _is_under(module, UPPER + SHELLS)
        for target in _imports(path, module, mods) if _is_under(target, UPPER)
    )
    assert offenders == [], offenders


def test_the_study_packages_live_in_experiments_not_reductions() -> None:
    mods = _modules()
    assert {"joulebench.experiments.sweep", "joulebench.experiments.search", "joulebench.experiments.lottery.study",
            "joulebench.experiments.structured.study"} <= set(mods)
    assert not [m for m in mods if m.startswith("joulebench.reductions.") and m.endswith(".study")]
