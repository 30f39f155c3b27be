"""Discovery on real directory trees."""

from __future__ import annotations

from pathlib import Path

from codesearch.discover import discover


def _reasons(root: Path) -> tuple[set[str], dict[str, str]]:
    found = discover(root)
    return {f.path for f in found.files}, {s.path: s.reason for s in found.skipped}


def test_nasty_repo_is_sorted_with_reasons(nasty_repo: Path) -> None:
    files, skipped = _reasons(nasty_repo)
    assert {"src/net/upload.py", "src/util/dates.go", "web/cart.ts", "lib/lru.rs", "docs/guide.md"} <= files
    assert "ignored_dir/x.py" not in files and "ignored_dir/x.py" not in skipped
    assert "app.log" not in files
    assert skipped[".env"] == "may hold secrets"
    assert skipped["id_rsa"] == "may hold secrets"
    assert "generated" in skipped["web/bundle.min.js"]
    assert skipped["src/huge.py"].startswith("larger than")
    assert skipped["loop"].startswith("symlink")
    assert skipped["outside"] == "symlink out of the root"
    assert skipped["src/dangling.py"] == "symlink loop or dangling symlink"
    assert skipped["image.png"] == "not a source or text file"


def test_nested_gitignore_and_negation(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".gitignore").write_text("*.gen.py\n")
    (tmp_path / "a" / ".gitignore").write_text("!keep.gen.py\nb/\n")
    (tmp_path / "a" / "keep.gen.py").write_text("x = 1\n")
    (tmp_path / "a" / "drop.gen.py").write_text("x = 1\n")
    (tmp_path / "a" / "b" / "c.py").write_text("x = 1\n")
    (tmp_path / ".codesearchignore").write_text("secret_sauce/\n")
    (tmp_path / "secret_sauce").mkdir()
    (tmp_path / "secret_sauce" / "s.py").write_text("x = 1\n")
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("local.py\n")
    (tmp_path / "local.py").write_text("x = 1\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "m.js").write_text("x = 1\n")
    (tmp_path / "main.py").write_text("x = 1\n")
    files, _ = _reasons(tmp_path)
    assert files == {"a/keep.gen.py", "main.py"}


def test_extra_exclude_patterns(tmp_path: Path) -> None:
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "g.py").write_text("x = 1\n")
    (tmp_path / "m.py").write_text("x = 1\n")
    assert {f.path for f in discover(tmp_path, exclude=["gen/"]).files} == {"m.py"}
