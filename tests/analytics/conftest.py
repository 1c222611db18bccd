"""Fixtures shared by the analytics tests."""

from __future__ import annotations

import pytest

from tests.analytics.test_dashboard import seed_labelled


@pytest.fixture
def labelled(database_url):
    """Questions with known topics, stages and products over five ISO weeks (the counts
    are in `seed_labelled`); returns (url, steady topic id, rising topic id)."""
    return seed_labelled(database_url)
