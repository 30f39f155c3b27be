"""The SGLang launcher: command line, pre-flight checks, readiness and shutdown."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest
from embed_server import EmbedServer

from codesearch.embedding.sglang_launcher import (
    ServerProcess,
    ServerSettings,
    build_command,
    check_gpu,
    check_port_free,
    check_sglang_installed,
    run_server,
    wait_ready,
)
from codesearch.errors import ConfigError, EmbeddingServerError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_default_command() -> None:
    cmd = build_command(ServerSettings())
    assert cmd[:3] == [sys.executable, "-m", "sglang.launch_server"]
    text = " ".join(cmd[3:])
    assert text.startswith(
        "--model-path Qwen/Qwen3-Embedding-4B --is-embedding --host 127.0.0.1 --port 30000"
        " --context-length 32768 --json-model-override-args"
    )
    assert json.loads(cmd[cmd.index("--json-model-override-args") + 1]) == {"is_matryoshka": True}
    assert text.endswith(
        "--disable-radix-cache --chunked-prefill-size -1 --max-prefill-tokens 32768 --mem-fraction-static 0.8"
    )


def test_command_settings_and_extra_args() -> None:
    settings = ServerSettings(
        model="/models/qwen3-emb-0.6b",
        host="0.0.0.0",
        port=31000,
        context_length=8192,
        max_prefill_tokens=4096,
        mem_fraction_static=0.6,
        matryoshka=False,
        extra_args=("--dtype", "float16"),
        python="/opt/py/bin/python",
    )
    cmd = build_command(settings)
    assert cmd[0] == "/opt/py/bin/python" and cmd[-2:] == ["--dtype", "float16"]
    assert "--json-model-override-args" not in cmd
    assert cmd[cmd.index("--max-prefill-tokens") + 1] == "8192"  # never below the context length
    assert cmd[cmd.index("--mem-fraction-static") + 1] == "0.6"
    assert cmd[cmd.index("--model-path") + 1] == "/models/qwen3-emb-0.6b"
    assert settings.url == "http://127.0.0.1:31000"


def test_port_taken() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} on 127.0.0.1 is already in use"):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", free_port())


def test_sglang_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        check_sglang_installed()
    except ConfigError as exc:
        assert "SGLang is not installed; install the GPU extra: pip install 'codesearch[sglang]'" in str(exc)
    else:
        pytest.skip("sglang is installed here")
    wrapper = tmp_path / "python"  # another interpreter: checked in a subprocess
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    with pytest.raises(ConfigError, match="not installed"):
        check_sglang_installed(python=str(wrapper))
    fake = tmp_path / "site"
    (fake / "sglang").mkdir(parents=True)
    (fake / "sglang" / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    check_sglang_installed(python=str(wrapper))
    monkeypatch.syspath_prepend(str(fake))
    check_sglang_installed()


def fake_nvidia_smi(directory: Path, body: str) -> None:
    exe = directory / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(0o755)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell scripts")
def test_gpu_checks(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CUDA_VISIBLE_DEVICES is ''"):
        check_gpu({"CUDA_VISIBLE_DEVICES": "", "PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match="nvidia-smi is not installed"):
        check_gpu({"PATH": str(tmp_path)})
    fake_nvidia_smi(tmp_path, "echo 'NVIDIA-SMI has failed: no devices' >&2; exit 9")
    with pytest.raises(ConfigError, match="NVIDIA-SMI has failed"):
        check_gpu({"PATH": str(tmp_path)})
    fake_nvidia_smi(tmp_path, "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-1234)'")
    check_gpu({"PATH": str(tmp_path), "CUDA_VISIBLE_DEVICES": "0"})


def test_wait_ready_polls_through_loading() -> None:
    with EmbedServer(health_loading=3) as srv:
        started = time.monotonic()
        wait_ready(srv.url, timeout=30, interval=0.05)
        assert time.monotonic() - started < 10


def test_wait_ready_times_out() -> None:
    with pytest.raises(EmbeddingServerError, match="was not ready after 0.3 s"):
        wait_ready(f"http://127.0.0.1:{free_port()}", timeout=0.3, interval=0.05)


def test_wait_ready_fails_fast_when_the_process_exits() -> None:
    script = (
        "print('loading weights'); print('torch.OutOfMemoryError: CUDA out of memory'); raise SystemExit(3)"
    )
    proc = ServerProcess([sys.executable, "-c", script])
    try:
        started = time.monotonic()
        with pytest.raises(EmbeddingServerError, match="exited with code 3") as info:
            wait_ready(f"http://127.0.0.1:{free_port()}", timeout=60, proc=proc, interval=0.05)
        assert "CUDA out of memory" in str(info.value) and "loading weights" in str(info.value)
        assert time.monotonic() - started < 20
    finally:
        proc.stop(grace=1)


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # a zombie waiting for its reaper is dead too


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stop_ends_the_whole_process_group() -> None:
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = ServerProcess([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while not proc.tail() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(proc.tail()[0])
        assert not _gone(child)
    finally:
        proc.stop(grace=5)
    assert proc.poll() is not None
    deadline = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)


def test_run_server_serves_until_interrupted() -> None:
    port = free_port()
    command = [sys.executable, str(Path(__file__).with_name("embed_server.py")), "--port", str(port)]
    seen: list[str] = []

    def ready(url: str) -> None:
        seen.append(url)
        raise KeyboardInterrupt  # as if Ctrl-C arrived while serving

    settings = ServerSettings(port=port)
    assert run_server(settings, command=command, echo=None, on_ready=ready, ready_timeout=60, grace=5) == 0
    assert seen == [f"http://127.0.0.1:{port}"]
    check_port_free("127.0.0.1", port)  # the server is gone


def test_run_server_reports_an_early_exit() -> None:
    command = [sys.executable, "-c", "import sys; print('bad argument --foo'); sys.exit(2)"]
    with pytest.raises(EmbeddingServerError, match="(?s)exited with code 2.*bad argument --foo"):
        run_server(ServerSettings(port=free_port()), command=command, echo=None, ready_timeout=60)


def test_sigterm_is_restored_after_run_server() -> None:
    import signal

    before = signal.getsignal(signal.SIGTERM)
    command = [sys.executable, "-c", "raise SystemExit(1)"]
    with pytest.raises(EmbeddingServerError):
        run_server(ServerSettings(port=free_port()), command=command, echo=None, ready_timeout=60)
    assert signal.getsignal(signal.SIGTERM) is before
