"""Shared by tests: moved from telemetry/test_metrics_workers.py."""

from __future__ import annotations
import subprocess
import time
from pathlib import Path
import psutil
from prometheus_client.parser import text_string_to_metric_families
from tests.support.live import worker_processes


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
