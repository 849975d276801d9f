"""The rate limiter's state: one GCRA slot per consumer, shared by the worker processes of one host.

``hub serve --workers N`` (N > 1) creates the table as a small file (``create_for_server``) before uvicorn
starts its workers and hands its path to them in ``HUB_RATE_LIMIT_TABLE``; every worker maps the same file
(``RateTable.open``), so a consumer's requests draw on one allowance whichever worker accepts them. With one
worker, and in-process (tests, ``TestClient``), the table lives in the process's own memory
(``RateTable.memory``): same code, no file.

* **Algorithm**: GCRA (the "virtual scheduling" form of a token bucket): a slot holds the consumer's
  theoretical arrival time (TAT). A request at ``now`` is allowed when ``max(TAT, now) + 1/rate - now``
  does not exceed ``burst/rate``; the TAT then advances by ``1/rate``. That is exactly a bucket of ``burst``
  tokens refilled at ``rate`` per second, stored as one float. A refused request changes nothing.
  Times are ``time.monotonic()``, which on Linux (CLOCK_MONOTONIC) is one clock for every process of the
  host.
* **Layout**: a 64-byte header (magic, slot count) and ``slots`` slots of 16 bytes (a 64-bit fingerprint of
  the consumer's key, 0 for an empty slot; the TAT as a double). A key's slots are a window of ``PROBE``
  consecutive slots starting at its fingerprint modulo (slots - 7) (open addressing, no wrap-around).
  Lookup: the slot with the key's fingerprint; else the first empty slot or one whose TAT has passed (a
  full bucket, the same as no bucket, so it may be reused); else the window's fullest bucket (smallest TAT)
  is given to the new key. So when a window's 8 slots all hold live buckets (thousands of consumers
  active at once) a consumer may get up to one burst more than documented, never less. Two keys share a
  bucket only if their 64-bit BLAKE2 fingerprints are equal.
* **Lock**: a POSIX record lock (``fcntl.lockf``) on the bytes of the key's window, held while the window
  is read and its slot written (``take`` costs about 2.5 microseconds in all, measured; 1.5 without the
  file lock), plus a thread lock for threads of one process (record locks belong to a process). The
  kernel drops a record lock when its process dies, so a worker killed mid-update cannot leave the table
  locked. A worker stopped while holding one (SIGSTOP, a debugger) must not stall the others' event loops for
  as long as it is stopped: the lock is waited for ``LOCK_WAIT_SECONDS`` at most (``bounded_lock``), then the
  request is counted without it (a concurrent update of that window may then be lost: one request more
  allowed) and a warning says so.
* **Life cycle**: ``create_for_server`` writes a fresh (zeroed) file and renames it over the path of the
  server's port, so the state of a previous run is never reused and a mapping still held by a dead run's
  processes is not touched. A worker that uvicorn restarts maps the same file again and keeps the counts.
  ``hub serve`` removes the file when it exits.

Hand-written: the maintained Python rate limiters keep their state in one process's memory (``limits``'
memory storage, which ``slowapi`` uses; ``aiolimiter``), in a server (Redis, Memcached, a database), or,
for PyrateLimiter's multiprocess backends, behind a ``multiprocessing.Manager`` (a server process: an IPC
round trip per request) with a lock that only forked children inherit (uvicorn spawns its workers), or in
SQLite (a database write per request). None keeps one float per consumer in memory the workers map.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import mmap
import os
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from hub.errors import SetupError
from hub.run_dir import open_run_file, run_dir

log = logging.getLogger("hub.limits")

LOCK_WAIT_SECONDS = 0.05  # longest wait for a record lock of a table the workers share (``bounded_lock``)
MAGIC = b"HUBRATE1"
_HEADER = struct.Struct("<8sI")
HEADER_BYTES = 64
_SLOT = struct.Struct("<Qd")  # fingerprint (0: empty), TAT
SLOT_BYTES = _SLOT.size
PROBE = 8  # slots a key may occupy: its window
_WINDOW = struct.Struct("<" + "Qd" * PROBE)
DEFAULT_SLOTS = 16_384  # 256 KiB
ENV_VAR = "HUB_RATE_LIMIT_TABLE"


def fingerprint(key: Any) -> int:
    """A key's 64-bit fingerprint, the same in every process (``hash()`` of a str is not); never 0."""
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little") or 1


class RateTable:
    """Fixed-size GCRA table in memory shared between processes (a mapped file) or private (anonymous)."""

    def __init__(self, buffer: mmap.mmap, slots: int, fd: int | None = None, path: Path | None = None):
        if slots < PROBE:
            raise ValueError(f"a rate table needs at least {PROBE} slots")
        self._map = buffer
        self.slots = slots
        self.path = path
        self._fd = fd
        self._thread_lock = threading.Lock()
        self._fingerprints: dict[Any, int] = {}
        self._starts = slots - PROBE + 1  # window starts: windows never wrap around

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def memory(cls, slots: int = DEFAULT_SLOTS) -> "RateTable":
        """A table private to this process (one worker, tests)."""
        return cls(mmap.mmap(-1, HEADER_BYTES + slots * SLOT_BYTES), slots)

    @classmethod
    def create(cls, path: Path, slots: int = DEFAULT_SLOTS) -> "RateTable":
        """Write a fresh table file at ``path`` (atomically replacing any earlier one) and open it."""
        path = Path(path)
        # the slots read as zeros: empty
        write_fresh(path, _HEADER.pack(MAGIC, slots).ljust(HEADER_BYTES, b"\0"), HEADER_BYTES + slots * SLOT_BYTES)
        return cls.open(path)

    @classmethod
    def open(cls, path: Path) -> "RateTable":
        """Map the table file that ``create`` wrote (in a worker process); only this user's own file, never through a
        symlink (``hub.run_dir.open_run_file``)."""
        path = Path(path)
        fd = open_run_file(path, os.O_RDWR, "the shared rate-limit table")
        try:
            size = os.fstat(fd).st_size
            magic, slots = _HEADER.unpack(os.pread(fd, _HEADER.size, 0)) if size >= HEADER_BYTES else (b"", 0)
            if magic != MAGIC or slots < PROBE or size != HEADER_BYTES + slots * SLOT_BYTES:
                raise SetupError(f"{path} is not a rate-limit table of this version")
            buffer = mmap.mmap(fd, size)
        except BaseException:
            os.close(fd)
            raise
        return cls(buffer, slots, fd, path)

    def close(self) -> None:
        self._map.close()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- the one operation --------------------------------------------------------------------------

    def take(self, key: Any, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> float:
        """One request of ``key`` against a bucket of ``burst`` refilled at ``rate``/s: 0.0 when allowed
        (and counted), else the seconds until it would be allowed (nothing counted)."""
        fp = self._fingerprints.get(key)
        if fp is None:
            if len(self._fingerprints) >= self.slots:
                self._fingerprints.clear()
            fp = self._fingerprints[key] = fingerprint(key)
        interval = 1.0 / rate
        span = burst * interval
        offset = HEADER_BYTES + (fp % self._starts) * SLOT_BYTES
        with self._thread_lock:
            locked = self._fd is not None and bounded_lock(self._fd, _WINDOW.size, offset, LOCK_WAIT_SECONDS)
            if self._fd is not None and not locked:
                log.warning("the rate table's lock was not had within %g s: this request is counted without it",
                            LOCK_WAIT_SECONDS)
            try:
                now = clock()
                window = _WINDOW.unpack_from(self._map, offset)
                index = _find(window, fp, now)
                tat = max(window[2 * index + 1] if window[2 * index] == fp else now, now) + interval
                # The relative epsilon keeps float rounding from refusing the burst's last request.
                if tat - now > span + interval * 1e-9:
                    return tat - now - span
                _SLOT.pack_into(self._map, offset + index * SLOT_BYTES, fp, tat)
                return 0.0
            finally:
                if locked:
                    fcntl.lockf(self._fd, fcntl.LOCK_UN, _WINDOW.size, offset)

    def used(self) -> int:
        """Slots holding a key (full buckets included)."""
        return sum(1 for i in range(self.slots)
                   if _SLOT.unpack_from(self._map, HEADER_BYTES + i * SLOT_BYTES)[0])


def bounded_lock(fd: int, length: int, offset: int, seconds: float) -> bool:
    """An exclusive record lock on ``length`` bytes of ``fd`` at ``offset``, waited for at most ``seconds``; False
    when not had by then. Such a lock is held for microseconds, so it is polled from the caller's thread (the event
    loop) rather than waited for in the kernel, where a holder stopped by SIGSTOP or a debugger would stall the
    caller for as long as it stays stopped."""
    deadline = None
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, length, offset)
            return True
        except OSError:
            now = time.monotonic()
            deadline = now + seconds if deadline is None else deadline
            if now > deadline:
                return False
            time.sleep(0.0001)


def write_fresh(path: Path, header: bytes, size: int) -> None:
    """A table file of ``size`` bytes at ``path``: ``header``, then zeros; written beside it and renamed over any
    earlier one, so that a mapping still held by a previous run's processes is never touched."""
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    try:
        os.write(fd, header)
        os.ftruncate(fd, size)
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)


def _find(window: tuple, fp: int, now: float) -> int:
    """The slot of the window for ``fp``: its own, else a free one (empty or a full bucket), else the fullest."""
    free = -1
    fullest, fullest_tat = 0, window[1]
    for i in range(PROBE):
        slot_fp, tat = window[2 * i], window[2 * i + 1]
        if slot_fp == fp:
            return i
        if free < 0 and (slot_fp == 0 or tat <= now):
            free = i
        if tat < fullest_tat:
            fullest, fullest_tat = i, tat
    return free if free >= 0 else fullest


def table_path(data_dir: Path, port: int, name: str = "rate-limit") -> Path:
    """Where the server on ``port`` keeps its table ``name`` (also ``hub.http.socket_table``'s): in the run's folder
    (``hub.run_dir``: ``<data dir>/run/``, else this user's private folder in the temporary directory)."""
    return run_dir(data_dir) / f"{name}-{port}.table"


def create_for_server(data_dir: Path, port: int) -> Path:
    """A fresh table for the workers of the server on ``port``; its path (for ``HUB_RATE_LIMIT_TABLE``)."""
    path = table_path(data_dir, port)
    try:
        RateTable.create(path).close()
    except OSError as exc:
        raise SetupError(f"cannot create the shared rate-limit table {path}: {exc}") from None
    return path
