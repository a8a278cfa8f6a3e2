"""Checking a request against Deriv's ``send.json`` before it leaves (``validate=True``).

The schemas are the ones the market simulator vendors (``tickgate.host.simserver.schemas``,
draft-04, loaded and cached there); a call without a vendored schema passes unchecked.
"""

from __future__ import annotations

from typing import Any

from tickgate.host.simserver import schemas


def call_of(request: dict[str, Any]) -> str:
    """The call a request makes: its first key (the client always puts the call first)."""
    return next(iter(request))


def has_schema(call: str) -> bool:
    """Whether ``call``'s ``send.json`` is vendored."""
    return (schemas.SCHEMA_DIR / call / "send.json").is_file()


def errors(request: dict[str, Any]) -> list[str]:
    """Why ``request`` fails its ``send.json`` (empty when it passes or has no schema)."""
    call = call_of(request)
    if not has_schema(call):
        return []
    return [f"{'/'.join(map(str, e.absolute_path)) or call}: {e.message}"
            for e in schemas.info(call).validator.iter_errors(request)]
