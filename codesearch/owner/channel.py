"""One owner per index: the process that opens the store serves everyone else.

Qdrant Edge lets one process open a shard directory. The process that takes the
owner lock (an flock on `owner.lock` in the index directory) opens the store and
answers other processes over a Unix socket: a `codesearch query` run while
`codesearch index` or `codesearch watch` works is answered by that process. A
`codesearch index` run while `codesearch watch` or an editor's server owns the index
is handed to that owner, which indexes and streams its progress back; while another
`codesearch index` owns it, it waits for the lock. The kernel drops the lock when its
holder dies, even by kill -9, so a crash never leaves the index locked.

The protocol: one JSON object per line each way. A request is answered by one reply
line, which a long request (an index run) may precede by `{"progress": {...}}` lines.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import socket
import stat
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from codesearch.errors import CodesearchError, ConfigError, IndexBusyError, OwnerGoneError, StoreError
from codesearch.owner import rpc
from codesearch.safefs import open_file, real_dir

log = logging.getLogger("codesearch.owner")

#: Sends an interim line (`{"progress": ...}`) before the reply; raises OSError if the client left.
Send = Callable[[dict[str, Any]], None]
Handler = Callable[[dict[str, Any], Send], dict[str, Any]]


#: Largest request or reply line (a duplicate check sends the changed files' text).
MAX_MESSAGE = 64 << 20
#: Connections answered at once; more are told the owner is busy.
MAX_CONNECTIONS = 32
#: Seconds a connection may stay silent before the owner drops it.
IDLE_SECONDS = 30.0


def _private_dir(path: Path) -> Path | None:
    """`path` as a directory only this user can enter (created 0700), or None when it is a link,
    not a directory, or another user's."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError:  # a missing parent, a read-only or full file system
        return None
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        return None
    if stat.S_IMODE(st.st_mode) & 0o077:
        try:
            os.chmod(path, 0o700, follow_symlinks=False)
        except OSError:
            return None
    return path


def socket_dir() -> Path:
    """This user's directory for owner sockets: `$TMPDIR/codesearch-<uid>` when it is a real
    directory of this user with mode 0700, else `$XDG_RUNTIME_DIR/codesearch`; ConfigError if neither."""
    uid = os.getuid()
    tmp = Path(tempfile.gettempdir()) / f"codesearch-{uid}"
    found = _private_dir(tmp)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if found is None and runtime and _private_dir(Path(runtime)) is not None:
        found = _private_dir(Path(runtime) / "codesearch")
    if found is None:
        raise ConfigError(
            f"the socket directory {tmp} is not a private directory of this user (a link, another "
            "user's, not a directory, or one that cannot be made); remove it, or set TMPDIR or "
            "XDG_RUNTIME_DIR to a private directory"
        )
    return found


def socket_path(index_dir: Path) -> Path:
    """A short socket path (Unix sockets allow ~100 bytes) derived from the index directory."""
    digest = hashlib.sha1(str(index_dir.resolve()).encode()).hexdigest()[:16]
    return socket_dir() / f"{digest}.sock"


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (None where the OS cannot tell)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


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
        try:
            if not self._wait_for(handle, timeout, on_wait):
                handle.close()
                return False
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()).encode())
            handle.flush()
        except OSError as exc:
            handle.close()
            raise StoreError(
                f"cannot take the owner lock {self._path} ({exc.strerror or exc}); the index "
                "directory needs a local file system with room and file locks"
            ) from None
        except BaseException:
            handle.close()
            raise
        self._file = handle
        return True

    def _wait_for(
        self, handle: BinaryIO, timeout: float, on_wait: Callable[[int | None], None] | None
    ) -> bool:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                if on_wait and not told:
                    on_wait(self.holder_pid())
                    told = True
                time.sleep(0.1)

    def holder_pid(self) -> int | None:
        """The pid written by the current holder, if readable."""
        try:
            fd = open_file(self._path, os.O_RDONLY)
        except CodesearchError:
            return None
        try:
            with os.fdopen(fd, "rb") as handle:
                text = handle.read(32)
            return int(text.strip() or 0) or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        """Give the lock up."""
        if self._file is not None:
            with contextlib.suppress(OSError):  # closing the file releases the lock too
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


class OwnerServer:
    """Answers JSON-line requests from other processes while this one owns the index.

    Only processes of this user are answered (SO_PEERCRED), at most MAX_CONNECTIONS at once, with
    lines up to MAX_MESSAGE bytes, and a connection silent for IDLE_SECONDS is dropped. `close`
    waits for the requests being answered, so the store is never closed under a reader.
    """

    def __init__(self, path: Path, handler: Handler) -> None:
        self._path = path
        self._handler = handler
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._sock.bind(str(path))
            self._sock.listen(16)
        except OSError as exc:
            self._sock.close()
            raise ConfigError(
                f"cannot serve other processes on the socket {path} ({exc.strerror or exc}); set TMPDIR "
                "or XDG_RUNTIME_DIR to another private directory (with a short path)"
            ) from None
        self._closed = False
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._active: set[threading.Thread] = set()
        self._active_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="codesearch-owner", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError as exc:
                if self._closed or exc.errno == errno.EBADF:
                    return
                log.warning("the owner socket %s failed to accept a connection: %s", self._path, exc)
                time.sleep(0.1)  # out of file descriptors, say: others may close theirs
                continue
            try:
                uid = peer_uid(conn)
            except OSError:
                uid = -1
            if uid is not None and uid != os.getuid():
                conn.close()
                continue
            if not self._slots.acquire(blocking=False):
                with conn, contextlib.suppress(OSError):
                    conn.sendall(
                        _encode(rpc.error_reply("the owner of this index is busy; try again", IndexBusyError))
                    )
                continue
            thread = threading.Thread(target=self._answer, args=(conn,), daemon=True)
            with self._active_lock:  # started under the lock: close() never joins an unstarted one
                self._active.add(thread)
                thread.start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(IDLE_SECONDS)
            with conn, conn.makefile("rwb") as stream:
                while not self._closed:
                    line = stream.readline(MAX_MESSAGE + 1)
                    if not line:
                        return
                    if len(line) > MAX_MESSAGE:
                        stream.write(_encode(rpc.error_reply("request too large")))
                        stream.flush()
                        return

                    def send(message: dict[str, Any]) -> None:
                        stream.write(_encode(message))
                        stream.flush()

                    stream.write(self._reply(line, send))
                    stream.flush()
        except OSError:
            return  # the client went away or stayed silent too long
        finally:
            self._slots.release()
            with self._active_lock:
                self._active.discard(threading.current_thread())

    def _reply(self, line: bytes, send: Send) -> bytes:
        """The reply line to a request line. A request that is not a JSON object is refused; a
        codesearch error is answered as such; anything else is a bug: logged with its traceback,
        answered `internal error`, and the owner goes on."""
        try:
            request = json.loads(line)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the parser
            request = None
        if not isinstance(request, dict):
            return _encode(rpc.error_reply("bad request: a request is one JSON object"))
        try:
            return _encode(self._handler(request, send))
        except CodesearchError as exc:
            return _encode(rpc.error_reply(str(exc), type(exc)))
        except Exception as exc:
            log.exception("internal error answering a %r request", request.get("op"))
            return _encode(rpc.error_reply(f"internal error: {exc!r}"))

    def close(self, wait: float = 30.0) -> None:
        """Stop answering, remove the socket, and let the requests being answered finish."""
        self._closed = True
        # Unlink first, so that a new client finds no socket (and takes over) rather than
        # connecting to one about to close; a client already in the backlog is reset and retries.
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        deadline = time.monotonic() + wait
        with self._active_lock:
            active = list(self._active)
        for thread in active:
            thread.join(max(0.0, deadline - time.monotonic()))


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def ask_owner(
    path: Path,
    request: dict[str, Any],
    timeout: float | None = 60.0,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Send one request to the owner of an index; its progress lines go to `on_progress`.

    OwnerGoneError when nobody listens (the owner ended, or has not started answering yet,
    or ended before its reply), IndexBusyError when the owner does not answer in time (a
    line within `timeout` s; None: wait as long as the owner lives), ConfigError when the
    socket is served by another user.
    """
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(str(path))
            except (FileNotFoundError, ConnectionRefusedError) as exc:
                raise OwnerGoneError(
                    f"the process that owned this index is gone ({exc.strerror}); try again"
                ) from None
            uid = peer_uid(sock)
            if uid is not None and uid != os.getuid():
                raise ConfigError(
                    f"the owner socket {path} is served by another user (uid {uid}); not trusting it: "
                    "remove it, or set XDG_RUNTIME_DIR to a private directory"
                )
            sock.sendall(_encode(request))
            with sock.makefile("rb") as stream:
                while True:
                    line = stream.readline(MAX_MESSAGE + 1)
                    progress = _progress_of(line)
                    if progress is None:
                        break
                    if on_progress is not None:
                        on_progress(progress)
    except (ConnectionResetError, BrokenPipeError):
        # Connected while the owner was closing (still in its backlog): nothing was answered.
        # Searches are read-only and an index run is safe to run again (it resumes), so the
        # caller may ask again or take over.
        raise OwnerGoneError("the process that owned this index closed while asked; try again") from None
    except OSError as exc:
        raise IndexBusyError(
            f"another codesearch process owns this index and is not answering ({exc.strerror or exc}); "
            "wait for it to finish or stop it"
        ) from None
    if not line:
        raise OwnerGoneError("the process that owns this index closed the connection; try again")
    if not line.endswith(b"\n") and len(line) <= MAX_MESSAGE:
        # The connection ended inside the reply: the owner died while it answered.
        raise OwnerGoneError("the process that owned this index ended while it answered; try again")
    try:
        reply = json.loads(line)
    except (ValueError, RecursionError):
        reply = None
    if not isinstance(reply, dict):
        raise IndexBusyError("the process that owns this index answered something that is not a reply")
    return reply


def _progress_of(line: bytes) -> dict[str, Any] | None:
    """The progress of an interim line; None for anything else (the reply, or junk)."""
    if not line.startswith(b'{"progress": '):
        return None
    with contextlib.suppress(ValueError, RecursionError):
        message = json.loads(line)
        if isinstance(message, dict) and len(message) == 1 and isinstance(message["progress"], dict):
            return dict(message["progress"])
    return None
