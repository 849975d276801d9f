"""GraphQL over HTTP conformance: graphql-http's serverAudits against a live hub, 0 errors and 0 warnings
(``make conformance`` runs the same audit on its own database). Skipped where Node.js/npm are missing."""

from __future__ import annotations

import pytest

from hub.app import create_app
from tests.conformance.runner import install, missing_tools, run_audit
from tests.support.live import serve_in_thread


def test_graphql_over_http_audit(settings, tokens) -> None:
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    install()
    with serve_in_thread(create_app(settings)) as base:
        summary, report = run_audit(base + "/graphql", tokens["labor"])
    assert summary["total"] >= 60, report
    assert (summary["error"], summary["warn"], summary["notice"]) == (0, 0, 0), report
