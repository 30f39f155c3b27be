"""Secrets in file contents, found with detect-secrets and replaced by a marker before indexing.

A file's text is redacted once, after it is read and before it is parsed, so the
embedded text, the lexical text, the stored snippet and the fingerprints all see
the redacted text, and nothing secret reaches an embedding server or the store.
Only what is on a line is replaced: line numbers do not move (byte offsets within
a line do).

The detector is detect-secrets (Yelp), with its own plugins and filters. Two
choices keep it within the indexer's budget (benchmarks/secret_scan.py measures
them):

- Only its high-signal plugins (`GATES`): provider tokens and keys (AWS, Azure,
  GitHub, GitLab, Slack, Stripe, npm, PyPI, OpenAI, SendGrid, Square, Mailchimp),
  private keys, JWTs, credentials in URLs, and assignments to secret-looking names
  (`password = "..."`; without quotes in config files). Left out: the two
  high-entropy string plugins (in code they flag hashes, test vectors and fixtures,
  and would redact what people search for), the public-IP one, and those whose
  patterns have no literal to gate on (Twilio, Telegram, Discord, Artifactory, IBM,
  Softlayer, Cloudant).
- A pre-filter: each plugin has a gate, lower-case strings one of which is in every
  line its patterns match (`ghp_` for GitHub, `aws`/`akia`/... for AWS, the names
  for the keyword plugin). A file is lowered once and searched for the gates
  (`str.find`); only lines holding a gate go through detect-secrets' line pipeline
  (its plugins, then its filters: templated values, indirect references,
  `pragma: allowlist secret`, ...), and only with the plugins whose gate they hold.

A hit replaces the secret value and the token characters that follow it (a plugin
may report only a token's prefix). A private-key hit redacts the key's body up to
its END line, on one line (a JSON string) or over several.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MARKER = "<redacted secret>"

#: detect-secrets plugins used (class names), each with its gate: lower-case strings one of which
#: is in every line its patterns match (read off the patterns of detect-secrets 1.5; a test checks
#: the gates against the plugins on every line of a sample). KeywordDetector's gate is its list of
#: names, expanded. See the module docstring for what is left out.
GATES: dict[str, tuple[str, ...]] = {
    "AWSKeyDetector": ("a3t", "abia", "acca", "akia", "asia", "aws"),
    "AzureStorageKeyDetector": ("accountkey=",),
    "BasicAuthDetector": ("://",),
    "GitHubTokenDetector": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "GitLabTokenDetector": (
        "glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "gr1348941", "glcbt-", "glimt-", "glptt-",
        "glagent-", "gloas-",
    ),
    "JwtTokenDetector": ("eyj",),
    "KeywordDetector": (),  # filled from detect-secrets' DENYLIST
    "MailchimpDetector": ("-us",),
    "NpmDetector": ("_authtoken=",),
    "OpenAIDetector": ("t3blbkfj",),
    "PrivateKeyDetector": ("private key", "putty-user-key-file-2"),
    "PypiTokenDetector": ("pypi-ag",),
    "SendGridDetector": ("sg.",),
    "SlackDetector": ("xox", "hooks.slack.com/services/"),
    "SquareOAuthDetector": ("sq0csp-",),
    "StripeDetector": ("k_live_",),
}  # fmt: skip
PLUGINS = tuple(GATES)
#: Shorter strings searched for first where a gate has many (each string costs one pass over the
#: file): every gate string holds one of them; a line holding one is then checked for the gate.
COARSE: dict[str, tuple[str, ...]] = {
    "GitHubTokenDetector": ("gh",),
    "GitLabTokenDetector": ("gl", "gr1348941"),
    "KeywordDetector": ("key", "pass", "pwd", "secret", "contrase"),
}

#: detect-secrets filters turned off: we scan text in memory (no file to check for), and a
#: secret is never sent anywhere to be verified.
_DISABLED_FILTERS = (
    "detect_secrets.filters.common.is_invalid_file",
    "detect_secrets.filters.common.is_ignored_due_to_verification_policies",
)

_PRIVATE_KEY = "Private Key"
_KEYWORD = "Secret Keyword"
#: Most words a secret keyword's value may have: more is a sentence (prose that names an
#: option, `api_key_env` and ... in docs), which detect-secrets' own filters let through.
_MAX_SECRET_WORDS = 5
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_KEY_END = re.compile(r"-----END[A-Z0-9 ]*-----|---- END SSH2 ENCRYPTED PRIVATE KEY ----|Private-MAC:")
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.+/=~")
#: Most lines a private key's body is redacted over when no END line is found.
_KEY_MAX_LINES = 200
#: Fewest base64 characters on a body line other than the last (PEM lines hold 64).
_KEY_MIN_BODY = 16
#: A key's body on its BEGIN line: base64, escaped line ends, spaces.
_KEY_BODY = re.compile(r"(?:[A-Za-z0-9+/=]|\\[nr]|[ \t])+")
#: What may follow the body on a line whose key goes on below: a string's end, a concatenation.
_KEY_GOES_ON = re.compile(r"[\s\"'`+,\\;(]*")
#: A line of a key's body (without its END line): quotes and concatenation around base64
#: or a header field (`Proc-Type: 4,ENCRYPTED`), or nothing (PEM's blank line after headers).
_KEY_LINE = re.compile(
    r"[\s\"'`+,(]*(?P<body>(?:[A-Za-z0-9+/=]|\\[nr])*|[A-Za-z][A-Za-z0-9-]*: [^\"'`]*?)"
    r"(?:\\[nr])*[\s\"'`+,\\;)]*"
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret found: its line (1-based), its kind (detect-secrets' secret type)."""

    line: int
    kind: str


def expand(pattern: str) -> list[str]:
    """The strings a pattern made of letters, `x?` and `(ab)?` matches (KeywordDetector's names)."""
    found = re.search(r"\(([^()]*)\)\?|(.)\?", pattern)
    if found is None:
        if re.search(r"[\\.^$*+?{}\[\]|()]", pattern):
            raise ValueError(f"not a plain name: {pattern!r}")
        return [pattern]
    optional = found.group(1) if found.group(1) is not None else found.group(2)
    head, tail = pattern[: found.start()], pattern[found.end() :]
    return [head + optional + rest for rest in expand(tail)] + [head + rest for rest in expand(tail)]


class _Detector:
    """detect-secrets configured once for this process (its settings are process-wide)."""

    def __init__(self) -> None:
        from detect_secrets.core.scan import get_filters_with_parameter
        from detect_secrets.plugins.keyword import DENYLIST
        from detect_secrets.settings import get_plugins, get_settings

        settings = get_settings()
        settings.plugins.clear()
        settings.configure_plugins([{"name": name} for name in PLUGINS])
        settings.disable_filters(*_DISABLED_FILTERS)
        self.plugins: list[Any] = list(get_plugins())
        self.file_filters = get_filters_with_parameter("filename")
        self.line_filters = get_filters_with_parameter("line")
        self.secret_filters = get_filters_with_parameter("secret")
        self.context_filters = get_filters_with_parameter("context")
        names = tuple(sorted({n.lower() for entry in DENYLIST for n in expand(entry)}))
        self.gates: list[tuple[Any, tuple[str, ...], tuple[str, ...]]] = []
        for plugin in self.plugins:
            name = type(plugin).__name__
            gate = names if name == "KeywordDetector" else GATES[name]
            coarse = COARSE.get(name, gate)
            if not all(any(c in g for c in coarse) for g in gate):
                raise ValueError(f"the coarse gate of {name} misses one of its gate strings")
            self.gates.append((plugin, coarse, gate))


_detector: _Detector | None = None
_lock = threading.Lock()


def _get() -> _Detector:
    global _detector
    with _lock:
        if _detector is None:
            _detector = _Detector()
        return _detector


def _call(fn: Any, **kwargs: Any) -> Any:
    from detect_secrets.util.inject import call_function_with_arguments

    return call_function_with_arguments(fn, **kwargs)


def _filtered(filters: Sequence[Any], **kwargs: Any) -> bool:
    for fn in filters:
        try:
            if _call(fn, **kwargs):
                return True
        except TypeError:  # a filter that needs more than this stage has (as detect-secrets does)
            continue
    return False


def candidate_lines(text: str) -> dict[int, list[Any]]:
    """The pre-filter: for each line (0-based) holding a plugin's gate string, those plugins."""
    lower = text.lower()
    present = {c for _plugin, coarse, _gate in _get().gates for c in coarse if c in lower}
    if not present:
        return {}
    starts = [0, *(m.end() for m in re.finditer("\n", lower))]
    hits: dict[str, set[int]] = {}
    for c in present:
        numbers = hits[c] = set()
        pos = lower.find(c)
        while pos >= 0:
            numbers.add(bisect.bisect_right(starts, pos) - 1)
            pos = lower.find(c, pos + 1)
    lines: dict[int, list[Any]] = {}
    for plugin, coarse, gate in _get().gates:
        numbers = set().union(*(hits.get(c, ()) for c in coarse))
        for n in numbers:
            line = lower[starts[n] : starts[n + 1] if n + 1 < len(starts) else len(lower)]
            if coarse is gate or any(g in line for g in gate):
                lines.setdefault(n, []).append(plugin)
    return lines


def scan_lines(
    path: str, lines: list[str], candidates: Mapping[int, Sequence[Any]] | None = None
) -> Iterator[tuple[int, str, str]]:
    """detect-secrets' line pipeline (its plugins, then its filters) on a file's lines: on the
    candidates' lines with their plugins, or (None) on every line with every plugin. Yields
    (0-based line number, secret value, secret type) for each secret its filters keep."""
    from detect_secrets.util.code_snippet import get_code_snippet

    detector = _get()
    if _filtered(detector.file_filters, filename=path):
        return
    if candidates is None:
        candidates = dict.fromkeys(range(len(lines)), detector.plugins)
    for n in sorted(candidates):
        if n >= len(lines):
            continue
        line = lines[n].rstrip()
        context = get_code_snippet(lines=lines, line_number=n + 1)
        found = [
            (plugin, secret)
            for plugin in candidates[n]
            for secret in plugin.analyze_line(filename=path, line=line, line_number=n + 1, context=context)
            or ()
        ]
        # detect-secrets applies its line filters first, to stop early; they are predicates of the
        # line alone, so applying them only to lines with a finding keeps its results, and is cheaper.
        if not found or _filtered(detector.line_filters, filename=path, line=line, context=context):
            continue
        for plugin, secret in found:
            value = secret.secret_value or ""
            args = {"filename": path, "secret": value, "plugin": plugin, "line": line}
            if not value or _filtered(detector.secret_filters, **args):
                continue
            if _filtered(detector.context_filters, **args, context=context):
                continue
            if secret.type == _KEYWORD and _is_prose(value):
                continue
            yield n, value, secret.type


def _redact_key(lines: list[str], n: int, value: str) -> None:
    """Replace a private key's body, from its BEGIN header to its END line, with the marker.

    Only what looks like a key's body is replaced: base64, `\\n` escapes, header fields
    (`Proc-Type: ...`, PuTTY's `Public-Lines: 6`). A header with no body after it (a test
    that writes a bare BEGIN line) loses nothing else; a body over several lines (a PEM file,
    or string literals one per line) is followed while its lines look like a body."""
    line = lines[n]
    begin = line.find(value)
    head_end = line.find("-----", begin + len(value)) if begin >= 0 else -1
    start = head_end + 5 if head_end >= 0 else (begin + len(value) if begin >= 0 else 0)
    end = _KEY_END.search(line, start)
    if end:
        lines[n] = line[:start] + MARKER + line[end.start() :]
        return
    body = _KEY_BODY.match(line, start)
    stop = body.end() if body else start
    if stop > start:
        lines[n] = line[:start] + MARKER + line[stop:]
    if not _KEY_GOES_ON.fullmatch(line, stop):
        return  # code after the header: the key (if any) is not on the next lines
    for k in range(n + 1, min(len(lines), n + 1 + _KEY_MAX_LINES)):
        end = _KEY_END.search(lines[k])
        text = lines[k] if end is None else lines[k][: end.start()]
        found = _KEY_LINE.fullmatch(text)
        if found is None:
            return
        short = ":" not in found["body"] and len(found["body"]) < _KEY_MIN_BODY
        if (
            found["body"]
            and short
            and end is None
            and not _KEY_END.search(lines[k + 1] if k + 1 < len(lines) else "")
        ):
            return  # a short word is a body's last line only right before its END line
        if found.end("body") > found.start("body"):
            lines[k] = text[: found.start("body")] + MARKER + lines[k][found.end("body") :]
        if end is not None:
            return


def _is_prose(value: str) -> bool:
    """Whether a keyword's value is text, not a secret: Markdown code spans (a backtick), more
    than _MAX_SECRET_WORDS words (a passphrase of a few words stays a secret), or the name of
    an environment variable (`api_key_env = "AWS_SECRET_ACCESS_KEY"`: where the secret is)."""
    return "`" in value or len(value.split()) > _MAX_SECRET_WORDS or bool(_ENV_NAME.fullmatch(value))


def _redact_value(line: str, value: str) -> str:
    """Each occurrence of `value` in `line` replaced by the marker, with the token characters
    that follow it: a plugin may report only a token's prefix (a capture group, as GitHub's
    `ghp`) or stop a JWT before its signature."""
    out: list[str] = []
    pos = 0
    while (i := line.find(value, pos)) >= 0:
        end = i + len(value)
        while end < len(line) and line[end] in _TOKEN_CHARS:
            end += 1
        out.append(line[pos:i] + MARKER)
        pos = end
    out.append(line[pos:])
    return "".join(out)


def redact_text(path: str, text: str) -> tuple[str, list[Finding]]:
    """`text` with each secret detect-secrets finds replaced by MARKER, and what was found.

    Lines keep their number (a key's body keeps its line count); text with nothing
    found is returned as it is.
    """
    candidates = candidate_lines(text)
    if not candidates:
        return text, []
    lines = text.split("\n")  # lines as the pre-filter and the parser count them (not splitlines)
    findings: list[Finding] = []
    for n, value, kind in list(scan_lines(path, lines, candidates)):
        if kind == _PRIVATE_KEY:
            _redact_key(lines, n, value)
        elif value in lines[n]:
            lines[n] = _redact_value(lines[n], value)
        else:
            continue
        findings.append(Finding(n + 1, kind))
    if not findings:
        return text, []
    return "\n".join(lines), findings


def redact_source(path: str, source: bytes) -> tuple[bytes, list[Finding]]:
    """UTF-8 source bytes with their secrets replaced (see redact_text)."""
    text = source.decode("utf-8", "surrogateescape")
    redacted, findings = redact_text(path, text)
    if not findings:
        return source, []
    return redacted.encode("utf-8", "surrogateescape"), findings
