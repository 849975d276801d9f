"""Every GraphQL example of README.md, docs/*.md and deploy/README.md runs, with the demo token it names, against the
demo data as `make run` serves it (the `small` demo data, seed 42, the five demo consumers and no grants), so an
example that drifts from the code fails here. Each request must answer without errors unless the doc prints the
errors it gets; an answer the doc prints must be found in the real answer (docs/contributing.md, "Examples in the
docs")."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.settings import Settings
from tests.support.database import audit_checkpoints_on, prepare, with_database
from tests.support.docs_markdown import DOC_FILES, Example, examples, fragments_found, printed_fragments
from tests.support.helpers import body_of

DEMO_CONSUMERS = ("commerce", "labor", "science", "education", "admin")
ALL_EXAMPLES: list[Example] = [e for name in DOC_FILES for e in examples(name)]


@pytest.fixture(scope="module")
def demo(server_url: str):
    """An app on a database prepared like `make run`'s (``hub_test_docs``), and the demo consumers' tokens."""
    settings = replace(Settings.from_env({"HUB_ENV": "test"}), database_url=with_database(server_url, "hub_test_docs"),
                       policy_cache_seconds=0.0)
    settings = audit_checkpoints_on(settings, "hub_test_docs")
    tokens = asyncio.run(prepare(settings, server_url, "hub_test_docs", test_grants=False))
    with TestClient(create_app(settings)) as client:
        yield client, tokens


def test_the_docs_have_examples():
    """The collection itself works: the README's first query, the cross-department queries, the worked example's
    requests and the statistics examples are all found."""
    where = {e.where.split(":")[0] for e in ALL_EXAMPLES}
    assert {"README.md", "docs/api.md", "docs/sharing.md", "docs/statistics.md"} <= where
    assert sum(len(e.requests) for e in ALL_EXAMPLES) >= 15


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=[e.where for e in ALL_EXAMPLES])
def test_example_names_its_token(example: Example):
    assert example.requests, f"{example.where}: a GraphQL example with no request found in it"
    for request in example.requests:
        assert request.consumer in DEMO_CONSUMERS, (
            f"{request.where}: name the demo token the example runs with: a line `<!-- example: token=labor -->` "
            f"before a ```graphql fence, `<!-- example: L=labor -->` before a shell fence using $L "
            f"(one of {', '.join(DEMO_CONSUMERS)})")


@pytest.mark.parametrize("example", ALL_EXAMPLES, ids=[e.where for e in ALL_EXAMPLES])
def test_example_runs_with_its_token(demo, example: Example):
    client, tokens = demo
    for request in example.requests:
        if request.consumer not in tokens:
            pytest.fail(f"{request.where}: no demo token named")
        response = client.post("/graphql", json=request.body,
                               headers={"Authorization": f"Bearer {tokens[request.consumer]}"})
        assert response.status_code == 200, f"{request.where} as {request.consumer}: HTTP {response.status_code} " \
                                            f"{response.text[:500]}"
        answer = body_of(response)
        printed = printed_fragments(request.printed) if request.printed else []
        prints_errors = any(isinstance(f, dict) and "errors" in f for f in printed)
        if not prints_errors:
            assert "errors" not in answer, f"{request.where} as {request.consumer}: {answer['errors']}"
        if printed:
            assert fragments_found(printed, answer), (
                f"{request.where} as {request.consumer}: the doc prints\n  {request.printed}\nbut the answer is\n  "
                f"{str(answer)[:2000]}")
