"""A client of the hand-made statistics dataset's app (tests/support/stats_dataset.py), shared by the statistics
tests: one call asks as one department and returns `data` (or the raw answer)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

ROW = ("year quarter occupationCode districtCode skillLevel industrySection industrySectionName demand supply ratio "
       "gap suppressed perturbed")


class Api:
    def __init__(self, client: TestClient, tokens: dict[str, str]):
        self.client, self.tokens = client, tokens

    def raw(self, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}},
                                    headers={"Authorization": f"Bearer {self.tokens[who]}"})
        assert response.status_code == 200, response.text
        return response.json()

    def __call__(self, who: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.raw(who, query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def rows(self, who: str, args: str) -> list[dict[str, Any]]:
        return self(who, f"{{ supplyDemand({args}, first: 500) {{ nodes {{ {ROW} }} }} }}")["supplyDemand"]["nodes"]
