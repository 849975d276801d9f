"""The websockets each consumer holds open on one host, shared by the worker processes of ``hub serve --workers N``.

``hub.api.ws_limits.SocketSlots`` counts the sockets of its own process in memory; with several workers it also
asks this table how many the consumer holds in the other workers, so that ``HUB_WS_MAX_SOCKETS_PER_CONSUMER``
holds for the host. ``hub serve`` creates the table as a small file (``create_for_server``, beside the rate-limit
table) before uvicorn starts its workers and hands its path to them in ``ENV_VAR``.

* **Layout**: a 64-byte header (magic, region count, slots per region), then ``regions`` regions of ``slots``
  slots of 16 bytes: a consumer's 64-bit fingerprint (``hub.http.rate_table.fingerprint``; 0: an empty slot) and
  the sockets it holds open in the region's worker.
* **A region per worker, owned while the worker lives**: a worker claims the first free region with a POSIX record
  lock (``fcntl.lockf``, non-blocking) on that region's owner byte (past the end of the file) and holds it until it
  exits; the kernel drops the lock when the process dies, however it dies (SIGKILL included). Only the owner writes
  its region, and it clears it when it claims it. A count of open sockets never decays by itself (unlike a rate
  bucket), so liveness is what keeps a dead worker's sockets from being counted for ever: a region counts only
  while its owner byte is locked (another process's non-blocking attempt on it fails). A worker that uvicorn
  replaces claims a free region (the dead one's, or another) and starts from zero, as its sockets did.
* **Counting**: under an exclusive record lock on the header (held for the check and the update, microseconds;
  waited for 50 ms at most, ``_RecordLock``), the consumer's count in every other live region is found with
  ``mmap.find`` on its fingerprint (C speed, one search per region), so two workers cannot both admit the cap's
  last socket.
* **Limits**: a worker whose region has no free slot (more than ``slots`` consumers with sockets open in it at
  once) keeps counting that consumer locally only, and says so once; the other workers then undercount it. No free
  region (more live workers than regions): the worker counts locally (``SocketSlots`` without a table) and says so.

Hand-written for the reasons given in ``hub.http.rate_table``: no maintained library keeps per-key counts in memory
that the processes of a host map, and this one must also forget a process that died.
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import struct
from pathlib import Path
from typing import Any

from hub.errors import SetupError
from hub.http.rate_table import bounded_lock, fingerprint, table_path, write_fresh
from hub.run_dir import open_run_file

MAGIC = b"HUBSOCK1"
_HEADER = struct.Struct("<8sII")
HEADER_BYTES = 64
_SLOT = struct.Struct("<QQ")  # fingerprint (0: empty), open sockets
SLOT_BYTES = _SLOT.size
_COUNT = struct.Struct("<Q")
DEFAULT_SLOTS = 4096  # per region: 64 KiB
ENV_VAR = "HUB_WS_SOCKET_TABLE"
LOCK_WAIT_SECONDS = 0.05  # longest wait for the table's lock (``_RecordLock``)

log = logging.getLogger("hub.auth")


class SocketTable:
    """One worker's view of the host's table: its own region (claimed by ``open``) and the others' counts."""

    # Regions claimed by this process (record locks belong to a process: its own attempt on them would succeed).
    _claimed: set[tuple[str, int]] = set()

    def __init__(self, buffer: mmap.mmap, fd: int, path: Path, regions: int, slots: int, region: int):
        self._map = buffer
        self._fd = fd
        self.path = path
        self.regions = regions
        self.slots = slots
        self.region = region
        self._region_bytes = slots * SLOT_BYTES
        self._own: dict[int, int] = {}  # fingerprint -> slot index in the own region
        self._free = list(range(slots - 1, -1, -1))
        self._warned_full = False

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path, regions: int, slots: int = DEFAULT_SLOTS) -> Path:
        """Write a fresh table file at ``path`` (atomically replacing any earlier one); its path."""
        path = Path(path)
        # zeros: every slot empty
        write_fresh(path, _HEADER.pack(MAGIC, regions, slots).ljust(HEADER_BYTES, b"\0"),
                    HEADER_BYTES + regions * slots * SLOT_BYTES)
        return path

    @classmethod
    def open(cls, path: Path) -> "SocketTable":
        """Map the table and claim a free region for this process; ``SetupError`` when the file is not a table or
        every region has a live owner."""
        path = Path(path)
        fd = open_run_file(path, os.O_RDWR, "the shared websocket table")
        try:
            size = os.fstat(fd).st_size
            magic, regions, slots = _HEADER.unpack(os.pread(fd, _HEADER.size, 0)) if size >= HEADER_BYTES \
                else (b"", 0, 0)
            if magic != MAGIC or regions < 1 or slots < 1 or size != HEADER_BYTES + regions * slots * SLOT_BYTES:
                raise SetupError(f"{path} is not a websocket table of this version")
            buffer = mmap.mmap(fd, size)
            region = cls._claim(fd, str(path), regions, size)
            table = cls(buffer, fd, path, regions, slots, region)
        except BaseException:
            os.close(fd)
            raise
        with table.locked():
            start = table._start(region)
            buffer[start:start + table._region_bytes] = bytes(table._region_bytes)  # the previous owner is dead
        return table

    @classmethod
    def _claim(cls, fd: int, path: str, regions: int, size: int) -> int:
        for region in range(regions):
            if (path, region) in cls._claimed:
                continue
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, size + region)
            except OSError:
                continue  # a live worker's
            cls._claimed.add((path, region))
            return region
        raise SetupError(f"every region of the websocket table {path} has a live worker ({regions})")

    @classmethod
    def for_settings(cls, settings: Any) -> "SocketTable | None":
        """The table ``hub serve`` shares between its workers (``settings.ws_socket_table``), or None: not set, no
        cap, or unusable (said in the log: the worker then counts its own sockets only)."""
        path = getattr(settings, "ws_socket_table", None)
        if path is None or settings.ws_max_sockets_per_consumer <= 0:
            return None
        try:
            return cls.open(path)
        except SetupError as exc:
            log.warning("%s: this worker caps each consumer's websockets by its own count only", exc)
            return None

    def close(self) -> None:
        """Give the region up (its counts stop counting) and unmap the table."""
        self._claimed.discard((str(self.path), self.region))
        self._map.close()
        os.close(self._fd)  # drops this process's record locks on the file

    # -- counting -----------------------------------------------------------------------------------

    def locked(self) -> "_RecordLock":
        """The host-wide lock under which a worker reads the others' counts and publishes its own."""
        return _RecordLock(self._fd)

    def elsewhere(self, key: Any) -> int:
        """The sockets ``key`` holds open in the other live workers (call under ``locked``)."""
        pattern = fingerprint(key).to_bytes(8, "little")
        total = 0
        for region in range(self.regions):
            if region != self.region and self._alive(region):
                total += self._count_in(region, pattern)
        return total

    def publish(self, key: Any, count: int) -> None:
        """This worker holds ``count`` sockets of ``key`` (call under ``locked``)."""
        fp = fingerprint(key)
        index = self._own.get(fp)
        if index is None:
            if count <= 0:
                return
            if not self._free:
                if not self._warned_full:
                    self._warned_full = True
                    log.warning("the websocket table's region of this worker is full (%d consumers): the other "
                                "workers do not see the sockets of the consumers beyond", self.slots)
                return
            index = self._own[fp] = self._free.pop()
        offset = self._start(self.region) + index * SLOT_BYTES
        if count > 0:
            _SLOT.pack_into(self._map, offset, fp, count)
        else:
            _SLOT.pack_into(self._map, offset, 0, 0)
            del self._own[fp]
            self._free.append(index)

    def _alive(self, region: int) -> bool:
        if (str(self.path), region) in self._claimed:
            return True  # another table of this process (tests); a process's own lock never conflicts
        owner = HEADER_BYTES + self.regions * self._region_bytes + region
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, owner)
        except OSError:
            return True  # held: its worker lives
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, owner)
        return False

    def _count_in(self, region: int, pattern: bytes) -> int:
        start = self._start(region)
        end = start + self._region_bytes
        at = self._map.find(pattern, start, end)
        while at >= 0 and (at - start) % SLOT_BYTES:  # a match inside a count, not a fingerprint
            at = self._map.find(pattern, at + 1, end)
        return _COUNT.unpack_from(self._map, at + 8)[0] if at >= 0 else 0

    def _start(self, region: int) -> int:
        return HEADER_BYTES + region * self._region_bytes


class _RecordLock:
    """An exclusive record lock on the table's header, the host-wide lock of ``SocketTable.locked``: held for
    microseconds, so it is waited for in the event loop, for at most ``LOCK_WAIT_SECONDS``. A worker stopped while
    holding it (SIGSTOP, a debugger) must not stall the others: past the wait they count without it (a cap may
    then be passed by the sockets admitted at that moment), and say so."""

    def __init__(self, fd: int):
        self.fd = fd
        self.held = False

    def __enter__(self) -> None:
        self.held = bounded_lock(self.fd, 1, 0, LOCK_WAIT_SECONDS)
        if not self.held:
            log.warning("the websocket table's lock was not had within %g s: counted without it", LOCK_WAIT_SECONDS)

    def __exit__(self, *exc: Any) -> None:
        if self.held:
            self.held = False
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, 0)


def create_for_server(data_dir: Path, port: int, workers: int) -> Path:
    """A fresh table for the ``workers`` workers of the server on ``port`` (a region each, and as many spare for
    workers uvicorn starts while a dying one still holds its own); its path (for ``ENV_VAR``)."""
    path = table_path(data_dir, port, "websockets")
    try:
        return SocketTable.create(path, regions=2 * workers)
    except OSError as exc:
        raise SetupError(f"cannot create the shared websocket table {path}: {exc}") from None
