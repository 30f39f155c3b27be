"""The grammars added to the first seventeen: each parses a small real sample into its definitions.

The older languages are tested in test_parsing.py, bad input for every grammar there too
(test_odd_bytes_never_crash and test_empty_files_have_no_units loop over LANGUAGES).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codesearch.errors import ParseError
from codesearch.models import CodeUnit, ParsedFile
from codesearch.parsing import LANGUAGES, TEXT, language_for_path, parse_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "parsing"

SAMPLES = {
    "elixir": "sample.ex",
    "haskell": "sample.hs",
    "zig": "sample.zig",
    "dart": "sample.dart",
    "ocaml": "sample.ml",
    "perl": "sample.pl",
    "julia": "sample.jl",
    "objc": "sample.m",
    "powershell": "sample.ps1",
    "sql": "sample.sql",
    "solidity": "sample.sol",
    "fortran": "sample.f90",
    "groovy": "sample.groovy",
    "fsharp": "sample.fs",
    "cuda": "sample.cu",
}

#: The languages test_parsing.py covers.
FIRST_SEVENTEEN = {
    "python",
    "javascript",
    "typescript",
    "tsx",
    "go",
    "rust",
    "java",
    "c",
    "cpp",
    "csharp",
    "ruby",
    "php",
    "kotlin",
    "swift",
    "scala",
    "bash",
    "lua",
}

#: tree-sitter-groovy 0.1.2 wants a `;` after a field declaration that Groovy does not need:
#: one MISSING node in an otherwise clean sample.
SYNTAX_ERRORS = {"groovy": 1}

#: (kind, qualified_name) pairs each sample must yield.
EXPECTED: dict[str, set[tuple[str, str]]] = {
    "elixir": {
        ("module", "Shop.Cart"),
        ("function", "Shop.Cart.add_item"),
        ("function", "Shop.Cart.total"),  # a clause with a guard
        ("function", "Shop.Cart.empty"),  # defp, keyword form
        ("function", "Shop.Cart.debug"),  # defmacro
        ("module", "Shop.Priced"),
        ("function", "Shop.Priced.price"),
    },
    "haskell": {
        ("class", "Shape"),
        ("interface", "HasArea"),
        ("method", "HasArea.area"),
        ("impl", "HasArea"),
        ("function", "add"),
        ("function", "greet"),
        ("class", "Wrapper"),
    },
    "zig": {
        ("struct", "Point"),
        ("method", "Point.sum"),
        ("enum", "Color"),
        ("function", "add"),
        ("function", "helper"),
    },
    "dart": {
        ("class", "Greeter"),
        ("method", "Greeter.Greeter"),
        ("method", "Greeter.greet"),
        ("method", "Greeter.length"),
        ("enum", "Color"),
        ("class", "Walker"),
        ("method", "Walker.walk"),
        ("class", "Shout"),
        ("method", "Shout.shout"),
        ("function", "add"),
        ("function", "main"),
    },
    "ocaml": {
        ("function", "add"),
        ("function", "greet"),
        ("enum", "color"),
        ("module", "Stack"),
        ("function", "Stack.push"),
        ("function", "Stack.pop"),  # let pop = function ...
        ("interface", "ORDERED"),
        ("class", "counter"),
        ("method", "counter.incr"),
    },
    "perl": {("function", "new"), ("function", "add_item"), ("function", "add")},
    "julia": {
        ("module", "Geometry"),
        ("struct", "Geometry.Point"),
        ("interface", "Geometry.Shape"),
        ("struct", "Geometry.Counter"),
        ("function", "Geometry.add"),
        ("function", "Geometry.square"),  # square(x) = x * x
        ("function", "Geometry.twice"),  # a macro
    },
    "objc": {
        ("interface", "Greeter"),
        ("class", "Greeter"),
        ("method", "Greeter.greet"),
        ("method", "Greeter.greeterWithName"),
        ("interface", "Walking"),
        ("method", "Walking.walk"),
        ("function", "add"),  # plain C, from c.scm
    },
    "powershell": {
        ("function", "Add-Numbers"),
        ("function", "Get-Greeting"),
        ("class", "Greeter"),
        ("method", "Greeter.Greeter"),
        ("method", "Greeter.Greet"),
        ("enum", "Color"),
    },
    "sql": {
        ("struct", "customers"),
        ("struct", "active_customers"),
        ("function", "add_numbers"),
    },
    "solidity": {
        ("class", "Token"),
        ("struct", "Token.Account"),
        ("method", "Token.onlyPositive"),
        ("method", "Token.transfer"),
        ("interface", "IToken"),
        ("method", "IToken.transfer"),
        ("class", "MathLib"),
        ("method", "MathLib.add"),
    },
    "fortran": {
        ("module", "geometry"),
        ("struct", "geometry.point"),
        ("function", "geometry.add"),
        ("function", "geometry.greet"),  # a subroutine
        ("module", "main"),  # the program
    },
    "groovy": {
        ("class", "Greeter"),
        ("method", "Greeter.greet"),
        ("method", "Greeter.create"),
        ("interface", "Walker"),
        ("method", "Walker.walk"),
        ("function", "add"),
        ("function", "square"),
    },
    "fsharp": {
        ("module", "Shapes"),
        ("function", "Shapes.add"),
        ("function", "Shapes.greet"),
        ("enum", "Shapes.Shape"),
        ("struct", "Shapes.Point"),
        ("class", "Shapes.Greeter"),
        ("method", "Shapes.Greeter.Greet"),
        ("method", "Shapes.Greeter.Create"),
        ("module", "Shapes.Inner"),
        ("function", "Shapes.Inner.helper"),
    },
    "cuda": {
        ("function", "vector_add"),
        ("function", "square"),
        ("struct", "Grid"),
        ("class", "Launcher"),
        ("method", "Launcher.run"),
        ("function", "main"),
    },
}

#: One (qualified_name, start_line, end_line, signature) per language.
SPANS = {
    "elixir": ("Shop.Cart.add_item", 5, 7, "def add_item(cart, item)"),
    # The type signature above a function joins it.
    "haskell": ("add", 14, 15, "add :: Int -> Int -> Int"),
    "zig": ("Point", 4, 12, "const Point = struct {"),
    # A Dart body is a sibling of the signature: the span grows over it.
    "dart": ("Greeter.greet", 8, 10, "String greet(String who)"),
    "ocaml": ("Stack.pop", 13, 15, "let pop = function"),
    "perl": ("add_item", 12, 16, "sub add_item"),
    "julia": ("Geometry.add", 16, 18, "function add(a, b)"),
    "objc": ("Walking", 22, 24, "@protocol Walking"),
    "powershell": ("Greeter.Greet", 19, 21, "[string] Greet([string]$who) {"),
    "sql": ("add_numbers", 11, 13, "CREATE FUNCTION add_numbers(a integer, b integer) RETURNS integer"),
    "solidity": (
        "Token.transfer",
        20,
        24,
        "function transfer(address to, uint256 amount) public onlyPositive(amount)",
    ),
    "fortran": ("geometry.add", 12, 16, "function add(a, b) result(c)"),
    "groovy": ("add", 19, 21, "def add(int a, int b)"),
    "fsharp": ("Shapes.Greeter", 14, 16, "type Greeter(name: string) ="),
    "cuda": (
        "vector_add",
        4,
        9,
        "__global__ void vector_add(const float *a, const float *b, float *c, int n)",
    ),
}

#: One (qualified_name, doc) per language: the comment right above.
DOCS = {
    "elixir": ("Shop.Cart.add_item", "Adds an item to the cart."),
    "haskell": ("add", "Adds two numbers."),  # `-- |` above the type signature
    "zig": ("Point.sum", "Sums the coordinates."),
    "dart": ("Greeter.greet", "Greets someone."),
    "ocaml": ("add", "Adds two numbers."),  # (* ... *)
    "perl": ("new", "Makes a cart."),
    "julia": ("Geometry.add", "Adds two numbers."),
    "objc": ("Greeter", "A greeter."),  # the @interface, first of the two Greeters
    "powershell": ("Add-Numbers", "Adds two numbers."),
    "sql": ("customers", "Customers of the shop."),
    "solidity": ("Token.transfer", "Moves tokens."),
    "fortran": ("geometry.add", "Adds two numbers."),  # ! comments
    "groovy": ("add", "Adds two numbers."),
    "fsharp": ("Shapes.add", "Adds two numbers."),  # /// xml doc
    "cuda": ("vector_add", "Adds two vectors on the device."),
}


def _parse(language: str) -> tuple[ParsedFile, bytes]:
    path = f"fixtures/parsing/{SAMPLES[language]}"
    source = (FIXTURES / SAMPLES[language]).read_bytes()
    found = language_for_path(path)
    assert found == language
    return parse_file(path, source, language), source


def _by_name(parsed: ParsedFile) -> dict[str, CodeUnit]:
    units: dict[str, CodeUnit] = {}
    for unit in parsed.units:
        if unit.kind != "file":
            units.setdefault(unit.qualified_name, unit)
    return units


def test_every_grammar_has_a_sample() -> None:
    assert set(LANGUAGES) == FIRST_SEVENTEEN | set(SAMPLES)
    assert len(LANGUAGES) == 32


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_definitions_per_language(language: str) -> None:
    parsed, source = _parse(language)
    assert parsed.language == language
    assert parsed.syntax_errors == SYNTAX_ERRORS.get(language, 0)
    found = {(u.kind, u.qualified_name) for u in parsed.units}
    missing = EXPECTED[language] - found
    assert not missing, f"{language}: missing {sorted(missing)}; found {sorted(found)}"

    name, start, end, signature = SPANS[language]
    unit = _by_name(parsed)[name]
    assert (unit.start_line, unit.end_line, unit.signature) == (start, end, signature)

    qualified, doc = DOCS[language]
    assert _by_name(parsed)[qualified].doc == doc

    files = [u for u in parsed.units if u.kind == "file"]
    assert len(files) == 1 and (files[0].start_byte, files[0].end_byte) == (0, len(source))
    for unit in parsed.units:
        assert unit.language == language
        assert unit.text == source[unit.start_byte : unit.end_byte].decode("utf-8", "replace")
        assert source[: unit.start_byte].count(b"\n") + 1 == unit.start_line
        if unit.kind != "file":
            assert unit.name == unit.qualified_name.rsplit(".", 1)[-1]
            assert unit.parent == (unit.qualified_name.rpartition(".")[0] or None)
            assert unit.signature and len(unit.signature) <= 300


def test_at_least_28_languages_have_function_or_class_units() -> None:
    with_definitions = set()
    for sample in sorted(FIXTURES.glob("[sS]ample.*")):
        language = language_for_path(sample.name)
        assert language is not None and language != TEXT, sample.name
        parsed = parse_file(sample.name, sample.read_bytes(), language)
        if any(u.kind != "file" for u in parsed.units):
            with_definitions.add(language)
    assert len(with_definitions) >= 28, sorted(with_definitions)
    assert with_definitions == set(LANGUAGES)


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("lib/shop/cart.ex", "elixir"),
        ("test/cart_test.exs", "elixir"),
        ("src/Main.hs", "haskell"),
        ("build.zig", "zig"),
        ("lib/main.dart", "dart"),
        ("bin/main.ml", "ocaml"),
        ("script.pl", "perl"),
        ("lib/Shop/Cart.pm", "perl"),
        ("src/Geometry.jl", "julia"),
        ("Greeter.m", "objc"),
        ("deploy.ps1", "powershell"),
        ("Module.psm1", "powershell"),
        ("schema.sql", "sql"),
        ("Token.sol", "solidity"),
        ("solver.f90", "fortran"),
        ("build.gradle", "groovy"),
        ("ci/Jenkinsfile", "groovy"),
        ("Shapes.fs", "fsharp"),
        ("script.fsx", "fsharp"),
        ("kernel.cu", "cuda"),
        # No grammar: discovery decides from the content.
        ("src/main.nim", None),
        ("lib/core.clj", None),
    ],
)
def test_language_for_new_extensions(path: str, language: str | None) -> None:
    assert language_for_path(path) == language


def test_a_language_without_a_grammar_is_text_with_sections() -> None:
    # Nim has no grammar wheel: the file is a file unit and, once long, windows of lines.
    body = "".join(f"proc step{i}(x: int): int =\n  ## Step {i}.\n  result = x + {i}\n\n" for i in range(200))
    parsed = parse_file("src/steps.nim", body.encode(), TEXT)
    kinds = [u.kind for u in parsed.units]
    assert kinds[0] == "file" and kinds.count("section") > 5
    sections = [u for u in parsed.units if u.kind == "section"]
    assert "proc step0" in sections[0].text and "proc step199" in sections[-1].text
    assert all(u.language == TEXT for u in parsed.units)


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_unparsable_input_keeps_the_file(language: str) -> None:
    # Half a sample, a sample with its bytes reversed, and unbalanced brackets: syntax errors,
    # never an exception; the file unit is always there.
    source = (FIXTURES / SAMPLES[language]).read_bytes()
    for broken in (source[: len(source) // 2], source[::-1], b"end end ) ] } do (* {- <# \n" * 300):
        try:
            parsed = parse_file("broken", broken, language)
        except ParseError:  # allowed by the contract; no grammar here should need it
            pytest.fail(f"{language}: ParseError on broken input")
        assert parsed.units[0].kind == "file"


def test_a_cpp_header_is_parsed_as_cpp_and_a_c_header_as_c() -> None:
    from codesearch.parsing import parse_file

    cpp = b"namespace YAML {\nclass ParserException : public Exception {\n public:\n  int line;\n};\n}\n"
    parsed = parse_file("include/yaml/exceptions.h", cpp, "c")
    assert parsed.language == "cpp"
    assert ("class", "ParserException") in {(u.kind, u.name) for u in parsed.units}
    plain = parse_file("point.h", b"struct point { int x; };\nint add(int a, int b);\n", "c")
    assert plain.language == "c" and ("struct", "point") in {(u.kind, u.name) for u in plain.units}
