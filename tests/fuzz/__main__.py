"""``make fuzz``: schemathesis against a live hub for a fixed time; exit 1 on any finding.

    python -m tests.fuzz [--seconds 120] [--seed N]

A fresh database ``hub_fuzz`` (small demo data, on DATABASE_URL's server or the embedded one), the hub
served on 127.0.0.1 with the per-consumer rate limit off, then schemathesis' GraphQL fuzzing phase, half of
the time as the admin consumer (every dataset, every mutation) and half as labor's system (grants, masking,
refusals), checked by ``tests/fuzz/hooks.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from hub import ROOT

WHO = ("admin", "labor")


def _schemathesis(base: str, token: str, seconds: int, seed: int | None) -> tuple[int, str]:
    cmd = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{base}/graphql",
           "-H", f"Authorization: Bearer {token}", "--max-time", str(seconds), "--phases", "fuzzing",
           "--workers", "2", "--exclude-checks", "not_a_server_error,positive_data_acceptance",
           "--request-timeout", "30", "--no-color"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, env=env, cwd=ROOT / ".hub", capture_output=True, text=True)
    print(proc.stdout[-6000:], proc.stderr[-2000:], sep="\n")
    summary = next((line.strip() for line in proc.stdout.splitlines() if re.search(r"\d+ generated", line)), "?")
    return proc.returncode, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "120")))
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    from hub.app import create_app
    from tests.support.live import scratch_hub_database, serve_in_thread

    (ROOT / ".hub").mkdir(exist_ok=True)
    results = []
    started = time.monotonic()
    with scratch_hub_database("hub_fuzz", scale="small") as (settings, tokens):
        app = create_app(replace(settings, rate_limit_per_second=0.0))
        with serve_in_thread(app) as base:
            for who in WHO:
                code, summary = _schemathesis(base, tokens[who], max(1, args.seconds // len(WHO)), args.seed)
                results.append((who, code, summary))
    print(f"\nmake fuzz: {time.monotonic() - started:.0f} s against {base}")
    for who, code, summary in results:
        print(f"  as {who:<6} {'clean' if code == 0 else f'FINDINGS (exit {code})'}: {summary}")
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
