"""The CPU transformer (MiniLM int8 in onnxruntime), as the progressive upgrade runs it."""

from __future__ import annotations

import numpy as np

from codesearch.embedding.local import LocalEmbedder


def test_batches_of_many_shapes_keep_no_per_shape_memory_plan() -> None:
    # onnxruntime's memory pattern is planned and kept per input shape; with it on, a
    # watcher upgrading 2,200 files to this model grew from 0.3 to 4.4 GB
    # (benchmarks/watch_latency.py). The figure is the benchmark's; this checks the cause.
    embedder = LocalEmbedder(threads=1)
    try:
        options = embedder._session.get_session_options()
        assert options.enable_mem_pattern is False and options.enable_cpu_mem_arena is False
        texts = [" ".join(["def parse value"] * n) for n in (1, 7, 40, 90)]
        vectors = embedder.embed_documents(texts)
        assert vectors.shape == (4, 384) and np.isfinite(vectors).all()
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    finally:
        embedder.close()
