"""A qdrant-client, httpx or gRPC error in one line for the user, and whether a retry may help."""

from __future__ import annotations

import httpx
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

#: HTTP statuses and gRPC codes a retry may get past (the server was busy or restarting).
TRANSIENT_HTTP = frozenset({408, 429, 502, 503, 504})
TRANSIENT_GRPC = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"})


def one_line(text: str, limit: int = 240) -> str:
    """`text` on one line, cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def describe(where: str, timeout: float, exc: BaseException) -> tuple[str, bool]:
    """A one-line message for a qdrant-client / httpx / gRPC error, and whether a retry may help."""
    slow = f"{where} did not answer within {timeout:g} s; raise the timeout or check the server's load"
    if isinstance(exc, UnexpectedResponse):
        code = exc.status_code or 0
        if code in (401, 403):
            return f"{where} refused the API key (HTTP {code}); set QDRANT_API_KEY", False
        detail = one_line(exc.content.decode("utf-8", "replace") or exc.reason_phrase)
        return f"{where} answered HTTP {code}: {detail}", code in TRANSIENT_HTTP
    if isinstance(exc, ResponseHandlingException):
        exc = exc.source
    code_of = getattr(exc, "code", None)
    if type(exc).__module__.startswith("grpc") and callable(code_of):
        status = str(getattr(code_of(), "name", "UNKNOWN"))
        details = one_line(str(getattr(exc, "details", lambda: "")() or status))
        if status in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
            return f"{where} refused the API key ({status}); set QDRANT_API_KEY", False
        if status == "UNAVAILABLE":
            hint = "check the URL, that the server runs and that its gRPC port is reachable"
            return f"{where} is not answering over gRPC ({details}); {hint}", True
        if status == "DEADLINE_EXCEEDED":
            return slow, True
        return f"{where} failed ({status}): {details}", status in TRANSIENT_GRPC
    if isinstance(exc, httpx.TimeoutException):
        return slow, True
    if isinstance(exc, httpx.TransportError):
        return f"{where} is not answering ({one_line(str(exc))}); check the URL and the server", True
    return f"{where} failed: {one_line(str(exc)) or type(exc).__name__}", False
