"""The bureau's side of the sync contract, over the HTTP endpoints only (as any remote client would).

``Puller`` (``hub sync pull``) keeps a directory in step with one dataset::

    DIR/checkpoint.json         {"dataset", "cursor", "snapshot", "files", "next"}: the state that counts
    DIR/snapshot-0001.ndjson    the rows of the snapshot the feed continues from
    DIR/changes-00000001.ndjson one file per feed page, as received (one change per line)

Every file is written to a temporary name, fsynced and renamed into place, and only then named in the
checkpoint (itself replaced the same way); on start, files the checkpoint does not name are removed. So a
``kill -9`` at any moment loses at most the page (or snapshot) in flight, which is fetched again from the
checkpoint's cursor. CURSOR_EXPIRED (HTTP 410) makes it take a new snapshot.

``Replica.load(DIR)`` applies the files: snapshot rows, then changes keeping per row id the largest version,
and a ``reset`` drops every row below its version — exactly the source's rows at the checkpoint's cursor.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import orjson

from hub.problems import http_problem

CHECKPOINT = "checkpoint.json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Report = Callable[[str], None]


class SyncError(Exception):
    """The hub refused a request, or answered something incomplete."""


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


@dataclass
class Checkpoint:
    dataset: str
    cursor: str | None = None
    snapshot: str | None = None  # file name of the snapshot the cursor continues
    files: list[str] = field(default_factory=list)  # change files, in order
    next: int = 1  # number of the next change file
    generation: int = 0  # snapshots taken so far

    @classmethod
    def load(cls, directory: Path) -> "Checkpoint | None":
        try:
            data = orjson.loads((directory / CHECKPOINT).read_bytes())
            return cls(**data)
        except (FileNotFoundError, orjson.JSONDecodeError, TypeError):
            return None

    def save(self, directory: Path) -> None:
        atomic_write(directory / CHECKPOINT, orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))


def _unreachable(url: str, exc: Exception) -> str:
    """``UNREACHABLE: cannot connect to URL: cause — check --url or HUB_URL``."""
    return f"UNREACHABLE: {http_problem(url, exc)}"


def _error(response: httpx.Response) -> tuple[str, str]:
    try:
        err = response.json()["errors"][0]
        return err["extensions"]["code"], err["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        return f"HTTP_{response.status_code}", response.text[:200]


class Puller:
    def __init__(self, url: str, token: str, dataset: str, directory: Path, limit: int = 1000,
                 report: Report | None = None, timeout: float = 60.0, transport: httpx.BaseTransport | None = None):
        self.url = url.rstrip("/")
        self.dataset, self.directory, self.limit = dataset, Path(directory), limit
        self.report = report or (lambda _msg: None)
        self.http = httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"},
                                 timeout=httpx.Timeout(timeout, read=max(timeout, 300.0)), transport=transport)

    def close(self) -> None:
        self.http.close()

    def _retrying(self, call: Callable[[], Any], attempts: int = 6) -> Any:
        """``call()``, retried on 429/503 (after Retry-After) and on connection errors, with backoff."""
        for attempt in range(attempts):
            try:
                response = call()
            except httpx.TransportError as exc:
                if attempt == attempts - 1:
                    raise SyncError(_unreachable(self.url, exc)) from exc
                time.sleep(min(2 ** attempt * 0.5, 10))
                continue
            if response.status_code in (429, 503) and attempt < attempts - 1:
                try:
                    wait = float(response.headers.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
                self.report(f"the hub answered {response.status_code}; retrying in {wait:g} s")
                time.sleep(min(max(wait, 0.1), 30))
                continue
            return response
        raise SyncError("UNREACHABLE")  # pragma: no cover - the loop returns or raises

    # -- the loop ---------------------------------------------------------------------------------------

    def run(self, follow: bool = False, poll: float = 2.0, stop: Callable[[], bool] = lambda: False) -> Checkpoint:
        """Snapshot if needed, then read the feed until caught up (``follow``: keep polling until ``stop()``)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        cp = Checkpoint.load(self.directory)
        if cp is not None and cp.dataset != self.dataset:
            raise SyncError(f"{self.directory} follows {cp.dataset}, not {self.dataset}")
        if cp is not None and (cp.snapshot is None or not (self.directory / cp.snapshot).exists()
                               or not all((self.directory / f).exists() for f in cp.files)):
            cp = Checkpoint(self.dataset, generation=cp.generation)
        self._clean(cp)
        if cp is None or cp.snapshot is None:
            cp = self.snapshot(cp)
        while True:
            try:
                more = self.page(cp)
            except SyncError as exc:
                if str(exc).startswith("CURSOR_EXPIRED"):
                    self.report("the cursor expired (change-log retention): taking a new snapshot")
                    cp = self.snapshot(cp)
                    continue
                raise
            if more:
                continue
            if not follow or stop():
                return cp
            time.sleep(poll)

    def _clean(self, cp: Checkpoint | None) -> None:
        """Remove temporary files and files the checkpoint does not name (left by an interrupted run)."""
        keep = {CHECKPOINT} | ({cp.snapshot, *cp.files} if cp is not None else set())
        for path in self.directory.iterdir():
            ours = path.name.endswith(".tmp") or path.name.startswith(("snapshot-", "changes-"))
            if ours and path.name not in keep:
                path.unlink()

    def snapshot(self, cp: Checkpoint | None) -> Checkpoint:
        generation = (cp.generation if cp else 0) + 1
        name = f"snapshot-{generation:04d}.ndjson"
        tmp = self.directory / (name + ".tmp")
        newlines = 0

        def start() -> httpx.Response:
            request = self.http.build_request("GET", f"/sync/{self.dataset}/snapshot", params={"format": "ndjson"})
            answer = self.http.send(request, stream=True)
            if answer.status_code != 200:
                answer.read()
                answer.close()
            return answer

        with contextlib.closing(self._retrying(start)) as response:
            if response.status_code != 200:
                raise SyncError("%s: %s" % _error(response))
            with open(tmp, "w+b") as f:
                for chunk in response.iter_bytes(1 << 20):
                    f.write(chunk)
                    newlines += chunk.count(b"\n")
                f.flush()
                final, size = _last_line(f)
                try:
                    trailer = orjson.loads(final)
                except orjson.JSONDecodeError:
                    trailer = {}
                if "cursor" not in trailer or trailer.get("rows") != newlines - 1:
                    raise SyncError(f"INCOMPLETE: the snapshot of {self.dataset} ended without its cursor "
                                    f"({trailer.get('error', 'connection cut?')}); retry")
                f.truncate(size)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, self.directory / name)
        fsync_dir(self.directory)
        new = Checkpoint(self.dataset, cursor=trailer["cursor"], snapshot=name, generation=generation)
        new.save(self.directory)
        self._clean(new)
        self.report(f"snapshot of {self.dataset}: {trailer['rows']:,} rows")
        return new

    def page(self, cp: Checkpoint) -> bool:
        """Read one feed page into a new change file; True when more can be read right away."""
        response = self._retrying(lambda: self.http.get(f"/sync/{self.dataset}/changes",
                                                        params={"after": cp.cursor or "", "limit": self.limit}))
        if response.status_code != 200:
            raise SyncError("%s: %s" % _error(response))
        body = response.content
        lines = body.rstrip(b"\n").split(b"\n")
        trailer = orjson.loads(lines[-1])
        changes = lines[:-1]
        if "next_cursor" not in trailer or trailer.get("count") != len(changes):
            raise SyncError("INCOMPLETE: a feed page ended without its next cursor; retry")
        if changes:
            name = f"changes-{cp.next:08d}.ndjson"
            atomic_write(self.directory / name, b"\n".join(changes) + b"\n")
            cp.files.append(name)
            cp.next += 1
        if changes or trailer["next_cursor"] != cp.cursor:
            cp.cursor = trailer["next_cursor"]
            cp.save(self.directory)
        if changes:
            self.report(f"{len(changes):,} changes of {self.dataset}")
        return bool(trailer["has_more"])


def _last_line(f: Any) -> tuple[bytes, int]:
    """The last line of an open file (without its newline) and the offset where it starts."""
    end = f.seek(0, os.SEEK_END)
    pos = end - 1 if end else 0
    block = 1 << 16
    tail = b""
    while True:
        start = max(0, pos - block)
        f.seek(start)
        tail = f.read(pos - start) + tail
        cut = tail.rfind(b"\n")
        if cut >= 0 or start == 0:
            offset = start + cut + 1 if cut >= 0 else 0
            return tail[cut + 1:] if cut >= 0 else tail, offset
        pos = start


# --- applying the files ------------------------------------------------------------------------------

class Replica:
    """A dataset's rows rebuilt from a snapshot and change files (or from changes alone)."""

    def __init__(self) -> None:
        self.state: dict[int, tuple[int, dict[str, Any] | None]] = {}  # id -> (version, row or None)
        self.floor = 0  # version of the last reset: anything below is gone

    def add_snapshot_row(self, row: dict[str, Any]) -> None:
        self.state[row["id"]] = (0, row)

    def apply(self, change: dict[str, Any]) -> None:
        version, op = change["version"], change["op"]
        if op == "reset":
            if version > self.floor:
                self.floor = version
                self.state = {k: s for k, s in self.state.items() if s[0] > version}
            return
        if version <= self.floor:
            return
        held = self.state.get(change["id"])
        if held is None or version > held[0]:
            self.state[change["id"]] = (version, change["row"] if op in ("insert", "update") else None)

    @property
    def rows(self) -> dict[int, dict[str, Any]]:
        return {k: row for k, (_v, row) in self.state.items() if row is not None}

    @classmethod
    def load(cls, directory: Path) -> "Replica":
        directory = Path(directory)
        cp = Checkpoint.load(directory)
        if cp is None or cp.snapshot is None:
            raise SyncError(f"{directory} holds no completed snapshot")
        replica = cls()
        for line in _lines(directory / cp.snapshot):
            replica.add_snapshot_row(orjson.loads(line))
        for name in cp.files:
            for line in _lines(directory / name):
                replica.apply(orjson.loads(line))
        return replica


def _lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield line


# --- uploading ---------------------------------------------------------------------------------------

def file_format(path: Path, given: str = "auto") -> str:
    if given != "auto":
        return given
    suffix = path.suffix.lower()
    with open(path, "rb") as f:
        if suffix == ".xlsx" or f.read(4) == b"PK\x03\x04":  # a workbook is a zip archive
            return "xlsx"
    if suffix == ".csv":
        return "csv"
    if suffix in (".ndjson", ".jsonl", ".json"):
        return "ndjson"
    raise SyncError(f"cannot tell the format of {path.name}: name it .ndjson/.jsonl, .csv or .xlsx, or pass --format")


def default_idempotency_key(path: Path, dataset: str) -> str:
    """``sha256:<hex>`` of the dataset and the file's bytes: uploading the same file again applies nothing."""
    digest = hashlib.sha256(dataset.encode() + b"\0")
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def upload(url: str, token: str, dataset: str, path: Path, fmt: str, key: str,
           progress: Callable[[int], None] | None = None, retries: int = 3, timeout: float = 600.0,
           charset: str | None = None) -> dict[str, Any]:
    """POST ``path`` to ``/ingest/{dataset}``, streamed in 1 MiB chunks; returns the report.

    Connection failures and 503 are retried with the same Idempotency-Key, so a batch that was applied but
    whose answer was lost is not applied twice."""
    ctype = {"csv": "text/csv", "xlsx": XLSX}.get(fmt, "application/x-ndjson")
    ctype += f"; charset={charset}" if charset else ""
    size = path.stat().st_size

    def body() -> Iterator[bytes]:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                yield block
                if progress:
                    progress(len(block))

    headers = {"Authorization": f"Bearer {token}", "Content-Type": ctype, "Idempotency-Key": key,
               "Content-Length": str(size)}
    with httpx.Client(base_url=url.rstrip("/"), timeout=httpx.Timeout(timeout)) as http:
        for attempt in range(retries + 1):
            try:
                response = http.post(f"/ingest/{dataset}", content=body(), headers=headers)
            except httpx.TransportError as exc:
                if attempt == retries:
                    raise SyncError(_unreachable(url.rstrip("/"), exc)) from exc
                time.sleep(2 ** attempt)
                continue
            if response.status_code == 503 and attempt < retries:
                time.sleep(2 ** attempt)
                continue
            if response.status_code != 200:
                raise SyncError("%s: %s" % _error(response))
            return response.json()
    raise SyncError("UNREACHABLE")  # pragma: no cover - the loop returns or raises
