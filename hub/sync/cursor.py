"""Feed cursors: opaque positions in one dataset's change feed.

A cursor names the dataset and a position ``(txid, seq)``: the feed after it returns the changes with
``(txid, seq) > position``, in that order. A cursor handed out by a snapshot also carries the snapshot
(``pg_snapshot`` text ``xmin:xmax:xip,...``): transactions visible in it are already in the snapshot's rows,
so the feed skips them (``pg_visible_in_snapshot``) until its position passes the snapshot's xmax. This is
what lets a snapshot's cursor start *exactly* at the snapshot, although transactions that committed
before the snapshot may have larger ids than some that had not.

Wire form: base64url (no padding) of ``c1|<dataset>|<txid>|<seq>[|<snapshot>]``. Anything else is
BAD_USER_INPUT; a cursor of another dataset too.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, replace

from hub.errors import BadUserInput

VERSION = "c1"
MAX_LENGTH = 16_384
_MAX_INT = 2**63 - 1
_SNAPSHOT = re.compile(r"^(\d{1,20}):(\d{1,20}):((?:\d{1,20})(?:,\d{1,20})*)?$")
_DATASET = re.compile(r"^[a-z]+\.[a-z_]+$")


def parse_snapshot(text: str) -> tuple[int, int, tuple[int, ...]]:
    """``xmin:xmax:xip,...`` -> (xmin, xmax, xips); ValueError when malformed."""
    match = _SNAPSHOT.match(text)
    if not match:
        raise ValueError("malformed snapshot")
    xmin, xmax = int(match.group(1)), int(match.group(2))
    xips = tuple(int(x) for x in match.group(3).split(",")) if match.group(3) else ()
    if not (xmin <= xmax <= _MAX_INT) or any(not xmin <= x < xmax for x in xips):
        raise ValueError("inconsistent snapshot")
    return xmin, xmax, xips


@dataclass(frozen=True)
class Cursor:
    dataset: str
    txid: int
    seq: int
    snapshot: str | None = None  # transactions visible in it are skipped (they are in the snapshot)

    @classmethod
    def start(cls, dataset: str) -> "Cursor":
        """The beginning of the retained log."""
        return cls(dataset, 0, 0)

    @classmethod
    def at_snapshot(cls, dataset: str, snapshot: str) -> "Cursor":
        """The cursor that starts exactly at ``snapshot`` (``pg_current_snapshot()::text``)."""
        xmin, xmax, _ = parse_snapshot(snapshot)
        return cls(dataset, xmin, 0, snapshot if xmin < xmax else None)

    @property
    def position(self) -> tuple[int, int]:
        return self.txid, self.seq

    def moved_to(self, txid: int, seq: int) -> "Cursor":
        """This cursor at a later position; the snapshot is dropped once the position passes its xmax."""
        snapshot = self.snapshot
        if snapshot is not None and txid >= parse_snapshot(snapshot)[1]:
            snapshot = None
        return replace(self, txid=txid, seq=seq, snapshot=snapshot)

    def encode(self) -> str:
        parts = [VERSION, self.dataset, str(self.txid), str(self.seq)]
        if self.snapshot is not None:
            parts.append(self.snapshot)
        return base64.urlsafe_b64encode("|".join(parts).encode("ascii")).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str | None, dataset: str, argument: str = "after") -> "Cursor":
        """The cursor ``text`` for ``dataset`` (None: the start of the log); BAD_USER_INPUT when malformed."""
        if text is None or text == "":
            return cls.start(dataset)

        def bad(why: str = "malformed cursor") -> BadUserInput:
            return BadUserInput(why, argument=argument)

        if not isinstance(text, str) or len(text) > MAX_LENGTH:
            raise bad()
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise bad() from None
        parts = raw.split("|")
        if len(parts) not in (4, 5) or parts[0] != VERSION or not _DATASET.match(parts[1]):
            raise bad()
        if not (parts[2].isdigit() and parts[3].isdigit() and len(parts[2]) <= 20 and len(parts[3]) <= 20):
            raise bad()
        txid, seq = int(parts[2]), int(parts[3])
        if txid > _MAX_INT or seq > _MAX_INT:
            raise bad()
        snapshot = parts[4] if len(parts) == 5 else None
        if snapshot is not None:
            try:
                parse_snapshot(snapshot)
            except ValueError:
                raise bad() from None
        if parts[1] != dataset:
            raise bad(f"this cursor belongs to dataset {parts[1]}, not {dataset}")
        return cls(dataset, txid, seq, snapshot)
