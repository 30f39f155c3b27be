"""One owner per index: the process that opens the store serves everyone else.

Qdrant Edge lets one process open a shard directory. The process that takes the
owner lock (an flock on `owner.lock` in the index directory) opens the store and
answers other processes over a Unix socket: a `codesearch query` run while
`codesearch index` or `codesearch watch` works is answered by that process, and a
second `codesearch index` waits for the lock. The kernel drops the lock when its
holder dies, even by kill -9, so a crash never leaves the index locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from codesearch.errors import CodesearchError, IndexBusyError
from codesearch.safefs import open_file, real_dir

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def socket_path(index_dir: Path) -> Path:
    """A short socket path (Unix sockets allow ~100 bytes) derived from the index directory."""
    digest = hashlib.sha1(str(index_dir.resolve()).encode()).hexdigest()[:16]
    base = Path(tempfile.gettempdir()) / f"codesearch-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    return base / f"{digest}.sock"


class OwnerLock:
    """The exclusive right to open an index's store."""

    def __init__(self, index_dir: Path) -> None:
        real_dir(index_dir)
        self._path = index_dir / "owner.lock"
        self._file: BinaryIO | None = None

    def acquire(self, timeout: float = 0.0, on_wait: Callable[[int | None], None] | None = None) -> bool:
        """Take the lock, waiting up to `timeout` seconds; False if another process keeps it."""
        # Never through a link: a cloned repository may hold one at owner.lock.
        handle = os.fdopen(open_file(self._path, os.O_RDWR | os.O_CREAT, 0o644), "r+b")
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return False
                if on_wait and not told:
                    on_wait(self.holder_pid())
                    told = True
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        return True

    def holder_pid(self) -> int | None:
        """The pid written by the current holder, if readable."""
        try:
            fd = open_file(self._path, os.O_RDONLY)
        except CodesearchError:
            return None
        with os.fdopen(fd, "rb") as handle:
            text = handle.read(32)
        try:
            return int(text.strip() or 0) or None
        except ValueError:
            return None

    def release(self) -> None:
        """Give the lock up."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


class OwnerServer:
    """Answers JSON-line requests from other processes while this one owns the index."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self._path = path
        self._handler = handler
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(str(path))
        self._sock.listen(16)
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="codesearch-owner", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                try:
                    reply = self._handler(json.loads(line))
                except CodesearchError as exc:
                    reply = {"error": str(exc), "type": type(exc).__name__}
                except Exception as exc:  # a bad request must not kill the owner
                    reply = {"error": f"internal error: {exc!r}", "type": "CodesearchError"}
                stream.write(json.dumps(reply).encode() + b"\n")
                stream.flush()

    def close(self) -> None:
        """Stop answering and remove the socket."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()


def ask_owner(path: Path, request: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Send one request to the owner of an index; IndexBusyError if nobody answers."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            with sock.makefile("rb") as stream:
                line = stream.readline()
    except OSError as exc:
        raise IndexBusyError(
            f"another codesearch process owns this index and is not answering ({exc.strerror or exc}); "
            "wait for it to finish or stop it"
        ) from None
    if not line:
        raise IndexBusyError("the process that owns this index closed the connection; try again")
    reply: dict[str, Any] = json.loads(line)
    return reply
