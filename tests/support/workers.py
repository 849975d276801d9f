"""A real ``hub serve --workers 2`` for the tests of what the workers share (metrics, the operation-label cap):
start it, wait for it, read its /metrics."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

from hub.settings import Settings
from tests.support.live import worker_processes


def serve_two_workers(settings: Settings, data_dir: Path, log: Path, port: int, **env: str) -> subprocess.Popen:
    """``hub serve --workers 2`` on ``settings``' database and 127.0.0.1:``port``, metrics on, tracing and the rate
    limit off, its output to ``log``; ``env``: further HUB_* settings (names without the HUB_ prefix)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    environment.update({"DATABASE_URL": settings.database_url, "HUB_ENV": "test", "HUB_DATA_DIR": str(data_dir),
                        "HUB_LOG_LEVEL": "info", "HUB_LOG_FORMAT": "text", "HUB_METRICS": "true",
                        "HUB_RATE_LIMIT_PER_SECOND": "0", "OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "none",
                        "OTEL_METRICS_EXPORTER": "none", **{f"HUB_{k}": v for k, v in env.items()}})
    with open(log, "w") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "hub"), "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "2"], env=environment, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def metric_samples(text: str) -> list:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def workers(proc: subprocess.Popen) -> list[psutil.Process]:
    return worker_processes(proc)


def wait_for(log: Path, text: str, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while log.read_text().count(text) < count:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"the hub did not start: {log.read_text()}"
        time.sleep(0.2)
