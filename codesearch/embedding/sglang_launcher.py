"""Start, watch and stop a local SGLang server for Qwen3-Embedding (`codesearch serve`).

`run_server` checks what the server needs (SGLang importable, an NVIDIA GPU,
a free port), starts `python -m sglang.launch_server` in its own process group,
waits for /health to answer 200 (it answers 503 while the model loads), then
waits for the server to end. Ctrl-C or SIGTERM stops the whole group: SIGINT
first, SIGKILL after a grace period.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TextIO

import httpx

from codesearch.errors import ConfigError, EmbeddingServerError

_INSTALL_HINT = "install the GPU extra: pip install 'codesearch[sglang]'"


@dataclass(frozen=True)
class ServerSettings:
    """What `codesearch serve` starts; every field has a working default."""

    model: str = "Qwen/Qwen3-Embedding-4B"
    host: str = "127.0.0.1"
    port: int = 30000
    context_length: int = 32768
    #: Tokens per prefill batch; at least the context length, since chunked prefill is off.
    max_prefill_tokens: int = 32768
    #: GPU memory share for weights and KV cache; the rest holds activations.
    mem_fraction_static: float = 0.8
    #: Let clients ask for fewer dimensions (Qwen3-Embedding is trained for it).
    matryoshka: bool = True
    extra_args: tuple[str, ...] = ()
    python: str = field(default_factory=lambda: sys.executable)

    @property
    def url(self) -> str:
        """Base URL clients use."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"


def build_command(settings: ServerSettings) -> list[str]:
    """The SGLang command line for these settings."""
    cmd = [
        settings.python, "-m", "sglang.launch_server",
        "--model-path", settings.model,
        "--is-embedding",
        "--host", settings.host,
        "--port", str(settings.port),
        "--context-length", str(settings.context_length),
    ]  # fmt: skip
    if settings.matryoshka:
        cmd += ["--json-model-override-args", json.dumps({"is_matryoshka": True})]
    cmd += [
        # Embeddings share no prefixes worth caching, and a whole input per prefill
        # keeps last-token pooling simple and fast.
        "--disable-radix-cache",
        "--chunked-prefill-size", "-1",
        "--max-prefill-tokens", str(max(settings.max_prefill_tokens, settings.context_length)),
        "--mem-fraction-static", f"{settings.mem_fraction_static:g}",
    ]  # fmt: skip
    return cmd + list(settings.extra_args)


def check_sglang_installed(python: str | None = None) -> None:
    """Raise ConfigError unless `python` (default: this interpreter) can import sglang."""
    if python is None or os.path.realpath(python) == os.path.realpath(sys.executable):
        found = importlib.util.find_spec("sglang") is not None
    else:
        probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('sglang') is None)"
        try:
            found = subprocess.run([python, "-c", probe], capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"cannot run {python}: {exc}") from exc
    if not found:
        raise ConfigError(f"SGLang is not installed; {_INSTALL_HINT}")


def check_gpu(env: Mapping[str, str] | None = None, nvidia_smi: str = "nvidia-smi") -> None:
    """Raise ConfigError unless an NVIDIA GPU is visible to a process started with `env`."""
    env = os.environ if env is None else env
    advice = "`codesearch serve` needs an NVIDIA GPU; run it on a GPU machine and point --embed-url there"
    visible = env.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1", "none", "NoDevFiles"):
        raise ConfigError(f"no GPU visible: CUDA_VISIBLE_DEVICES is {visible!r}; {advice}")
    exe = shutil.which(nvidia_smi, path=env.get("PATH"))
    if exe is None:
        raise ConfigError(f"no NVIDIA GPU found ({nvidia_smi} is not installed); {advice}")
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"no NVIDIA GPU usable ({nvidia_smi} failed: {exc}); {advice}") from exc
    if out.returncode != 0 or not any(line.startswith("GPU ") for line in out.stdout.splitlines()):
        reason = " ".join((out.stderr or out.stdout).split())[:200] or f"exit code {out.returncode}"
        raise ConfigError(f"no NVIDIA GPU usable ({nvidia_smi} -L: {reason}); {advice}")


def check_port_free(host: str, port: int) -> None:
    """Raise ConfigError if nothing can listen on host:port (taken, or not a local address)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"cannot resolve the server host {host!r}: {exc}") from exc
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use (a server already running? try"
                    f" curl http://{host}:{port}/health); pick another port"
                ) from exc
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


class ServerProcess:
    """A child process in its own process group, its output kept (last lines) and echoed."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        echo: TextIO | None = None,
        keep_lines: int = 40,
    ) -> None:
        self.command = list(command)
        self._lines: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self._echo = echo
        try:
            self._proc = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                text=True,
                errors="replace",
                start_new_session=True,  # own group: Ctrl-C reaches us, we stop all of it
            )
        except OSError as exc:
            raise EmbeddingServerError(f"could not start {self.command[0]}: {exc}") from exc
        self.pid = self._proc.pid
        self._stopped = False
        self._reader = threading.Thread(target=self._read, name="server-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        with self._proc.stdout:  # closed at end of output, so no pipe is left open
            for line in self._proc.stdout:
                self._lines.append(line.rstrip("\n"))
                if self._echo is not None:
                    self._echo.write(line)
                    self._echo.flush()

    def poll(self) -> int | None:
        """Exit code, or None while running."""
        return self._proc.poll()

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit code (subprocess.TimeoutExpired after `timeout`)."""
        return self._proc.wait(timeout)

    def tail(self, lines: int = 15) -> list[str]:
        """The last lines it printed."""
        if self._proc.poll() is not None:
            self._reader.join(timeout=2.0)  # after an exit, let the reader drain the pipe
        return list(self._lines)[-lines:]

    def stop(self, grace: float = 15.0) -> int:
        """SIGINT to the whole group, SIGKILL after `grace` seconds; the exit code."""
        if self._stopped:
            return self._proc.wait()
        self._stopped = True
        if self._proc.poll() is None:
            self._signal(signal.SIGINT)
            try:
                self._proc.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
        self._signal(signal.SIGKILL)  # children that outlived the leader
        code = self._proc.wait()
        self._reader.join(timeout=2.0)
        return code

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


def wait_ready(url: str, timeout: float, proc: ServerProcess | None = None, *, interval: float = 0.5) -> None:
    """Poll `url`/health until it answers 200; fail fast if `proc` exits first."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    with httpx.Client(timeout=min(10.0, max(1.0, timeout)), trust_env=False) as client:
        while True:
            if proc is not None and (code := proc.poll()) is not None:
                output = "\n".join(f"  {line}" for line in proc.tail()) or "  (no output)"
                raise EmbeddingServerError(
                    f"the embedding server exited with code {code} before it was ready; its last output:\n"
                    + output
                )
            try:
                resp = client.get(f"{url.rstrip('/')}/health")
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            if time.monotonic() >= deadline:
                raise EmbeddingServerError(
                    f"the embedding server at {url} was not ready after {timeout:g} s ({last});"
                    " check its output, or allow longer for the first model download"
                )
            time.sleep(interval)


def _sigterm_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise KeyboardInterrupt (main thread only); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)

    def undo() -> None:
        signal.signal(signal.SIGTERM, previous)

    return undo


def run_server(
    settings: ServerSettings,
    *,
    ready_timeout: float = 1800.0,
    grace: float = 15.0,
    echo: TextIO | None = sys.stderr,
    on_ready: Callable[[str], None] | None = None,
    env: Mapping[str, str] | None = None,
    command: Sequence[str] | None = None,
) -> int:
    """Check, start, wait until ready (then call `on_ready(url)`), and serve until the
    server exits or Ctrl-C/SIGTERM; 0 after a requested stop. `command` replaces the
    SGLang command line (and its checks), e.g. to run vLLM."""
    if command is None:
        check_sglang_installed(settings.python)
        check_gpu(env)
        check_port_free(settings.host, settings.port)
    proc = ServerProcess(command if command is not None else build_command(settings), env=env, echo=echo)
    undo = _sigterm_as_interrupt()
    try:
        wait_ready(settings.url, ready_timeout, proc)
        if on_ready is not None:
            on_ready(settings.url)
        code = proc.wait()
        if code != 0:
            tail = "\n".join(f"  {line}" for line in proc.tail())
            raise EmbeddingServerError(f"the embedding server stopped with exit code {code}:\n{tail}")
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        try:
            proc.stop(grace)
        finally:
            undo()
