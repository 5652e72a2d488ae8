"""The one rule between the layers: a package imports only packages on floors below its own.

The map (lowest floor first) is the one ``docs/architecture.md`` opens with. Every import
counts, at module level or inside a function or ``TYPE_CHECKING`` block: a lazy import is
still a dependency. Packages on the same floor are peers and never import each other.
Besides: ``models/`` never imports ``deployments/`` or ``scripts/``, and ``deployments/``
never imports ``scripts/``. A new top-level package or module under ``models/`` must be
placed on the map before it can be imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("ground", frozenset({"errors", "config_errors", "lazy", "vocabulary", "compiled"})),
    ("sources", frozenset({"data", "registry", "cli", "yaml_file"})),
    ("features", frozenset({"features", "nets", "feed", "benchmark"})),
    ("signals", frozenset({"labels", "regime", "smc"})),
    ("models", frozenset({"predictors", "trading"})),
    ("combining", frozenset({"ensemble", "store"})),
    ("service", frozenset({"serving", "training"})),
    ("evaluation", frozenset({"evaluation"})),
)
"""Floors of ``models/``, lowest first: the top-level packages (or modules) on each."""

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "models": ("deployments", "scripts"),
    "deployments": ("scripts",),
}
"""Top-level trees that a tree never imports."""


def floor_of(layers: Sequence[tuple[str, frozenset[str]]]) -> dict[str, int]:
    """Package name -> floor number."""
    return {name: i for i, (_, names) in enumerate(layers) for name in names}


def imported_modules(path: Path, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path`` (``package``: its package)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # ``from models import training`` imports models.training
                yield node.lineno, f"{module}.{alias.name}"


def _package(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts if parts[-1] == "__init__" else parts[:-1]).removesuffix(".__init__")


def violations(root: Path, layers: Sequence[tuple[str, frozenset[str]]] = LAYERS) -> list[str]:
    """Every import under ``root`` that breaks the rule, as ``path:line: why``."""
    floors = floor_of(layers)
    found: list[str] = []
    for top in sorted(FORBIDDEN):
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root)
            own = rel.parts[1].removesuffix(".py") if top == "models" and len(rel.parts) > 1 else ""
            for line, module in imported_modules(path, _package(root, path)):
                why = _why(top, own, module.split("."), floors, layers)
                if why:
                    found.append(f"{rel}:{line}: {why}")
    return sorted(set(found))


def _why(
    top: str,
    own: str,
    parts: list[str],
    floors: dict[str, int],
    layers: Sequence[tuple[str, frozenset[str]]],
) -> str | None:
    if parts[0] in FORBIDDEN[top]:
        return f"{top}/ imports {parts[0]}/"
    if top != "models" or parts[0] != "models" or len(parts) < 2:
        return None
    target = parts[1]
    if target == own or target == "__version__":
        return None
    for name in (own, target):
        if name not in floors and name != "__init__":
            return f"models.{name} is on no floor of the layer map"
    if own == "__init__":
        return None
    if floors[target] >= floors[own]:
        return (
            f"models.{own} ({layers[floors[own]][0]}) imports models.{target} "
            f"({layers[floors[target]][0]}): only floors below may be imported"
        )
    return None


def test_the_project_keeps_the_rule() -> None:
    assert violations(REPO) == []


def test_every_models_package_is_on_the_map() -> None:
    names = {p.name.removesuffix(".py") for p in (REPO / "models").iterdir()}
    names = {n for n in names if not n.startswith(("_", ".")) and n != "py.typed"}
    assert names == set(floor_of(LAYERS))


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    ("rel", "text", "want"),
    [
        ("models/features/x.py", "from models.training.loop import f\n", "imports models.training"),
        ("models/features/x.py", "import models.predictors.base\n", "imports models.predictors"),
        ("models/features/x.py", "def f():\n    from models import ensemble\n", "models.ensemble"),
        ("models/regime/x.py", "from models.smc import analyzer\n", "only floors below"),
        ("models/store/x.py", "from ..serving import views\n", "imports models.serving"),
        ("models/data/x.py", "from deployments.app import build\n", "models/ imports deployments/"),
        ("models/data/x.py", "import scripts.train\n", "models/ imports scripts/"),
        ("deployments/x.py", "from scripts.train import main\n", "deployments/ imports scripts/"),
        ("models/data/x.py", "from models.newpkg import thing\n", "on no floor"),
    ],
)
def test_the_checker_catches_a_violation(tmp_path: Path, rel: str, text: str, want: str) -> None:
    _write(tmp_path, rel, text)
    _write(tmp_path, "models/features/ok.py", "from models.data import times\nimport numpy\n")
    found = violations(tmp_path)
    assert len(found) == 1 and want in found[0], found
    assert found[0].startswith(f"{rel}:")


def test_the_checker_allows_imports_downward_and_within(tmp_path: Path) -> None:
    _write(tmp_path, "models/evaluation/x.py", "from models.training import loop\n")
    _write(tmp_path, "models/training/y.py", "from models.training.loop import f\nimport models\n")
    _write(tmp_path, "models/__init__.py", "from models.errors import ConfigError\n")
    _write(tmp_path, "deployments/z.py", "from models.serving import state\n")
    assert violations(tmp_path) == []
