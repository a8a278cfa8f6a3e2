"""What a test does when something it needs is missing: skip locally, fail under CI.

``CI=true`` (set by ``.ci/run``) turns every such skip into a failure, so a CI run can never
pass by quietly not running a simulator, a tool or the recorded market data.
"""

from __future__ import annotations

import os

import pytest


def skip_or_fail(message: str) -> None:
    """Skip the calling test with ``message``; fail it instead when ``CI=true``."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
