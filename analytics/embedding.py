"""What analytics needs of a sentence embedder. The embedders themselves live in
knowledge/; analytics imports only core, so it names the shape it uses instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of `dimension` values."""

    name: str
    dimension: int

    def embed_many(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray: ...
