"""Every relative link of README.md, docs/*.md and deploy/README.md resolves in a clone: the file or folder exists
inside the repository, and a ``#anchor`` names a heading of the target document. (A link to ``../shared/`` —
outside the repository — is what a clone cannot follow.)"""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.support.docs_markdown import DOC_FILES, ROOT, anchors, relative_links

LINKS = [(name, target) for name in DOC_FILES for target in relative_links(name)]


def test_the_docs_link_each_other():
    """The collection works: the README links every page of docs/, and docs/ links back."""
    readme = {t.split("#")[0] for t in relative_links("README.md")}
    assert {name for name in DOC_FILES if name.startswith("docs/")} <= readme
    assert any(name.startswith("docs/") and "../README.md" in relative_links(name) for name in DOC_FILES)


@pytest.mark.parametrize(("doc", "target"), LINKS, ids=[f"{d}->{t}" for d, t in LINKS])
def test_relative_link_resolves(doc: str, target: str):
    path, _, anchor = target.partition("#")
    resolved = (ROOT / doc).parent / unquote(path) if path else ROOT / doc
    resolved = resolved.resolve()
    assert resolved.is_relative_to(ROOT), f"{doc}: {target} points outside the repository"
    assert resolved.exists(), f"{doc}: {target} does not exist"
    if anchor:
        assert resolved.suffix == ".md", f"{doc}: {target}: an anchor into a file that is not Markdown"
        name = str(resolved.relative_to(ROOT))
        assert anchor in anchors(name), f"{doc}: {target}: no heading #{anchor} in {name} ({sorted(anchors(name))})"


def test_no_doc_mentions_the_design_outside_the_repository():
    for name in DOC_FILES:
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "shared/DESIGN" not in text and "../shared" not in text, f"{name} refers to ../shared/"
