"""Fetch the repositories of the file-level set: one realistic checkout per repos/*.toml.

Each repository is pinned in ``repos/<name>.toml`` (see ``_repos.py`` for the
format) and comes from a package registry:

* ``pypi``           ``pip download --no-deps --no-binary :all: pkg==ver`` (the sdist);
* ``npm``            ``npm pack pkg@ver`` (the tarball);
* ``debian-source``  ``apt-get source --download-only pkg=ver``, unpacked with
  ``dpkg-source -x`` (upstream tarballs plus Debian's patches); the ``debian/``
  packaging directory is removed;
* ``debian``         ``apt-get download pkg=ver`` (a binary .deb), unpacked with ``dpkg-deb -x``.

Archives are cached under ``benchmarks/.data/quality/files/_downloads/`` and each
repository is unpacked into ``benchmarks/.data/quality/files/<name>/``: code,
tests, docs and configuration as they are, less the ``exclude`` patterns of its
file. Every ``relevant`` path of every query must exist afterwards; the script
fails listing any that does not.

``debian-source`` needs ``deb-src`` lines in apt's sources, e.g. a file
``/etc/apt/sources.list.d/deb-src.sources`` that repeats ``debian.sources`` with
``Types: deb-src``, then ``apt-get update``.

Run from the repository root::

    python benchmarks/quality/files/fetch.py              # every repository
    python benchmarks/quality/files/fetch.py --repos chi,click --force
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _repos import DATA_ROOT, Repo, load_repos  # noqa: E402

DOWNLOADS = DATA_ROOT / "_downloads"
#: Written into each unpacked repository: what it was made from (a re-fetch is skipped when equal).
STAMP = ".codesearch-benchmark-source"


def log(msg: str) -> None:
    print(msg, flush=True)


def run(cmd: list[str], cwd: Path | None = None) -> None:
    log(f"  $ {' '.join(cmd)}")
    subprocess.run(cmd, cwd=cwd, check=True)


# --------------------------------------------------------------------------- downloads


def download(repo: Repo) -> Path:
    """The cached download directory of this repository's archive(s), filled if empty."""
    dl = DOWNLOADS / f"{repo.source}--{repo.package.replace('/', '_').lstrip('@')}--{repo.version}"
    if dl.is_dir() and any(dl.iterdir()):
        return dl
    tmp = dl.with_name(dl.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if repo.source == "pypi":
            run(
                [
                    *(
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "--quiet",
                        "--no-deps",
                        "--no-binary",
                        ":all:",
                    ),
                    *("--dest", str(tmp), f"{repo.package}=={repo.version}"),
                ]
            )
        elif repo.source == "npm":
            run(["npm", "pack", "--silent", f"{repo.package}@{repo.version}"], cwd=tmp)
        elif repo.source == "debian-source":
            try:
                run(["apt-get", "source", "--download-only", f"{repo.package}={repo.version}"], cwd=tmp)
            except subprocess.CalledProcessError as exc:
                raise SystemExit(
                    f"apt-get source {repo.package}={repo.version} failed. It needs deb-src lines: "
                    "add /etc/apt/sources.list.d/deb-src.sources (a copy of debian.sources with "
                    "`Types: deb-src`), run `apt-get update`, and try again."
                ) from exc
        elif repo.source == "debian":
            run(["apt-get", "download", f"{repo.package}={repo.version}"], cwd=tmp)
        else:  # _repos.py checks this already
            raise SystemExit(f"{repo.name}: unknown source {repo.source!r}")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(dl, ignore_errors=True)
    tmp.rename(dl)
    return dl


def _single(files: list[Path], what: str, repo: Repo) -> Path:
    if len(files) != 1:
        raise SystemExit(f"{repo.name}: expected one {what}, found {[f.name for f in files]}")
    return files[0]


def _safe_extract(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")


def unpack(repo: Repo, dl: Path, work: Path) -> Path:
    """Unpack the archive into `work`; returns the directory that is the archive's top."""
    if repo.source in ("pypi", "npm"):
        archive = _single(sorted(dl.glob("*.tar.gz")) + sorted(dl.glob("*.tgz")), "tarball", repo)
        _safe_extract(archive, work)
    elif repo.source == "debian-source":
        dsc = _single(sorted(dl.glob("*.dsc")), ".dsc file", repo)
        run(["dpkg-source", "--no-check", "-x", str(dsc), str(work / "src")])
        shutil.rmtree(work / "src" / "debian", ignore_errors=True)
        shutil.rmtree(work / "src" / ".pc", ignore_errors=True)  # quilt's record of applied patches
    else:  # debian binary
        deb = _single(sorted(dl.glob("*.deb")), ".deb file", repo)
        run(["dpkg-deb", "-x", str(deb), str(work / "deb")])
    tops = [p for p in work.iterdir() if p.is_dir()]  # dpkg-source links the tarballs beside it
    return _single(tops, "top directory in the archive", repo)


def copy_repo(repo: Repo, top: Path, dest: Path) -> int:
    """Copy `top/root` to `dest`, less the exclude patterns; returns the number of files."""
    import pathspec

    src = top / repo.root if repo.root else top
    if not src.is_dir():
        raise SystemExit(f"{repo.name}: root {repo.root!r} is not a directory of the archive")
    spec = pathspec.GitIgnoreSpec.from_lines(repo.exclude)
    n = 0
    for path in sorted(src.rglob("*")):
        if path.is_dir() or (path.is_symlink() and not path.exists()):
            continue
        rel = path.relative_to(src).as_posix()
        if spec.match_file(rel):
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target, follow_symlinks=True)
        n += 1
    return n


def stamp_of(repo: Repo) -> str:
    return (
        f"{repo.source} {repo.package} {repo.version} root={repo.root!r} exclude={sorted(repo.exclude)!r}\n"
    )


def fetch(repo: Repo, force: bool) -> None:
    dest = DATA_ROOT / repo.name
    if not force and (dest / STAMP).is_file() and (dest / STAMP).read_text() == stamp_of(repo):
        log(f"{repo.name}: up to date ({repo.package} {repo.version})")
        return
    log(f"{repo.name}: {repo.source} {repo.package} {repo.version}")
    dl = download(repo)
    with tempfile.TemporaryDirectory(dir=DATA_ROOT, prefix=f".{repo.name}-") as tmp:
        top = unpack(repo, dl, Path(tmp))
        staged = Path(tmp) / "_staged"
        n = copy_repo(repo, top, staged)
        (staged / STAMP).write_text(stamp_of(repo))
        shutil.rmtree(dest, ignore_errors=True)
        staged.rename(dest)
    log(f"  {n} files -> {dest.relative_to(DATA_ROOT.parents[2])}")


def missing_relevant(repo: Repo) -> list[str]:
    root = DATA_ROOT / repo.name
    out: list[str] = []
    for q in repo.queries:
        out.extend(f"{repo.name}: {p}  (query {q.text!r})" for p in q.relevant if not (root / p).is_file())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", default="", help="comma-separated repository names (default: all)")
    ap.add_argument("--force", action="store_true", help="unpack again even when up to date")
    args = ap.parse_args(argv)
    repos = load_repos([r for r in args.repos.split(",") if r])
    DATA_ROOT.mkdir(parents=True, exist_ok=True)
    for repo in repos:
        fetch(repo, args.force)
    missing = [m for repo in repos for m in missing_relevant(repo)]
    if missing:
        log(f"\nFAILED: {len(missing)} relevant path(s) do not exist:")
        for m in missing:
            log(f"  {m}")
        return 1
    n_q = sum(len(r.queries) for r in repos)
    log(f"\n{len(repos)} repositories, {n_q} queries: every relevant path exists")
    return 0


if __name__ == "__main__":
    sys.exit(main())
