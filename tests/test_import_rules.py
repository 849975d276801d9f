"""Import rules that import-linter (``lint-imports``, the contracts in pyproject.toml) cannot state
(docs/contributing.md): no module of hub/ or resolvers/ imports another module's private (``_``-prefixed) names, and
an import inside a function says why it is there (``# deferred import: <reason>``)."""

from __future__ import annotations

import ast
import re
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


def _sources() -> list[Path]:
    return sorted(p for package in OURS for p in (ROOT / package).rglob("*.py"))


def test_no_module_imports_another_modules_private_names() -> None:
    sources = _sources()
    assert len(sources) > 100
    found = {str(p.relative_to(ROOT)): private_imports(p.read_text(encoding="utf-8")) for p in sources}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_the_rule_sees_a_private_import_even_inside_a_function() -> None:
    text = "def f():\n    from hub.governance.access import Access, _camel\n"
    assert private_imports(text) == ["line 2: hub.governance.access._camel"]
    assert private_imports("from strawberry.x import _y\nfrom hub import __version__\n") == []


# --- in-function imports -------------------------------------------------------------------------------------------

MARKER = re.compile(r"#\s*deferred import:\s*\S")


def unmarked_imports(text: str) -> list[tuple[int, str]]:
    """(line, statement) of every import inside a function of ``text`` without its reason: a ``# deferred import:
    <reason>`` comment at the end of its line, or on the line above it — or above the first of a run of imports
    that follow each other in the same block (blank lines between them allowed)."""
    lines = text.splitlines()
    found = []

    def marked(line: int) -> bool:  # 1-based
        return MARKER.search(lines[line - 1]) is not None

    def line_above(line: int) -> int:  # the nearest line above that is not blank (0: none)
        line -= 1
        while line >= 1 and not lines[line - 1].strip():
            line -= 1
        return line

    def visit(statements: list[ast.stmt], in_function: bool) -> None:
        run_marked, previous = False, None
        for node in statements:
            if in_function and isinstance(node, (ast.Import, ast.ImportFrom)):
                above = line_above(node.lineno)
                marker_above = above >= 1 and lines[above - 1].lstrip().startswith("#") and marked(above)
                continues = previous is not None and above == previous.end_lineno
                run_marked = marker_above or (continues and run_marked)
                if not (run_marked or marked(node.lineno) or marked(node.end_lineno or node.lineno)):
                    found.append((node.lineno, " ".join(ast.get_source_segment(text, node).split())))
                previous = node
            else:
                previous = None
            inner = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for name in ("body", "orelse", "finalbody"):
                block = getattr(node, name, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    visit(block, inner)
            for handler in getattr(node, "handlers", ()):
                visit(handler.body, inner)
            for case in getattr(node, "cases", ()):
                visit(case.body, inner)

    visit(ast.parse(text).body, False)
    return found


def test_every_import_inside_a_function_says_why() -> None:
    found = {(str(p.relative_to(ROOT)), statement): line
             for p in _sources() for line, statement in unmarked_imports(p.read_text(encoding="utf-8"))}
    assert {f"{path}:{line}: {statement}" for (path, statement), line in found.items()} == set()


def test_the_deferred_import_rule_on_a_small_text() -> None:
    text = """\
import os


def top():
    import json
    from a import b  # deferred import: optional dependency

    # deferred import: cycle types<->loaders
    from c import d

    from e import f
    x = 1
    import g
    # deferred import:
    import h
    if x:
        try:
            import i
        except ImportError:  # deferred import: not on this line
            import j


class K:
    import os as l

    def m(self):
        def n():
            from o import (
                p,
            )  # deferred import: start-up time
            import q
        return n
"""
    assert unmarked_imports(text) == [(5, "import json"), (13, "import g"), (15, "import h"), (18, "import i"),
                                      (20, "import j"), (31, "import q")]


def test_no_test_module_imports_another_test_module() -> None:
    """Code shared by tests lives in tests/support/ (or a conftest), never in a test module another one imports."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if "node_modules" in path.parts:  # the bench's installed PostGraphile (git-ignored), not our tests
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno}: {m}" for m in modules
                      if m.startswith("tests.") and m.rsplit(".", 1)[-1].startswith("test_")]
    assert found == []
