"""codesearch.parsing with the real grammars: definitions, names, spans, file parts, sections."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from codesearch.errors import ParseError
from codesearch.models import CodeUnit, ParsedFile
from codesearch.parsing import LANGUAGES, estimate_tokens, language_for_path, parse_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "parsing"

SAMPLES = {
    "python": "sample.py",
    "javascript": "sample.js",
    "typescript": "sample.ts",
    "tsx": "sample.tsx",
    "go": "sample.go",
    "rust": "sample.rs",
    "java": "Sample.java",
    "c": "sample.c",
    "cpp": "sample.cpp",
    "csharp": "sample.cs",
    "ruby": "sample.rb",
    "php": "sample.php",
    "kotlin": "sample.kt",
    "swift": "sample.swift",
    "scala": "sample.scala",
    "bash": "sample.sh",
    "lua": "sample.lua",
}

#: (kind, qualified_name) pairs each sample must yield.
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "python": {
        ("function", "add"),
        ("class", "Greeter"),
        ("method", "Greeter.__init__"),
        ("method", "Greeter.greet"),
        ("function", "Greeter.greet.shout"),
        ("class", "Greeter.Inner"),
        ("method", "Greeter.Inner.deep"),
        ("class", "Decorated"),
    },
    "javascript": {
        ("function", "add"),
        ("class", "Greeter"),
        ("method", "Greeter.constructor"),
        ("method", "Greeter.greet"),
        ("function", "double"),
        ("function", "exported"),
        ("class", "Shape"),
        ("method", "Shape.area"),
    },
    "typescript": {
        ("interface", "Greeting"),
        ("method", "Greeting.greet"),
        ("function", "add"),
        ("class", "Greeter"),
        ("method", "Greeter.greet"),
        ("enum", "Color"),
        ("module", "Util"),
        ("function", "Util.helper"),
        ("class", "Base"),
        ("method", "Base.run"),
    },
    "tsx": {
        ("interface", "GreeterProps"),
        ("function", "Hello"),
        ("class", "Greeter"),
        ("method", "Greeter.greet"),
        ("method", "Greeter.render"),
        ("function", "Arrow"),
    },
    "go": {
        ("struct", "Server"),
        ("interface", "Greeter"),
        ("method", "Greeter.Greet"),
        ("struct", "Pair"),
        ("method", "Server.Start"),
        ("method", "Server.Greet"),
        ("function", "Add"),
        ("method", "List.Push"),
    },
    "rust": {
        ("struct", "Greeter"),
        ("trait", "Greet"),
        ("method", "Greet.greet"),
        ("impl", "Greeter"),
        ("method", "Greeter.new"),
        ("method", "Greeter.greet"),
        ("impl", "Wrapper"),
        ("method", "Wrapper.get"),
        ("function", "add"),
        ("enum", "Color"),
        ("module", "inner"),
        ("function", "inner.helper"),
    },
    "java": {
        ("interface", "Greeting"),
        ("method", "Greeting.greet"),
        ("class", "Greeter"),
        ("method", "Greeter.Greeter"),
        ("method", "Greeter.greet"),
        ("class", "Greeter.Inner"),
        ("method", "Greeter.Inner.deep"),
        ("enum", "Greeter.Mode"),
        ("class", "Point"),
        ("method", "Point.sum"),
    },
    "c": {
        ("struct", "point"),
        ("struct", "Size"),
        ("enum", "color"),
        ("function", "add"),
        ("function", "greet"),
    },
    "cpp": {
        ("module", "demo"),
        ("class", "demo.Greeter"),
        ("method", "demo.Greeter.greet"),
        ("struct", "demo.Greeter.Inner"),
        ("method", "demo.Greeter.Inner.deep"),
        ("method", "demo.Greeter.wave"),
        ("function", "demo.twice"),
        ("function", "add"),
        ("method", "demo.Greeter.Inner.deeper"),
        ("struct", "Counter"),
        ("method", "Counter.bump"),
    },
    "csharp": {
        ("module", "Demo"),
        ("interface", "Demo.IGreeting"),
        ("method", "Demo.IGreeting.Greet"),
        ("class", "Demo.Greeter"),
        ("method", "Demo.Greeter.Greet"),
        ("struct", "Demo.Point"),
        ("enum", "Demo.Color"),
        ("class", "Demo.Person"),
        ("method", "Demo.Util.Add"),
    },
    "ruby": {
        ("module", "Util"),
        ("class", "Util.Greeter"),
        ("method", "Util.Greeter.initialize"),
        ("method", "Util.Greeter.greet"),
        ("method", "Util.Greeter.create"),
        ("function", "Util.helper"),
        ("function", "add"),
    },
    "php": {
        ("interface", "Greeting"),
        ("method", "Greeting.greet"),
        ("trait", "Loud"),
        ("method", "Loud.shout"),
        ("class", "Greeter"),
        ("method", "Greeter.greet"),
        ("enum", "Suit"),
        ("function", "add"),
    },
    "kotlin": {
        ("interface", "Greeting"),
        ("method", "Greeting.greet"),
        ("class", "Greeter"),
        ("method", "Greeter.greet"),
        ("method", "Greeter.create"),
        ("class", "Point"),
        ("enum", "Color"),
        ("class", "Registry"),
        ("method", "Registry.register"),
        ("function", "add"),
    },
    "swift": {
        ("interface", "Greeting"),
        ("method", "Greeting.greet"),
        ("class", "Greeter"),
        ("method", "Greeter.init"),
        ("method", "Greeter.greet"),
        ("struct", "Point"),
        ("method", "Point.norm"),
        ("enum", "Color"),
        ("impl", "Greeter"),
        ("method", "Greeter.wave"),
        ("function", "add"),
    },
    "scala": {
        ("trait", "Greeting"),
        ("method", "Greeting.greet"),
        ("class", "Greeter"),
        ("method", "Greeter.greet"),
        ("class", "Point"),
        ("class", "Util"),
        ("method", "Util.add"),
        ("enum", "Color"),
        ("function", "topLevel"),
    },
    "bash": {("function", "greet"), ("function", "add")},
    "lua": {
        ("function", "Greeter.new"),
        ("method", "Greeter.greet"),
        ("function", "add"),
        ("function", "global_fn"),
        ("function", "helper"),
    },
}

#: One (qualified_name, start_line, end_line) per language.
SPANS = {
    "python": ("Greeter.greet", 18, 30),  # includes the @staticmethod line
    "javascript": ("Greeter.greet", 17, 19),
    "typescript": ("Greeter.greet", 19, 21),
    "tsx": ("Greeter", 13, 21),  # includes `export`
    "go": ("Server.Start", 23, 26),
    "rust": ("Greeter.new", 16, 18),
    "java": ("Greeter.greet", 19, 22),  # includes @Override
    "c": ("add", 16, 18),
    "cpp": ("Counter.bump", 50, 51),
    "csharp": ("Demo.Greeter.Greet", 19, 23),  # includes [Obsolete]
    "ruby": ("Util.Greeter.greet", 10, 12),
    "php": ("Greeter.greet", 22, 25),
    "kotlin": ("Greeter.greet", 11, 13),
    "swift": ("Greeter.greet", 17, 19),
    "scala": ("Util.add", 18, 18),
    "bash": ("greet", 5, 7),
    "lua": ("Greeter.greet", 11, 13),
}

#: One (qualified_name, doc) per language: the comment or docstring right above/inside.
DOCS = {
    "python": ("add", "Return the sum of a and b."),
    "javascript": ("Greeter.greet", "Greets someone."),
    "typescript": ("Greeter.greet", "Greets someone."),
    "tsx": ("Hello", "Renders a greeting."),
    "go": ("Add", "Add adds two numbers."),
    "rust": ("Greeter", "A greeter."),  # not the crate's //! docs, past the #[derive]
    "java": ("Greeter.greet", "Greets someone."),
    "c": ("point", "A point in the plane."),
    "cpp": ("demo.Greeter.wave", "Waves out of line."),
    "csharp": ("Demo.Greeter", "<summary>A greeter.</summary>"),
    "ruby": ("Util.Greeter", "Greets people."),
    "php": ("Greeter", "A greeter."),
    "kotlin": ("Greeter.greet", "Greets someone."),
    "swift": ("add", "Adds two numbers."),
    "scala": ("Util.add", "Adds two numbers."),
    "bash": ("greet", "Greets someone."),
    "lua": ("Greeter.new", "Makes a greeter."),
}


def parse_fixture(name: str, language: str | None = None, **kwargs: int) -> tuple[ParsedFile, bytes]:
    source = (FIXTURES / name).read_bytes()
    path = f"fixtures/parsing/{name}"
    found = language or language_for_path(path)
    assert found is not None
    return parse_file(path, source, found, **kwargs), source


def by_name(parsed: ParsedFile) -> dict[str, CodeUnit]:
    """Definitions by qualified name; the first one wins (struct Greeter before impl Greeter)."""
    units: dict[str, CodeUnit] = {}
    for unit in parsed.units:
        if unit.kind != "file":
            units.setdefault(unit.qualified_name, unit)
    return units


def test_public_api() -> None:
    import codesearch.parsing as parsing

    assert sorted(parsing.__all__) == [
        "IDENTIFIER",
        "LANGUAGES",
        "LITERAL",
        "TEXT",
        "code_tokens",
        "estimate_tokens",
        "language_for_path",
        "parse_file",
        "units_version",
    ]
    # The grammars added later are tested in test_parsing_languages.py.
    assert set(SAMPLES) <= set(LANGUAGES)


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("a/b.py", "python"),
        ("b.pyi", "python"),
        ("x.mjs", "javascript"),
        ("x.cjs", "javascript"),
        ("x.jsx", "javascript"),
        ("x.ts", "typescript"),
        ("x.mts", "typescript"),
        ("x.tsx", "tsx"),
        ("x.go", "go"),
        ("x.rs", "rust"),
        ("X.java", "java"),
        ("x.h", "c"),
        ("x.c", "c"),
        ("x.hpp", "cpp"),
        ("x.cc", "cpp"),
        ("x.cs", "csharp"),
        ("x.rb", "ruby"),
        ("x.php", "php"),
        ("x.kts", "kotlin"),
        ("x.swift", "swift"),
        ("x.sc", "scala"),
        ("x.bash", "bash"),
        ("x.sh", "bash"),
        ("x.lua", "lua"),
        ("README.md", "text"),
        ("conf.YAML", "text"),
        ("schema.proto", "text"),
        ("build.gradle", "groovy"),
        ("docker/Dockerfile", "text"),
        ("Makefile", "text"),
        ("script", None),
        ("image.png", None),
        ("archive.tar.gz", None),
    ],
)
def test_language_for_path(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


def test_estimate_tokens() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abc") == 1
    assert estimate_tokens("abcd") == 2


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_definitions_per_language(language: str) -> None:
    parsed, source = parse_fixture(SAMPLES[language])
    assert parsed.language == language
    assert parsed.syntax_errors == 0
    found = {(u.kind, u.qualified_name) for u in parsed.units}
    missing = EXPECTED[language] - found
    assert not missing, f"{language}: missing {sorted(missing)}; found {sorted(found)}"

    name, start, end = SPANS[language]
    unit = by_name(parsed)[name]
    assert (unit.start_line, unit.end_line) == (start, end)

    qualified, doc = DOCS[language]
    assert by_name(parsed)[qualified].doc == doc

    for unit in parsed.units:
        assert unit.path == f"fixtures/parsing/{SAMPLES[language]}"
        assert unit.language == language
        assert unit.text == source[unit.start_byte : unit.end_byte].decode("utf-8", "replace")
        assert source[: unit.start_byte].count(b"\n") + 1 == unit.start_line
        if unit.kind != "file":
            assert unit.name == unit.qualified_name.rsplit(".", 1)[-1]
            expected_parent = unit.qualified_name.rpartition(".")[0] or None
            assert unit.parent == expected_parent
            assert unit.signature and len(unit.signature) <= 300


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_one_file_unit_and_order(language: str) -> None:
    parsed, source = parse_fixture(SAMPLES[language])
    files = [u for u in parsed.units if u.kind == "file"]
    assert len(files) == 1
    whole = files[0]
    assert whole.qualified_name == whole.path
    assert whole.name == SAMPLES[language]
    assert (whole.start_byte, whole.end_byte) == (0, len(source))
    assert whole.start_line == 1
    assert whole.end_line == source.rstrip(b"\n").count(b"\n") + 1
    assert parsed.units[0] is whole
    positions = [(u.start_byte, -u.end_byte) for u in parsed.units]
    assert positions == sorted(positions)
    keys = [u.key for u in parsed.units]
    assert len(keys) == len(set(keys))


def test_python_signature_doc_and_parents() -> None:
    parsed, _ = parse_fixture("sample.py")
    units = by_name(parsed)
    assert units["add"].signature == "def add(a: int, b: int) -> int:"
    assert units["add"].parent is None
    assert units["Greeter"].doc == "Says hello."
    assert units["Greeter.greet"].doc == "Greet someone.\n\nPolitely."
    assert units["Greeter.greet"].text.startswith("@staticmethod")
    assert units["Greeter.greet"].signature.startswith("def greet(")
    assert units["Greeter.greet.shout"].parent == "Greeter.greet"
    assert units["Greeter.Inner"].signature == "class Inner:"
    assert units["Greeter.Inner.deep"].doc == "Comment for deep."
    assert units["Decorated"].text.startswith("@decorator")


def test_javascript_and_go_signatures() -> None:
    js = by_name(parse_fixture("sample.js")[0])
    assert js["add"].signature == "function add(a, b)"
    assert js["add"].doc == "Adds two numbers.\n@param {number} a"
    assert js["double"].doc == "Arrow helper."
    assert js["Shape"].text.startswith("export class Shape")

    go = by_name(parse_fixture("sample.go")[0])
    assert go["Server.Start"].signature == "func (s *Server) Start() error"
    assert go["Server.Start"].doc == "Start starts the server."
    assert go["Server.Start"].parent == "Server"
    assert go["Server"].signature == "Server struct"
    assert go["Server"].text.startswith("type Server struct")


def test_annotations_stay_out_of_signatures() -> None:
    java = by_name(parse_fixture("Sample.java")[0])
    assert java["Greeter.greet"].signature == "public String greet(String who)"
    assert java["Greeter.greet"].text.startswith("@Override")
    rust = by_name(parse_fixture("sample.rs")[0])
    assert rust["Greeter.greet"].parent == "Greeter"
    assert rust["add"].signature == "pub fn add(a: i32, b: i32) -> i32"


def test_syntax_errors_keep_good_definitions() -> None:
    parsed, _ = parse_fixture("broken.py")
    assert parsed.syntax_errors > 0
    found = {(u.kind, u.qualified_name) for u in parsed.units}
    assert {
        ("function", "before"),
        ("class", "After"),
        ("method", "After.method"),
        ("function", "last"),
    } <= found
    assert by_name(parsed)["before"].doc == "Defined before the error."


def test_non_utf8_file() -> None:
    parsed, source = parse_fixture("latin1.py")
    assert {u.qualified_name for u in parsed.units} >= {"plain"}
    whole = parsed.units[0]
    assert whole.kind == "file" and "\ufffd" in whole.text
    assert whole.end_byte == len(source)


def test_long_file_is_split_into_parts() -> None:
    limit = 100
    parsed, source = parse_fixture("sample.py", max_file_tokens=limit)
    parts = [u for u in parsed.units if u.kind == "file"]
    assert len(parts) > 1
    assert [p.qualified_name for p in parts] == [
        f"fixtures/parsing/sample.py#part{n}" for n in range(1, len(parts) + 1)
    ]
    assert all(p.name == "sample.py" for p in parts)
    assert all(estimate_tokens(p.text) <= limit for p in parts)
    # Consecutive and covering the file; each part starts at a line start.
    assert parts[0].start_byte == 0 and parts[-1].end_byte == len(source)
    for before, after in itertools.pairwise(parts):
        assert before.end_byte == after.start_byte
        assert source[after.start_byte - 1 : after.start_byte] == b"\n"
        assert after.start_line == before.end_line + 1
    # Definitions are unaffected by the split.
    assert ("method", "Greeter.greet") in {(u.kind, u.qualified_name) for u in parsed.units}


def test_top_level_boundaries_are_preferred() -> None:
    source = b"".join(b"def f%d():\n    return %d\n\n" % (i, i) for i in range(50))
    parsed = parse_file("gen.py", source, "python", max_file_tokens=40)
    parts = [u for u in parsed.units if u.kind == "file"]
    assert len(parts) > 5
    for part in parts:
        assert part.text.startswith("def f"), part.text
        assert estimate_tokens(part.text) <= 40


def test_one_huge_line_is_cut_at_bytes() -> None:
    source = ("x = '" + "é" * 5000 + "'\n").encode()
    parsed = parse_file("one.py", source, "python", max_file_tokens=500)
    parts = [u for u in parsed.units if u.kind == "file"]
    assert len(parts) > 1
    assert all(estimate_tokens(p.text) <= 500 for p in parts)
    assert "".join(p.text for p in parts) == source.decode()  # no character cut in two
    assert len({p.key for p in parts}) == len(parts)


def test_markdown_sections_split_at_headings() -> None:
    parsed, _source = parse_fixture("guide.md")
    assert parsed.language == "text"
    files = [u for u in parsed.units if u.kind == "file"]
    sections = [u for u in parsed.units if u.kind == "section"]
    assert len(files) == 1 and files[0].qualified_name == "fixtures/parsing/guide.md"
    assert len(sections) >= 4
    for section in sections:
        assert section.qualified_name == f"fixtures/parsing/guide.md#L{section.start_line}-{section.end_line}"
        assert section.text.startswith("#")
        assert not section.text.startswith("# not a heading")
    assert sections[1].name == "Chapter 2"
    assert sections[0].start_line == 1 and sections[-1].end_line == files[0].end_line
    for before, after in itertools.pairwise(sections):
        assert after.start_line == before.end_line + 1


def test_plain_text_sections_and_small_text() -> None:
    source = "".join(f"line {i}: some words about the configuration\n" for i in range(200)).encode()
    parsed = parse_file("notes.txt", source, "text")
    sections = [u for u in parsed.units if u.kind == "section"]
    assert [(s.start_line, s.end_line) for s in sections] == [(1, 60), (61, 120), (121, 180), (181, 200)]
    assert sections[0].qualified_name == "notes.txt#L1-60"

    small = parse_file("small.yaml", b"a: 1\nb: 2\n", "text")
    assert [u.kind for u in small.units] == ["file"]

    split = parse_file("notes.txt", source, "text", max_file_tokens=500)
    parts = [u for u in split.units if u.kind == "file"]
    assert len(parts) > 1 and all(estimate_tokens(p.text) <= 500 for p in parts)


@pytest.mark.parametrize("source", [b"", b"   \n\n\t\n"])
def test_empty_files_have_no_units(source: bytes) -> None:
    for language in (*LANGUAGES, "text"):
        assert parse_file("empty", source, language).units == ()


def test_odd_bytes_never_crash() -> None:
    odd = [
        b"\x00\x01\x02def f():\n\x00 return 1\n",
        bytes(range(256)) * 4,
        b"\xff\xfe" + "def f(): pass\n".encode("utf-16-le"),
        b"(" * 20_000,
        b"{" * 5_000 + b"}" * 3_000,
    ]
    for source in odd:
        for language in LANGUAGES:
            parsed = parse_file("odd", source, language)
            assert parsed.units and parsed.units[0].kind == "file"


def test_a_typedef_of_a_named_struct_is_found_by_either_name() -> None:
    source = b"typedef struct hashtable {\n    size_t size;\n} hashtable_t;\n\nstruct plain { int y; };\n"
    for language in ("c", "cpp"):
        units = [(u.kind, u.qualified_name, u.start_line) for u in parse_file("h.h", source, language).units]
        assert units == [
            ("file", "h.h", 1),
            ("struct", "hashtable_t", 1),
            ("struct", "hashtable", 1),  # the tag: the typedef's twin, not its member
            ("struct", "plain", 5),
        ], language
    # Definitions nested on one line, or sharing their lines, stay nested elsewhere.
    nested = b"namespace foo { namespace bar {\nvoid f() {}\n}}\nstruct A { struct B {} b; };\n"
    names = [u.qualified_name for u in parse_file("n.cpp", nested, "cpp").units]
    assert names == ["n.cpp", "foo", "foo.bar", "foo.bar.f", "A", "A.B"]


def test_minified_file_yields_parts_only() -> None:
    source = b"function a(){return 1};" * 20_000  # one 460 KB line
    parsed = parse_file("app.min.js", source, "javascript", max_file_tokens=20_000)
    assert {u.kind for u in parsed.units} == {"file"}
    assert all(estimate_tokens(u.text) <= 20_000 for u in parsed.units)


def test_ruby_heredoc_guard() -> None:
    # ~200 nested interpolations and an open heredoc overflow tree-sitter-ruby 0.23.1's
    # scanner state and crash the process unless the guard steps in.
    source = b"x = " + b'"#{' * 203 + b" <<AAAA\n" + b"y\n" * 5
    parsed = parse_file("crash.rb", source, "ruby")
    assert parsed.units[0].kind == "file"


def test_deterministic() -> None:
    first, _ = parse_fixture("sample.cpp")
    second, _ = parse_fixture("sample.cpp")
    assert first == second


def test_unknown_language_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_file("x.cob", b"IDENTIFICATION DIVISION.", "cobol")


def test_javascript_assigned_functions_and_object_methods() -> None:
    src = b"""forge.aes = forge.aes || {};
/** Creates a new AES cipher algorithm object. */
forge.aes.Algorithm = function(name, mode) {
  this.name = name;
};
forge.aes.Algorithm.prototype.start = function(key) {
  return key;
};
module.exports.hello = function hello() { return 1; };
var api = {
  send: function(req) { return req; },
  'close': () => null,
};
class K { [Symbol.iterator]() {} }
"""
    units = {(u.kind, u.qualified_name): u for u in parse_file("a.js", src, "javascript").units}
    algorithm = units[("function", "forge.aes.Algorithm")]
    assert (algorithm.start_line, algorithm.end_line) == (3, 5)
    assert algorithm.doc == "Creates a new AES cipher algorithm object."
    assert ("method", "forge.aes.Algorithm.start") in units
    assert ("function", "hello") in units
    assert ("method", "send") in units and ("method", "close") in units
    assert ("method", "K.[Symbol.iterator]") in units


@pytest.mark.parametrize("name", ["sample.py", "sample.ts", "sample.go", "sample.rs", "latin1.py"])
def test_tokens_of_the_indexing_parse_are_those_of_a_separate_tokenization(name: str) -> None:
    from codesearch.parsing import code_tokens

    path = FIXTURES / name
    source = path.read_bytes().decode("utf-8", "replace").encode()
    language = language_for_path(name)
    assert language is not None
    parsed = parse_file(name, source, language, tokens=True)
    assert parsed.tokens is not None and len(parsed.tokens) > 10
    assert parsed.tokens == code_tokens(source, parsed.language)
    assert parse_file(name, source, language).tokens is None
