"""codesearch.indexing.redact: detect-secrets behind the pre-filter (pure logic, the real detect-secrets).

What indexing does with it (nothing secret embedded, stored or sent; the count in the
summary) is tested through the CLI in tests/test_hostile.py (issue 14, item 16).
"""

from __future__ import annotations

from pathlib import Path

from codesearch.indexing.redact import MARKER, PLUGINS, candidate_lines, redact_text, scan_lines

REPO = Path(__file__).resolve().parents[1]

# One sample per plugin, shaped as the provider's tokens (none is a live credential), joined from
# parts so this file holds no secret-shaped literal.
SAMPLES = {
    "AWSKeyDetector": 'key_id = "' + "AKIA" + 'IOSFODNN7EXAMPLQ"',
    "AzureStorageKeyDetector": "conn = 'AccountName=x;AccountKey=" + "A" * 86 + "==;'",
    "BasicAuthDetector": 'url = "https://bob:' + "pa55word" + '@example.com/x"',
    "GitHubTokenDetector": 'token = "' + "ghp_" + 'aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"',
    "GitLabTokenDetector": 'gl = "' + "glpat-" + 'aB3dE5gH7jK9mN1pQ3sT"',
    "JwtTokenDetector": 'jwt = "'
    + "eyJ"
    + 'hbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"',
    "KeywordDetector": 'password = "' + "hunter2" + '-correct-horse"',
    "MailchimpDetector": 'mc = "' + "0123456789abcdef0123456789abcdef" + '-us12"',
    "NpmDetector": "//registry.npmjs.org/:_authToken=" + "npm_" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "OpenAIDetector": 'oa = "sk-' + "abcdefghij1234567890" + "T3BlbkFJ" + 'abcdefghij1234567890"',
    "PrivateKeyDetector": 'k = "-----BEGIN '
    + 'PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n"',
    "PypiTokenDetector": 't = "pypi-' + "AgEIcHlwaS5vcmc" + "x" * 70 + '"',
    "SendGridDetector": 's = "SG.' + "a" * 22 + "." + "b" * 43 + '"',
    "SlackDetector": 'slack = "' + "xoxb-" + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"',
    "SquareOAuthDetector": 'sq = "' + "sq0csp-" + "a" * 43 + '"',
    "StripeDetector": 'stripe = "' + "sk_live_" + '4eC39HqLyjWDarjtT1zdp7dc"',
}


def _secret_value(line: str) -> str:
    return line.split('"')[1] if '"' in line else line.split("=", 1)[1]


def test_every_plugin_finds_its_sample_and_the_value_is_gone() -> None:
    assert set(SAMPLES) == set(PLUGINS)
    for plugin, line in SAMPLES.items():
        text = f"import os\n{line}\nx = 1\n"
        redacted, findings = redact_text("sample.py", text)
        assert findings, plugin
        assert [f.line for f in findings] == [2] * len(findings), plugin
        assert MARKER in redacted, plugin
        assert redacted.count("\n") == text.count("\n"), plugin
        value = _secret_value(line)
        assert value not in redacted, (plugin, redacted)


def test_private_key_body_over_several_lines_is_redacted_and_lines_kept() -> None:
    body = ["MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "VTLw7onLRnrq0/IzW7yWR7Qkr"]
    text = (
        'KEY = """-----BEGIN '
        + "RSA PRIVATE KEY-----\n"
        + "\n".join(body)
        + '\n-----END RSA PRIVATE KEY-----"""\nn = 2\n'
    )
    redacted, findings = redact_text("keys.py", text)
    assert len(findings) == 1 and findings[0].kind == "Private Key"
    assert all(b not in redacted for b in body)
    assert redacted.splitlines()[1:3] == [MARKER, MARKER]
    assert redacted.splitlines()[3:] == ['-----END RSA PRIVATE KEY-----"""', "n = 2"]


def test_config_files_need_no_quotes_and_code_is_left_alone() -> None:
    redacted, findings = redact_text("config.yaml", "db:\n  password: hunter2-correct\n")
    assert redacted == f"db:\n  password: {MARKER}\n" and findings[0].line == 2
    code = (
        "def login(user, password):\n"
        '    secret = os.environ["APP_SECRET"]\n'
        "    return check(password, secret)\n"
        'token = "${TOKEN}"\n'
    )
    assert redact_text("auth.py", code) == (code, [])
    allowed = 'password = "hunter2-correct"  # pragma: allowlist secret\n'
    assert redact_text("t.py", allowed) == (allowed, [])


def test_the_pre_filter_keeps_what_every_line_finds() -> None:
    """The gates lose nothing: detect-secrets on every line of these files finds what the
    pre-filtered scan finds (benchmarks/secret_scan.py checks the same on Django)."""
    texts = {f"s{i}.py": f"a = 1\n{line}\n" for i, line in enumerate(SAMPLES.values())}
    for path in [*sorted((REPO / "codesearch").glob("*.py")), REPO / "tests" / "test_hostile.py"]:
        texts[str(path.relative_to(REPO))] = path.read_text()
    total = 0
    for name, text in texts.items():
        lines = text.split("\n")
        everywhere = sorted((n, v) for n, v, _ in scan_lines(name, lines))
        gated = sorted((n, v) for n, v, _ in scan_lines(name, lines, candidate_lines(text)))
        assert gated == everywhere, name
        total += len(everywhere)
    assert total >= len(SAMPLES)


def test_nothing_is_sent_to_be_verified() -> None:
    from detect_secrets.settings import get_settings

    redact_text("x.py", "a = 1\n")
    assert (
        "detect_secrets.filters.common.is_ignored_due_to_verification_policies" not in get_settings().filters
    )


def test_a_bare_key_header_loses_nothing_after_it() -> None:
    """A test that writes a BEGIN line with no key (this repository's tests/conftest.py) keeps
    the code below it; a key written as one string literal per line loses only its body."""
    bare = (
        'def fixture(dest):\n    (dest / "id_rsa").write_text("-----BEGIN '
        + 'OPENSSH PRIVATE KEY-----\\n")\n    return dest\n'
    )
    redacted, findings = redact_text("conftest.py", bare)
    assert [f.kind for f in findings] == ["Private Key"]
    assert redacted.splitlines()[2] == "    return dest"
    assert redacted.splitlines()[1].endswith(f'KEY-----{MARKER}")')

    body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
    literals = (
        "KEY = (\n"
        '    "-----BEGIN ' + 'RSA PRIVATE KEY-----\\n"\n'
        f'    "{body}\\n"\n'
        '    "Aw==\\n"\n'
        '    "-----END RSA PRIVATE KEY-----\\n"\n'
        ")\n"
        "timeout = 30\n"
    )
    redacted, findings = redact_text("keys.py", literals)
    assert len(findings) == 1 and body not in redacted and "Aw==" not in redacted
    assert redacted.splitlines()[2:] == [
        f'    "{MARKER}"',
        f'    "{MARKER}"',
        '    "-----END RSA PRIVATE KEY-----\\n"',
        ")",
        "timeout = 30",
    ]


def test_prose_naming_a_secret_option_is_not_a_secret() -> None:
    """The Markdown of docs/configuration.md names `api_key_env` in a sentence: detect-secrets'
    keyword plugin takes the rest of the sentence for its value; a few words stay a secret."""
    doc = (REPO / "docs" / "configuration.md").read_text()
    assert "`api_key_env`, `qdrant_api_key_env` and `serve_args` are refused" in doc
    assert redact_text("docs/configuration.md", doc) == (doc, [])
    redacted, findings = redact_text("config.yaml", "db:\n  password: correct horse battery staple\n")
    assert findings and "horse" not in redacted
    named = 'api_key_env = "AWS_SECRET_ACCESS_KEY"\n'  # where the secret is, not the secret
    assert redact_text(".codesearch.toml", named) == (named, [])
