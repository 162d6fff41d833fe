"""The house holds: each layer imports only those below it, and modules and functions stay small.

Read from the source with `ast`, so a violation names the module, the line and the import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vendorer"

# Bottom to top: a module may import its own layer and those before it in this list.
LAYERS = (
    ("errors", "report", "_util"),
    ("target",),
    ("inputs",),
    ("index",),
    ("resolve",),
    ("lock",),
    ("wheelhouse",),
    ("install",),
    ("check",),
    ("deploy",),
    ("app",),
    ("cli", "__main__"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_LOOSE_MODULES = 6


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "profiles" not in path.parts)


def _layer(module: Path) -> str:
    parts = module.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imported_layers(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, imported module, its layer) of every `vendorer.*` import, TYPE_CHECKING included."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "vendorer" and len(parts) > 1:
                found.append((node.lineno, name, parts[1]))
    return found


def test_no_layer_imports_a_layer_above_it() -> None:
    violations = []
    for module in _modules():
        own = _layer(module)
        if own == "__init__":
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for line, name, layer in _imported_layers(tree):
            if layer in RANK and RANK[layer] > RANK[own]:
                violations.append(f"{module.relative_to(PACKAGE)}:{line}: imports {name}")
    assert violations == []


def test_every_module_belongs_to_a_layer() -> None:
    unknown = {_layer(module) for module in _modules()} - set(RANK) - {"__init__"}
    assert unknown == set()


def test_modules_and_functions_stay_small() -> None:
    too_big = []
    for module in _modules():
        text = module.read_text(encoding="utf-8")
        shown = module.relative_to(PACKAGE)
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            too_big.append(f"{shown}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_big.append(f"{shown}:{node.lineno}: {node.name}() has {length} lines")
    assert too_big == []


def test_few_modules_are_loose_at_the_top() -> None:
    loose = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, loose


@pytest.mark.parametrize("module", ["vendorer.resolve.resolver", "vendorer.resolve.candidates"])
def test_the_resolver_imports_without_an_http_client(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "loaded = [m for m in ('httpx', 'httpcore', 'urllib3', 'requests') if m in sys.modules]; "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
