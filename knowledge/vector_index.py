"""FAISS index of question-variant vectors, keyed by database id.

FAISS holds ids and vectors only; the text stays in SQL. Inner product on unit
vectors is cosine similarity. Small collections use exact search; above
`approximate_threshold` vectors the index becomes IVF (inverted lists), which
unlike HNSW supports removing ids, so updates stay incremental at any size.
A sidecar JSON records model, dimension and KB version; a file that does not
match is discarded and rebuilt, never trusted.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)

# One query at a time is searched: OpenMP threads waiting for a busy core (the web server,
# Rasa and other requests share it) made a 2 ms search take 16-20 ms. Concurrent requests
# still use every core, from their own threads.
faiss.omp_set_num_threads(1)

FORMAT = 2
INDEX_FILE = "vectors.faiss"
SIDECAR_FILE = "vectors.json"


@dataclass(frozen=True)
class IndexMeta:
    model: str
    dimension: int
    kb_version: int
    count: int
    kind: str
    format: int = FORMAT


class VectorIndex:
    """An id -> vector store with top-k cosine search; exact or IVF by size."""

    def __init__(self, dimension: int, *, approximate_threshold: int = 200_000, nprobe: int = 24):
        if dimension <= 0:
            raise ValueError("dimension must be positive")
        self.dimension = dimension
        self.approximate_threshold = approximate_threshold
        self.nprobe = nprobe
        self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))

    @property
    def kind(self) -> str:
        return "ivf" if _is_ivf(self._index) else "flat"

    def __len__(self) -> int:
        return int(self._index.ntotal)

    # -- building -----------------------------------------------------------------------
    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dimension: int, **options) -> VectorIndex:
        index = cls(dimension, **options)
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # a bulk build may use every core
        try:
            if len(ids) > index.approximate_threshold:
                index._index = index._new_ivf(vectors)
            index.add(ids, vectors)
        finally:
            faiss.omp_set_num_threads(1)
        return index

    def _new_ivf(self, training: np.ndarray) -> faiss.Index:
        # ~4*sqrt(n) lists keeps each list small; training on at most 100 points a list
        # is plenty for k-means and keeps the build time linear.
        nlist = max(64, int(4 * math.sqrt(len(training))))
        quantizer = faiss.IndexFlatIP(self.dimension)
        ivf = faiss.IndexIVFFlat(quantizer, self.dimension, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = training
        if len(training) > nlist * 100:
            rng = np.random.default_rng(0)
            sample = training[rng.choice(len(training), nlist * 100, replace=False)]
        ivf.train(np.ascontiguousarray(sample, dtype=np.float32))
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # O(1) remove and reconstruct
        ivf.nprobe = self.nprobe
        return ivf

    # -- incremental updates ---------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(ids), self.dimension):
            raise ValueError(f"expected {len(ids)} vectors of dimension {self.dimension}")
        ids = np.asarray(ids, dtype=np.int64)
        self.remove(ids)  # add is an upsert: an id never appears twice
        self._index.add_with_ids(vectors, ids)
        if self.kind == "flat" and len(self) > self.approximate_threshold:
            self._become_approximate()

    def remove(self, ids: np.ndarray) -> int:
        if len(ids) == 0 or len(self) == 0:
            return 0
        return int(self._index.remove_ids(np.asarray(ids, dtype=np.int64)))

    def _become_approximate(self) -> None:
        ids, vectors = self.export()
        log.info("index grew past %d vectors: switching to IVF", self.approximate_threshold)
        self._index = self._new_ivf(vectors)
        self._index.add_with_ids(vectors, ids)

    def ids(self) -> np.ndarray:
        if self.kind == "flat":
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        invlists = self._index.invlists
        parts = [
            faiss.rev_swig_ptr(invlists.get_ids(i), invlists.list_size(i)).copy()
            for i in range(self._index.nlist)
            if invlists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors); used to change index kind without re-embedding."""
        ids = self.ids()
        if not len(ids):
            return ids, np.zeros((0, self.dimension), dtype=np.float32)
        if self.kind == "flat":
            return ids, self._index.index.reconstruct_n(0, len(self))
        return ids, self.vectors_of(ids.tolist())

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        return np.vstack([self._index.reconstruct(int(i)) for i in ids])

    # -- search ---------------------------------------------------------------------------
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query; missing slots have id -1."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dimension)
        if len(self) == 0:
            shape = (len(queries), k)
            return np.full(shape, -np.inf, dtype=np.float32), np.full(shape, -1, dtype=np.int64)
        return self._index.search(queries, min(k, len(self)))

    # -- persistence ----------------------------------------------------------------------
    def save(self, directory: Path, *, model: str, kb_version: int) -> IndexMeta:
        directory.mkdir(parents=True, exist_ok=True)
        meta = IndexMeta(model, self.dimension, kb_version, len(self), self.kind)
        # Write both files aside, then rename: a crash leaves the old pair or the new pair.
        # Several processes (`supportbot run --workers N`) share the folder: each writes its
        # own temporary files, and the pair is swapped under a lock readers take too.
        tmp_index = directory / f"{INDEX_FILE}.{os.getpid()}.tmp"
        tmp_meta = directory / f"{SIDECAR_FILE}.{os.getpid()}.tmp"
        faiss.write_index(self._index, str(tmp_index))
        tmp_meta.write_text(json.dumps(asdict(meta)))
        with _folder_lock(directory, fcntl.LOCK_EX):
            os.replace(tmp_index, directory / INDEX_FILE)
            os.replace(tmp_meta, directory / SIDECAR_FILE)
        return meta

    @classmethod
    def load(
        cls, directory: Path, *, model: str, dimension: int, **options
    ) -> tuple[VectorIndex, IndexMeta] | None:
        """The saved index, or None when it is missing, corrupt or made for another model."""
        index_path, meta_path = directory / INDEX_FILE, directory / SIDECAR_FILE
        if not index_path.exists() or not meta_path.exists():
            return None
        try:
            with _folder_lock(directory, fcntl.LOCK_SH):  # never half of two saves
                meta = IndexMeta(**json.loads(meta_path.read_text()))
                raw = faiss.read_index(str(index_path))
            if (meta.model, meta.dimension, meta.format) != (model, dimension, FORMAT):
                log.warning("index at %s was built for %s/%d: rebuilding", directory, meta.model,
                            meta.dimension)
                return None
            if raw.d != dimension or raw.ntotal != meta.count:
                log.warning("index at %s does not match its sidecar: rebuilding", directory)
                return None
        except (ValueError, TypeError, OSError, RuntimeError) as exc:
            log.warning("index at %s is unreadable (%s): rebuilding", directory, exc)
            return None
        index = cls(dimension, **options)
        index._index = raw
        if _is_ivf(raw):
            faiss.extract_index_ivf(raw).nprobe = index.nprobe
        return index, meta


@contextmanager
def _folder_lock(directory: Path, mode: int) -> Iterator[None]:
    with open(directory / ".lock", "a") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _is_ivf(index: faiss.Index) -> bool:
    try:
        faiss.extract_index_ivf(index)
    except RuntimeError:
        return False
    return True
