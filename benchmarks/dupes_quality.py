"""Precision and recall of duplicate detection per clone type, on clones made from real code.

    python benchmarks/dupes_quality.py [--packages click==8.1.7,rich==13.9.4] [--originals 80] [--seed 1]

Functions of real PyPI packages (unpacked into benchmarks/.data/) are the originals.
From each sampled original the script makes:

- type 1: comments and blank lines added, docstring dropped, trailing comments;
- type 2: every parameter and local variable and the function renamed, string and
  number literals changed (layout kept);
- type 3: two statement edits (a simple statement deleted, one inserted, or an
  operator changed), names kept;
- type 3r: type 2 plus two statement edits.

Negative controls (must not be flagged): random pairs of other originals; *hard*
pairs (each original with the function of the other package most similar in
structure); *semantic* pairs (each original with the function of the other package
closest in meaning, by embedding cosine); and *boilerplate* pairs (short functions of
the package under the size gate, paired with their most similar short function).

Each function is put alone in a file (`orig/...` or `clones/...`), parsed, fingerprinted
and embedded the way the index does it (codesearch.dupes.fingerprint, representation, the local
CPU model), and every pair goes through `codesearch.dupes.duplicates.judge`. Precision of a
type is that of a detector facing that type's positives and all the negatives:
TP / (TP + FP over all negatives). A grid over threshold and Jaccard floor is printed
too: it is how the defaults in codesearch/dupes/duplicates.py were chosen.
"""

from __future__ import annotations

import argparse
import ast
import io
import keyword
import random
import sys
import textwrap
import tokenize
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _corpus import DATA, pypi_source

from codesearch.dupes.duplicates import (
    CALIBRATED_THRESHOLDS,
    UNCALIBRATED_THRESHOLD,
    DuplicateOptions,
    UnitLocation,
    _Unit,
    judge,
)
from codesearch.dupes.fingerprint import DUPLICATE_KINDS, UnitFingerprint, fingerprint_units, jaccard
from codesearch.embedding import Embedder
from codesearch.embedding.local import LocalEmbedder
from codesearch.embedding.static import StaticEmbedder
from codesearch.indexing.cache import EmbeddingCache
from codesearch.indexing.representation import plan_units
from codesearch.models import content_hash
from codesearch.parsing import parse_file

_BUILTINS = set(dir(__builtins__)) | {"self", "cls"}


@dataclass
class Func:
    name: str
    path: str
    text: str  # dedented, parses on its own
    lines: tuple[int, int] = (0, 0)


@dataclass
class Sample:
    path: str
    fp: UnitFingerprint
    plan_text: str
    vector: np.ndarray | None = None


def vector_of(sample: Sample) -> np.ndarray:
    """A sample's embedding (set for every sample before the semantic comparisons)."""
    assert sample.vector is not None
    return sample.vector


def collect(root: Path) -> list[Func]:
    out: list[Func] = []
    for f in sorted(root.rglob("*.py")):
        data = f.read_bytes()
        try:
            units = parse_file(str(f.relative_to(root)), data, "python").units
        except Exception:
            continue
        for u in units:
            if u.kind not in DUPLICATE_KINDS:
                continue
            line_start = data.rfind(b"\n", 0, u.start_byte) + 1
            indent = data[line_start : u.start_byte].decode("utf-8", "replace")
            if indent.strip():
                continue
            text = textwrap.dedent(indent + u.text)
            try:
                ast.parse(text)
            except SyntaxError:
                continue
            out.append(Func(u.qualified_name, u.path, text, (u.start_line, u.end_line)))
    return out


def nested(a: Func, b: Func) -> bool:
    """One inside the other (the tool never pairs those)."""
    if a.path != b.path:
        return False
    (a0, a1), (b0, b1) = a.lines, b.lines
    return (a0 <= b0 and b1 <= a1) or (b0 <= a0 and a1 <= b1)


def add_comments(text: str, rng: random.Random) -> str:
    tree = ast.parse(text)
    fn = tree.body[0]
    lines = text.splitlines()
    if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and ast.get_docstring(fn) is not None:
        doc = fn.body[0]
        if len(fn.body) > 1:
            del lines[doc.lineno - 1 : doc.end_lineno]
    out: list[str] = []
    for n, line in enumerate(lines):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if (
            n > 0
            and stripped
            and rng.random() < 0.25
            and not stripped.startswith((")", "]", "}", "else", "elif", "except", "finally"))
        ):
            out.append(f"{indent}# step {n}: see below")
        if n > 0 and rng.random() < 0.1:
            out.append("")
        if (
            stripped
            and not stripped.endswith(("\\", ",", "(", "[", "{"))
            and rng.random() < 0.15
            and '"""' not in line
            and "'''" not in line
        ):
            line = line + "  # note"
        out.append(line)
    result = "\n".join(out) + "\n"
    ast.parse(result)
    return result


def local_names(text: str) -> set[str]:
    fn = ast.parse(text).body[0]
    names: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        names.add(fn.name)
    return {n for n in names if n not in _BUILTINS and not keyword.iskeyword(n)}


def rename(text: str, rng: random.Random) -> str:
    names = sorted(local_names(text))
    mapping = {
        n: f"{rng.choice(['val', 'item', 'node', 'tmp', 'res', 'obj'])}_{i}" for i, n in enumerate(names)
    }
    out = []
    prev = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        t = tok
        if tok.type == tokenize.NAME and tok.string in mapping and not (prev and prev.string == "."):
            t = tok._replace(string=mapping[tok.string])
        elif tok.type == tokenize.STRING and not tok.string.lstrip("rbuRBU").startswith(
            ('"""', "'''", "f", "F")
        ):
            t = tok._replace(string=repr(f"s{rng.randint(0, 999)}"))
        elif tok.type == tokenize.NUMBER and tok.string.isdigit():
            t = tok._replace(string=str(int(tok.string) + rng.randint(1, 9)))
        out.append(t)
        if tok.type not in (
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.COMMENT,
            tokenize.INDENT,
            tokenize.DEDENT,
        ):
            prev = tok
    # Compat-mode untokenize rebuilds the layout (spacing changes too, as a reformatting tool would).
    result = tokenize.untokenize([(t.type, t.string) for t in out])
    ast.parse(result)
    return result


_OPS = [(" == ", " != "), (" + ", " - "), (" < ", " <= "), (" and ", " or "), (" is None", " is not None")]


def edit_statements(text: str, rng: random.Random, edits: int) -> str:
    for _ in range(edits):
        for _attempt in range(20):
            lines = text.splitlines()
            body = [
                n for n in range(1, len(lines)) if lines[n].strip() and not lines[n].strip().startswith("#")
            ]
            if not body:
                break
            n = rng.choice(body)
            line = lines[n]
            indent = line[: len(line) - len(line.lstrip())]
            choice = rng.random()
            if choice < 0.35:
                new = lines[:n] + lines[n + 1 :]
            elif choice < 0.7:
                stmt = rng.choice(
                    [
                        "checked = True",
                        "logger.debug('state %s', locals())",
                        "count = len(args) if args else 0",
                        "assert self is not None",
                        "timeout = max(timeout or 0, 1)",
                    ]
                )
                new = [*lines[:n], indent + stmt, *lines[n:]]
            else:
                pairs = [p for p in _OPS if p[0] in line]
                if not pairs:
                    continue
                a, b = rng.choice(pairs)
                new = [*lines[:n], line.replace(a, b, 1), *lines[n + 1 :]]
            candidate = "\n".join(new) + "\n"
            try:
                ast.parse(candidate)
            except SyntaxError:
                continue
            if candidate != text:
                text = candidate
                break
    return text


def sample_of(path: str, text: str) -> Sample | None:
    data = text.encode()
    units = parse_file(path, data, "python").units
    fps = fingerprint_units(data, "python", units)
    plans = {p.unit.key: p.text for p in plan_units(units)}
    funcs = [u for u in units if u.kind in DUPLICATE_KINDS and u.key in fps]
    if not funcs:
        return None
    outer = min(funcs, key=lambda u: (u.start_byte, -u.end_byte))
    return Sample(path, fps[outer.key], plans[outer.key])


def as_unit(s: Sample) -> _Unit:
    return _Unit(UnitLocation(s.path, 1, 1, s.path, s.fp.exact), s.fp, s.vector)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packages", default="click==8.1.7,rich==13.9.4")
    ap.add_argument("--originals", type=int, default=80)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--show-neighbours", action="store_true", help="print the flagged neighbour pairs")
    ap.add_argument("--min-tokens", type=int, default=30)
    ap.add_argument("--threshold", type=float, default=0.0, help="0 = the model's calibrated value")
    ap.add_argument("--model", default="static", choices=("static", "minilm"))
    ap.add_argument("--min-jaccard", type=float, default=0.5)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    pool: list[Func] = []
    for spec in args.packages.split(","):
        name, version = spec.split("==")
        root = pypi_source(name, version)
        pool += [Func(f.name, f"{name}/{f.path}", f.text, f.lines) for f in collect(root)]
    samples: dict[str, Sample] = {}
    for n, f in enumerate(pool):
        s = sample_of(f"orig/{n}_{Path(f.path).name}", f.text)
        if s is not None:
            samples[f"o{n}"] = s
    big = [k for k, s in samples.items() if args.min_tokens <= s.fp.tokens <= 600]
    small = [k for k, s in samples.items() if s.fp.tokens < args.min_tokens]
    chosen = rng.sample(big, min(args.originals, len(big)))
    print(
        f"pool: {len(pool)} functions from {args.packages}; {len(big)} at least {args.min_tokens} tokens, "
        f"{len(small)} shorter; {len(chosen)} originals sampled (seed {args.seed})"
    )

    pairs: dict[str, list[tuple[str, str]]] = {k: [] for k in ("type1", "type2", "type3", "type3r")}
    for key in chosen:
        n = int(key[1:])
        text = pool[n].text
        variants: dict[str, Callable[[str], str]] = {
            "type1": lambda t: add_comments(t, rng),
            "type2": lambda t: rename(t, rng),
            "type3": lambda t: edit_statements(t, rng, 2),
            "type3r": lambda t: edit_statements(rename(t, rng), rng, 2),
        }
        for kind, make in variants.items():
            try:
                clone = make(text)
            except (SyntaxError, tokenize.TokenError, IndentationError, ValueError):
                continue
            s = sample_of(f"clones/{kind}_{n}.py", clone)
            if s is not None:
                samples[f"{kind}-{n}"] = s
                pairs[kind].append((f"{kind}-{n}", key))

    negatives: dict[str, list[tuple[str, str]]] = {
        "random": [],
        "hard": [],
        "semantic": [],
        "boilerplate": [],
    }
    neighbours: list[tuple[str, str]] = []
    package = {f"o{n}": f.path.split("/", 1)[0] for n, f in enumerate(pool)}
    for key in chosen:
        other = rng.choice([k for k in big if k != key])
        negatives["random"].append((key, other))
        # Hard: the structurally closest function of *another* package (surely not a copy).
        seed = samples[key].fp
        ranked = sorted(
            (jaccard(seed.shingles, samples[k].fp.shingles), k) for k in big if package[k] != package[key]
        )
        negatives["hard"].append((key, ranked[-1][1]))
        # Neighbours: the closest function of the same package, not nested in it and not of the same
        # shape. Unlabelled: some are real copies within the package (see --show-neighbours).
        ranked = sorted(
            (jaccard(seed.shingles, samples[k].fp.shingles), k)
            for k in big
            if k != key
            and package[k] == package[key]
            and samples[k].fp.shape != seed.shape
            and not nested(pool[int(k[1:])], pool[int(key[1:])])
        )
        neighbours.append((key, ranked[-1][1]))
    for key in rng.sample(small, min(args.originals, len(small))):
        seed = samples[key].fp
        ranked = sorted((jaccard(seed.shingles, samples[k].fp.shingles), k) for k in small if k != key)
        negatives["boilerplate"].append((key, ranked[-1][1]))

    # Every function is embedded (through a cache in benchmarks/.data, so re-runs are quick): the
    # *semantic* negatives need the vectors of all candidates.
    emb: Embedder = StaticEmbedder() if args.model == "static" else LocalEmbedder()
    if not args.threshold:
        args.threshold = CALIBRATED_THRESHOLDS.get(emb.model_id, UNCALIBRATED_THRESHOLD)
    cache = EmbeddingCache(DATA / "dupes-quality-cache", emb.model_id, emb.dimensions)
    keys = sorted(samples)
    hashes = [content_hash(samples[k].plan_text) for k in keys]
    found = cache.get_many(hashes)
    missing = [(k, h) for k, h in zip(keys, hashes, strict=True) if h not in found]
    if missing:
        fresh = emb.embed_documents([samples[k].plan_text for k, _ in missing])
        new = {h: v for (_, h), v in zip(missing, fresh, strict=True)}
        cache.put_many(new)
        found.update(new)
    for k, h in zip(keys, hashes, strict=True):
        samples[k].vector = found[h]
    print(f"{len(keys)} functions embedded with {emb.model_id} ({len(missing)} not in the cache)\n")
    for key in chosen:
        # Semantic: the function of *another* package closest in meaning (cosine), surely not a copy.
        vec = vector_of(samples[key])
        ranked_cos = sorted(
            (float(np.dot(vec, vector_of(samples[k]))), k) for k in big if package[k] != package[key]
        )
        negatives["semantic"].append((key, ranked_cos[-1][1]))

    def flagged(group: list[tuple[str, str]], opts: DuplicateOptions) -> list[str | None]:
        out = []
        for a, b in group:
            p = judge(as_unit(samples[a]), as_unit(samples[b]), opts)
            out.append(None if p is None else p.kind)
        return out

    def table(opts: DuplicateOptions, label: str) -> None:
        knobs = f"min_tokens {opts.min_tokens}, min_jaccard {opts.min_jaccard}, threshold {opts.threshold}"
        print(f"## {label}: {knobs}")
        fp = sum(k is not None for g in negatives.values() for k in flagged(g, opts))
        print("| set | pairs | flagged | recall | precision | kinds |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for kind, group in pairs.items():
            res = flagged(group, opts)
            tp = sum(r is not None for r in res)
            kinds = {k: res.count(k) for k in ("exact", "renamed", "edited") if res.count(k)}
            prec = tp / (tp + fp) if tp + fp else 1.0
            print(f"| {kind} | {len(group)} | {tp} | {tp / len(group):.3f} | {prec:.3f} | {kinds} |")
        for kind, group in negatives.items():
            res = flagged(group, opts)
            bad = sum(r is not None for r in res)
            rate = f"false-positive rate {bad / len(group):.3f}"
            print(f"| negative: {kind} | {len(group)} | {bad} | | | {rate} |")
        near = sum(r is not None for r in flagged(neighbours, opts))
        print(f"| unlabelled: same-package neighbours | {len(neighbours)} | {near} | | | |")
        print()

    base = DuplicateOptions(args.min_tokens, args.min_jaccard, args.threshold)
    table(base, "defaults")
    table(DuplicateOptions(args.min_tokens, args.min_jaccard, 0.0), "structure floor only (no cosine)")
    table(DuplicateOptions(args.min_tokens // 2, args.min_jaccard, args.threshold), "half the size gate")
    table(
        DuplicateOptions(args.min_tokens * 4 // 3, args.min_jaccard, args.threshold), "a stricter size gate"
    )

    if args.show_neighbours:
        for (a, b), r in zip(neighbours, flagged(neighbours, base), strict=True):
            if r is not None:
                print(
                    f"---- flagged neighbours ({r}):\n{pool[int(a[1:])].text}\n----\n{pool[int(b[1:])].text}"
                )
    print("## grid (type 3 + 3r recall, false positives over all negatives)")
    print("| min_jaccard | threshold | recall t3 | recall t3r | FP | F1 (t3+t3r vs negatives) | neighbours |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    negs = [p for g in negatives.values() for p in g]
    for mj in (0.3, 0.4, 0.5, 0.6, 0.7):
        for th in (0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
            opts = DuplicateOptions(args.min_tokens, mj, th)
            r3 = flagged(pairs["type3"], opts)
            r3r = flagged(pairs["type3r"], opts)
            tp = sum(r is not None for r in r3 + r3r)
            fp = sum(r is not None for r in flagged(negs, opts))
            rec = tp / max(1, len(r3) + len(r3r))
            prec = tp / (tp + fp) if tp + fp else 1.0
            f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
            print(
                f"| {mj} | {th} | {sum(r is not None for r in r3) / max(1, len(r3)):.3f} | "
                f"{sum(r is not None for r in r3r) / max(1, len(r3r)):.3f} | {fp} | {f1:.3f} | "
                f"{sum(r is not None for r in flagged(neighbours, opts))} |"
            )
    print()
    print("LSH candidates (pairs sharing a MinHash band, so found without a vector search):")
    for label, group in pairs.items():
        shared = sum(bool(set(samples[a].fp.bands) & set(samples[b].fp.bands)) for a, b in group)
        print(f"  {label:<16} {shared}/{len(group)}")
    print()
    print("score distributions (structure Jaccard / cosine, median [p10, p90]):")
    groups = {**pairs, **{f"neg-{k}": v for k, v in negatives.items()}, "neighbours": neighbours}
    for label, group in groups.items():
        js, cs = [], []
        for a, b in group:
            sa, sb = samples[a], samples[b]
            js.append(jaccard(sa.fp.shingles, sb.fp.shingles))
            cs.append(float(np.dot(vector_of(sa), vector_of(sb))))
        if js:
            j = f"J {np.median(js):.2f} [{np.percentile(js, 10):.2f}, {np.percentile(js, 90):.2f}]"
            c = f"cos {np.median(cs):.2f} [{np.percentile(cs, 10):.2f}, {np.percentile(cs, 90):.2f}]"
            print(f"  {label:<16} {j}   {c}")


if __name__ == "__main__":
    main()
