"""Where the worker processes of one ``hub serve --workers N`` keep the files they share, and how they open them.

The rate-limit table (``hub.http.rate_table``), the websocket table (``hub.http.socket_table``), the metrics folder
(``hub.telemetry.metrics``) and the audit turn files (``hub.governance.audit_turn``) go in ``run_dir(data_dir)``:

* ``<data dir>/run`` (created with mode 0700), when this user can write there;
* else (a read-only data directory, as in some containers) ``<temporary directory>/hub-<uid>``, this user's own
  folder, created with mode 0700. A predictable name in a shared, sticky temporary directory can be taken first by
  another local user (a file, a symlink, a folder of theirs or one with mode 0777), who could then keep the hub from
  starting or read and rewrite its tables. So the folder is created with ``mkdir(mode=0o700)`` and then looked at
  with ``lstat``: it must be a real folder (not a symlink), owned by this user, with no permission for group or
  others. Anything else stops the start with a ``SetupError`` naming the folder and what is wrong.

An existing ``<data dir>/run`` that this user can write is checked the same way, except that others may read it
(a folder made by an earlier version, mode 0755): a real folder, this user's, writable by nobody else; and the data
directory itself must not let another user replace ``run`` (owned by this user or root, not writable by group or
others unless sticky), nor the temporary directory ``hub-<uid>``. The files themselves are created with mode 0600,
and a worker opens the file whose path the parent passed it through ``open_run_file``: never through a symlink
(``O_NOFOLLOW``), and only a regular file of this user that nobody else may read or write.

Hand-written: ``tempfile.mkdtemp`` makes a private folder, but under a random name, and the workers (spawned
processes) and a restarted ``hub serve`` must find the same folder by name; nothing in the standard library or a
maintained package checks an existing folder's owner and mode.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from hub.errors import SetupError

ELSEWHERE = "or set HUB_DATA_DIR to a folder of this user that nobody else can write"
FIX = f"remove it, or make it this user's with mode 0700 (0600 for a file); {ELSEWHERE}"
FIX_PARENT = f"make it this user's (or root's) and not writable by others (chmod go-w, or the sticky bit); {ELSEWHERE}"


def run_dir(data_dir: Path) -> Path:
    """The folder of the run-time files the workers of ``hub serve`` share; ``SetupError`` when the folder it would
    be is not safe to use (see the module's docstring)."""
    data_dir = Path(data_dir)
    run = data_dir / "run"
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # one made here is private too
        run.mkdir(mode=0o700)
    except OSError:
        pass  # it exists already, or the data directory cannot be written (or is not a folder): looked at below
    try:
        found = os.lstat(run)
    except OSError:
        return private_temp_dir()  # no run folder, and none can be made: a read-only data directory
    if stat.S_ISDIR(found.st_mode) and not os.access(run, os.W_OK | os.X_OK):
        return private_temp_dir()  # one this user cannot write: not used, so nobody else's to worry about
    _refuse(run, _folder_problem(found, others_may_read=True))
    _refuse(data_dir, _parent_problem(os.stat(data_dir), "run"), FIX_PARENT)
    return run


def private_temp_dir() -> Path:
    """``<temporary directory>/hub-<uid>``: created with mode 0700 if missing; an existing one must be this user's
    real folder with no permission for anyone else, else ``SetupError``."""
    temp = Path(tempfile.gettempdir())
    path = temp / f"hub-{os.geteuid()}"
    try:
        _refuse(temp, _parent_problem(os.stat(temp), path.name), FIX_PARENT)
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass  # checked below, like one just made
    except OSError as exc:
        raise SetupError(f"cannot create the private folder {path} for the hub's run-time files: {exc.strerror}; "
                         "set HUB_DATA_DIR to a writable folder") from None
    _refuse(path, _folder_problem(os.lstat(path), others_may_read=False))
    return path


def open_run_file(path: Path | str, flags: int, what: str) -> int:
    """A descriptor of the run file ``path`` (``what`` names it in errors), opened without following a symlink; it
    must be a regular file of this user that no one else may read or write. ``SetupError`` otherwise."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        reason = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise SetupError(f"cannot open {what} {path}: {reason}") from None
    found = os.fstat(fd)
    problem = ("is not a regular file" if not stat.S_ISREG(found.st_mode) else _owner_problem(found)
               or _mode_problem(found, 0o077))
    if problem:
        os.close(fd)
        raise SetupError(f"cannot open {what} {path}: it {problem}; {FIX}")
    return fd


def _folder_problem(found: os.stat_result, others_may_read: bool) -> str | None:
    if stat.S_ISLNK(found.st_mode):
        return "is a symbolic link, not a folder"
    if not stat.S_ISDIR(found.st_mode):
        return "is not a folder"
    return _owner_problem(found) or _mode_problem(found, 0o022 if others_may_read else 0o077)


def _parent_problem(found: os.stat_result, child: str) -> str | None:
    """What lets another user replace the folder ``child`` in the folder ``found``, if anything: owning it, or
    writing it without the sticky bit (which lets only a name's owner rename or remove it, as in /tmp)."""
    if found.st_uid not in (os.geteuid(), 0):
        return f"is owned by another user (uid {found.st_uid}), who could replace the folder {child} in it"
    if found.st_mode & 0o022 and not found.st_mode & stat.S_ISVTX:
        return (f"can be written by other users (mode {found.st_mode & 0o7777:04o}), who could replace the folder "
                f"{child} in it")
    return None


def _owner_problem(found: os.stat_result) -> str | None:
    if found.st_uid != os.geteuid():
        return f"is owned by another user (uid {found.st_uid}, not {os.geteuid()})"
    return None


def _mode_problem(found: os.stat_result, forbidden: int) -> str | None:
    if found.st_mode & forbidden:
        who = "others may write it" if forbidden == 0o022 else "others may use it"
        return f"has mode {found.st_mode & 0o7777:04o} ({who})"
    return None


def _refuse(path: Path, problem: str | None, fix: str = FIX) -> None:
    if problem:
        raise SetupError(f"{path} {problem}: another user could read or change the hub's run-time files there; {fix}")
