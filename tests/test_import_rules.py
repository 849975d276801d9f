"""An import rule that import-linter (``lint-imports``, the contracts in pyproject.toml) cannot state: no module of
hub/ or resolvers/ imports another module's private (``_``-prefixed) names (docs/contributing.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import hub

ROOT = Path(hub.__file__).resolve().parent.parent
OURS = ("hub", "resolvers")


def private_imports(text: str) -> list[str]:
    """``from hub... / resolvers... import _name`` statements in ``text`` (line: module.name)."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] in OURS:
            found += [f"line {node.lineno}: {node.module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    sources = sorted(p for package in OURS for p in (ROOT / package).rglob("*.py"))
    assert len(sources) > 100
    found = {str(p.relative_to(ROOT)): private_imports(p.read_text(encoding="utf-8")) for p in sources}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_the_rule_sees_a_private_import_even_inside_a_function() -> None:
    text = "def f():\n    from hub.governance.access import Access, _camel\n"
    assert private_imports(text) == ["line 2: hub.governance.access._camel"]
    assert private_imports("from strawberry.x import _y\nfrom hub import __version__\n") == []
