"""GraphQL-over-HTTP conformance: graphql-http's ``serverAudits`` (npm, pinned in ``package.json``) against
a live hub. ``make conformance`` runs ``python -m tests.conformance.runner``; ``tests/http/test_conformance.py``
runs the same audit inside the suite (skipped, with the reason, where node or npm is missing)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def missing_tools() -> str | None:
    """Why the audit cannot run here (None: node and npm are on PATH)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed: the GraphQL-over-HTTP audit needs Node.js 18+ and npm"
    return None


def install() -> None:
    """``npm install`` the pinned audit packages into tests/conformance/node_modules (git-ignored), once."""
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"]
    installed = HERE / "node_modules" / "graphql-http" / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == wanted["graphql-http"]:
        return
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--prefix", str(HERE)],
                   check=True, stdout=subprocess.DEVNULL, timeout=300)


def run_audit(graphql_url: str, token: str) -> tuple[dict, str]:
    """Run the audits; returns the summary (total, ok, notice, warn, error, failed ids) and the report text."""
    proc = subprocess.run(["node", str(HERE / "audit.mjs"), graphql_url, token], capture_output=True, text=True,
                          timeout=120)
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"the audit printed nothing (exit {proc.returncode}): {proc.stderr}")
    return json.loads(lines[-1]), "\n".join(lines[:-1])


def main() -> int:
    reason = missing_tools()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    install()
    from hub.app import create_app
    from tests.support.live import scratch_hub_database, serve_in_thread

    with scratch_hub_database("hub_conformance") as (settings, tokens):
        with serve_in_thread(create_app(settings)) as base:
            summary, report = run_audit(base + "/graphql", tokens["labor"])
    print(report)
    return 0 if summary["error"] == 0 and summary["warn"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
