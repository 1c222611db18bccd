"""How big a feed and its values may be: the readers refuse more, the tables are sized
to fit. A feed is hostile input until read; these caps bound the time and memory an
import can take (measured in benchmarks/catalogue_import.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

MAX_FILE_BYTES = 200 * 1024 * 1024  # 200 MiB: a 500k-row Merchant feed is about 150 MiB
MAX_ROWS = 500_000  # feed rows (variants)
MAX_PROBLEMS = 1_000  # a file this broken is the wrong file: stop listing

# Column lengths, in characters; a longer value is a problem with its line.
SKU = 100  # Merchant's id: 50
SLUG = 200  # item_group_id, else id
TITLE = 300  # Merchant: 150
DESCRIPTION = 10_000  # after HTML is stripped (Merchant: 5,000)
RAW_DESCRIPTION = 100_000  # before: HTML markup is verbose
CATEGORY = 750  # Merchant's product_type
MATERIAL = 200
CARE = 2_000
LINK = 2_000
COLOUR = 100
SIZE = 100
LANGUAGE = 8
SOURCE = 300


@contextmanager
def paused_gc() -> Iterator[None]:
    """Building 100k records makes the cyclic collector scan them again and again, to find
    nothing (frozen records hold no cycles): a third of the time. Paused, then restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
