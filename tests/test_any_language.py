"""Files of any language are searchable, with a grammar or without: the real CLI, model and store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codesearch import Engine, load_settings

ELIXIR = """\
defmodule Shop.Cart do
  @moduledoc "A shopping cart."

  # Takes a coupon's percentage off every line of the cart.
  def apply_coupon_discount(cart, coupon) do
    Enum.map(cart, fn line -> %{line | price: line.price * (100 - coupon.percent) / 100} end)
  end

  def total(cart), do: Enum.sum(Enum.map(cart, & &1.price))
end
"""

# Nim has no grammar wheel: its files are indexed as text (a file unit, and sections once long).
NIM = """\
import tables

proc reconcileLedgerEntries(ledger: Table[string, int], bank: Table[string, int]): seq[string] =
  ## Lists the accounts whose ledger balance differs from the bank statement.
  for account, balance in ledger:
    if bank.getOrDefault(account) != balance:
      result.add(account)
"""

PYTHON = '''\
def parse_iso_date(text):
    """Parse a date string in ISO format."""
    return text.split("-")
'''


def cs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codesearch", *args],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )


def query(root: Path, text: str, *extra: str) -> list[dict[str, Any]]:
    done = cs("query", text, "--root", str(root), "--json", "-k", "3", *extra)
    assert done.returncode == 0, done.stderr
    hits: list[dict[str, Any]] = json.loads(done.stdout)
    return hits


@pytest.fixture
def polyglot_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "lib" / "shop").mkdir(parents=True)
    (root / "src").mkdir()
    (root / "lib" / "shop" / "cart.ex").write_text(ELIXIR)
    (root / "src" / "ledger.nim").write_text(NIM)
    (root / "src" / "dates.py").write_text(PYTHON)
    # Bad input of languages with and without a grammar: none of it may stop the run.
    (root / "src" / "broken.ex").write_text("defmodule do do do ( [ %{ \n  def (,,) end end\n" * 50)
    (root / "src" / "latin1.nim").write_bytes("proc prixEnEuros(): float = 1.2  # café\n".encode("latin-1"))
    (root / "src" / "empty.nim").write_bytes(b"")
    (root / "src" / "data.blob").write_bytes(b"\x00\x01\x02\xff" * 1000)
    (root / "src" / "huge.nim").write_text("echo 1\n" * 200_000)  # 1.4 MB, over the 1 MiB limit
    (root / "src" / "utf16.ex").write_bytes("def f, do: 1\n".encode("utf-16"))
    return root


def test_a_language_with_and_one_without_a_grammar_are_found_by_content(polyglot_repo: Path) -> None:
    settings, _ = load_settings(polyglot_repo, {})
    with Engine.open(polyglot_repo, settings, write=True) as engine:
        report = engine.index()
    assert report.units_by_language["elixir"] >= 3 and report.units_by_language["text"] >= 2
    skipped = {s.path: s.reason for s in report.skipped}
    assert skipped["src/data.blob"] == "binary"
    assert skipped["src/utf16.ex"] == "binary"
    assert skipped["src/huge.nim"].startswith("larger than")

    hits = query(polyglot_repo, "apply a coupon discount to the shopping cart")
    assert hits[0]["path"] == "lib/shop/cart.ex"  # the function, or its small module around it
    found = [(h["symbol"], h["kind"], h["language"], h["start_line"], h["end_line"]) for h in hits]
    assert ("Shop.Cart.apply_coupon_discount", "function", "elixir", 5, 7) in found[:2], found

    hits = query(polyglot_repo, "reconcile ledger entries with the bank statement")
    assert hits[0]["path"] == "src/ledger.nim" and hits[0]["language"] == "text"

    hits = query(polyglot_repo, "prix en euros")
    assert hits[0]["path"] == "src/latin1.nim"

    only_elixir = query(polyglot_repo, "cart total", "--lang", "elixir")
    assert only_elixir and all(h["language"] == "elixir" for h in only_elixir)

    status = json.loads(cs("status", str(polyglot_repo), "--json").stdout)
    assert status["complete"] and status["units"] == status["store_points"]
