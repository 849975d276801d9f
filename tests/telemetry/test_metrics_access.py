"""Who reads ``GET /metrics`` (issue: restedge): what an anonymous scrape tells, and ``HUB_METRICS_TOKEN_FILE``, which
lets only the scraper holding its token read it (``hub.http.metrics_access``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from hub.app import create_app
from hub.errors import SetupError
from hub.settings import Settings

TOKEN = "scrape-0123456789abcdef0123456789abcdef"


def _scrape(client: TestClient, **headers: str | bytes):
    return client.get("/metrics", headers=headers)


def test_an_anonymous_scrape_tells_client_operation_names_and_ingest_activity(settings: Settings, tokens) -> None:
    """What the lead asked (no hole by itself, the reason for the setting): without ``HUB_METRICS_TOKEN_FILE`` (the
    default) anyone reaching the port reads the operation names consumers chose — client text — and which datasets
    are ingested into; no consumer's name or token. The setting below closes it."""
    with TestClient(create_app(settings)) as client:
        client.post("/graphql", json={"query": "query SeekersNamedWang { occupations(first: 1) { nodes { code } } }"},
                    headers={"Authorization": f"Bearer {tokens['labor']}"})
        client.app.state.metrics.record_ingest("labor.job_seekers", 3, 1)
        body = _scrape(client).text
    assert 'operation="query SeekersNamedWang"' in body
    assert 'hub_ingested_rows_total{dataset="labor.job_seekers"} 3.0' in body
    assert "labor statistics system" not in body and tokens["labor"] not in body


def test_with_a_token_file_only_its_token_reads_metrics(settings: Settings, tokens, tmp_path: Path) -> None:
    """HUB_METRICS_TOKEN_FILE: a scrape without that token — none, another scheme, a wrong one, a consumer's data token
    (an admin's included) — is 401 UNAUTHENTICATED with a challenge and no metric in its body; the token reads them."""
    path = tmp_path / "metrics-token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    with TestClient(create_app(replace(settings, metrics_token_file=path))) as client:
        refused = [_scrape(client), _scrape(client, Authorization=TOKEN),
                   _scrape(client, Authorization=f"Basic {TOKEN}"), _scrape(client, Authorization=f"Bearer {TOKEN}x"),
                   _scrape(client, Authorization=f"Bearer {TOKEN[:-1]}"),
                   _scrape(client, Authorization=f"Bearer {tokens['admin']}"),
                   _scrape(client, Authorization=b"Bearer \xe9\xe9\xe9")]
        read = _scrape(client, Authorization=f"Bearer {TOKEN}")
        healthz = client.get("/healthz")
    for answer in refused:
        assert answer.status_code == 401, answer.text
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert answer.headers["www-authenticate"].startswith("Bearer") and "hub_" not in answer.text
    assert read.status_code == 200 and "hub_requests_total" in read.text
    assert healthz.status_code == 200  # the rest of the public surface is unchanged


@pytest.mark.parametrize("path", ["/metrics%0A", "/healthz%0A",
                                  "/reports/2023%0A", "/reports/2023.csv%0A", "/graphql%0A"])
def test_a_path_with_a_control_character_is_no_route(settings: Settings, tokens, path: str) -> None:
    """HOLE (proxy bypass): starlette's route patterns end in ``$``, which also matches before a final newline, so
    ``GET /metrics%0A`` was served the metrics. The deploy's nginx keeps /metrics internal with ``location = /metrics``
    (404), which ``/metrics%0A`` does not match: it proxied the request as sent and an outside caller read the metrics.
    A path with a control character is now 404 NOT_FOUND before routing (``hub.http.paths``), with a token or
    without (a path under a protected prefix asks for a token first: 401)."""
    with TestClient(create_app(settings)) as client:
        for headers in ({}, {"Authorization": f"Bearer {tokens['admin']}"}):
            answer = client.get(path, headers=headers, follow_redirects=False)
            code = "UNAUTHENTICATED" if not headers and path.startswith("/graphql") else "NOT_FOUND"
            assert answer.status_code == (401 if code == "UNAUTHENTICATED" else 404), (path, answer.text[:80])
            assert answer.json()["errors"][0]["extensions"]["code"] == code and "hub_" not in answer.text


@pytest.mark.parametrize("content", [None, "", "short\n", "has a space in it 0123456789\n"])
def test_an_unusable_token_file_stops_the_hub_at_start(settings: Settings, tmp_path: Path, content) -> None:
    """Never a 5xx at scrape time: a missing, empty, too short or malformed token file is a SetupError from
    create_app, naming the setting."""
    path = tmp_path / "metrics-token"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SetupError, match="HUB_METRICS_TOKEN_FILE"):
        create_app(replace(settings, metrics_token_file=path))


def test_the_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    assert Settings.from_env({}).metrics_token_file is None
    assert Settings.from_env({"HUB_METRICS_TOKEN_FILE": str(tmp_path / "t")}).metrics_token_file == tmp_path / "t"
