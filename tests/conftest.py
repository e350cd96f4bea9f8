"""Shared test set-up: the result cache never lands in the repository or its fixtures."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _cache_outside_the_repository() -> Iterator[None]:
    """CLI tests scan fixture directories; their cache goes to a temporary directory instead.
    Tests about the cache's default location remove the variable themselves."""
    previous = os.environ.get("ECSFIX_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="ecsfix-test-cache-") as cache:
        os.environ["ECSFIX_CACHE_DIR"] = cache
        yield
    if previous is None:
        os.environ.pop("ECSFIX_CACHE_DIR", None)
    else:
        os.environ["ECSFIX_CACHE_DIR"] = previous
