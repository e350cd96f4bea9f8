"""Shared helper for tests that use `terraform` as an oracle."""

from __future__ import annotations

import os
import shutil

import pytest


def require_terraform() -> str:
    """The terraform binary; skip when absent unless ECSFIX_REQUIRE_TERRAFORM=1, then fail."""
    path = shutil.which("terraform")
    if path is None:
        if os.environ.get("ECSFIX_REQUIRE_TERRAFORM") == "1":
            pytest.fail("terraform is required (ECSFIX_REQUIRE_TERRAFORM=1) but not on PATH")
        pytest.skip("terraform not on PATH")
    return path
