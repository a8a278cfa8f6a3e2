"""Deriv's JSON schemas (vendored under ``schemas/``): request validation and call metadata.

``CALLS`` are the calls the simulator answers, in the order used to find a request's call (the
first key of the request that names a known call, as Deriv does). ``validate_request`` checks a
request against the call's ``send.json`` (draft-04) and raises Deriv's
``InputValidationFailed``: message ``"Input validation failed: <field>, …"`` and ``details``
mapping each offending field (the last element of its path) to a reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from tickgate.host.simserver.envelope import ApiError

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
CALLS = ("authorize", "active_symbols", "ticks_history", "ticks", "proposal_open_contract",
         "proposal", "buy", "sell", "portfolio", "profit_table", "statement", "balance",
         "transaction", "forget_all", "forget", "ping", "time", "website_status")


@dataclass(frozen=True)
class CallInfo:
    """What a call's ``send.json`` says about access: auth needed, scopes, masked fields."""

    name: str
    auth_required: bool
    scopes: tuple[str, ...]
    sensitive: frozenset[str]
    validator: Draft4Validator


def load(call: str, direction: str) -> dict[str, Any]:
    """The raw schema ``<call>/<direction>.json`` (direction: send|receive)."""
    with open(SCHEMA_DIR / call / f"{direction}.json", encoding="utf-8") as f:
        return json.load(f)


@cache
def info(call: str) -> CallInfo:
    """Metadata and validator of ``call`` (cached)."""
    schema = load(call, "send")
    sensitive = frozenset(k for k, v in schema.get("properties", {}).items()
                          if isinstance(v, dict) and v.get("sensitive"))
    return CallInfo(call, bool(schema.get("auth_required")),
                    tuple(schema.get("auth_scopes", ())), sensitive, Draft4Validator(schema))


def find_call(request: dict[str, Any]) -> str | None:
    """The call a request makes: its first key naming a known call, else None."""
    for key in request:
        if key in _CALL_SET:
            return key
    return None


_CALL_SET = frozenset(CALLS)


def _reason(err: ValidationError) -> tuple[list[str], str]:
    leaf = next((p for p in reversed(err.absolute_path) if isinstance(p, str)), None)
    v = err.validator
    if v == "required":
        missing = err.message.split("'")[1] if "'" in err.message else str(leaf)
        return [missing], "Missing property."
    if v == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return extra or [str(leaf)], "Properties not allowed: " + ", ".join(extra) + "."
    field = leaf or "input"
    if v == "enum":
        return [field], "Not in enum list: " + ", ".join(str(e) for e in err.validator_value) + "."
    if v == "type":
        return [field], f"Expected {err.validator_value} - got {type(err.instance).__name__}."
    if v == "pattern":
        return [field], f"String does not match {err.validator_value}."
    if v in ("minimum", "maximum"):
        return [field], f"{err.instance} is {'less' if v == 'minimum' else 'greater'} than " \
                        f"{v} {err.validator_value}."
    return [field], err.message[:200]


def validate_request(call: str, request: dict[str, Any]) -> None:
    """Raise ``InputValidationFailed`` unless ``request`` satisfies ``call``'s send schema."""
    errors = list(info(call).validator.iter_errors(request))
    if not errors:
        return
    details: dict[str, str] = {}
    for err in errors:
        fields, reason = _reason(err)
        for f in fields:
            details.setdefault(f, reason)
    raise ApiError("InputValidationFailed", "Input validation failed: " + ", ".join(details),
                   details)
