"""Typed decoding of ``tick`` frames (msgspec): the client's fast path for the tick stream.

``decode_tick(data)`` decodes one frame into a ``TickFrame`` (only the fields the client and
the feed read; ``echo_req`` and the rest are skipped, not built) or raises: a frame whose
``msg_type`` is not ``"tick"``, that has an ``error`` or lacks an object ``tick`` or
``subscription`` raises (``ValidationError``), so the client tests none of these. It is a
shortcut, never a second set of rules: for any frame the client takes this way, each field
holds the value ``orjson.loads`` would give for it (so the same code handles both), and any
other frame goes the general way (``orjson.loads`` into a dict), which decides what the
frame is (a reply, another stream's message, malformed...). Fields are declared in the
order Deriv sends keys (alphabetical): msgspec looks for the next key at the next field
first, which saves ~1,000 instructions a frame (~10% of the decoding).
``DerivClient._on_message`` takes a frame this way when (tests pin each point,
``tests/venues/test_deriv_fastpath.py``):

- the frame is ASCII (Deriv's ticks are): msgspec does not check UTF-8 inside the strings
  it skips, orjson refuses invalid UTF-8 anywhere;
- it decodes (a ``MsgspecError`` or ``RecursionError`` otherwise): integers within int64
  only, since orjson makes a float of one outside ``-2**63`` to ``2**64 - 1`` and msgspec an
  int (and msgspec's bounds stop at int64); prices are ``float | int`` (JSON ``1E2`` is a
  float and ``100`` an int in both); the last of duplicate keys wins in both;
- ``msg_type`` is ``"tick"``, ``tick`` and ``subscription`` are objects and there is no
  ``error`` (not even ``null``), or it raises; the stream id is bound to a subscription
  listening with ``ticks=``, and ``req_id`` is no request's still waiting for its reply.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

#: An integer orjson also decodes as an int (it makes a float of one beyond -2**63..2**64-1).
Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Number = float | Int


class TickFields(msgspec.Struct, gc=False):
    """The ``tick`` object's fields the feed reads, as they are on the wire (None: absent)."""

    ask: Number | None = None
    bid: Number | None = None
    epoch: Int | None = None
    pip_size: Number | None = None
    quote: Number | None = None
    symbol: str | None = None


class SubscriptionRef(msgspec.Struct, gc=False):
    """The ``subscription`` object: its stream id."""

    id: str


class TickFrame(msgspec.Struct, gc=False, kw_only=True):
    """A ``tick`` frame's fields that tell a tick of a live stream (None: absent).

    ``msg_type`` must be ``"tick"``, ``subscription`` and ``tick`` objects and ``error``
    absent (``UnsetType`` takes no value, not even ``null``): any other frame raises here
    (a reply, a proposal: ~0.8 µs with the exception for a ``buy`` reply, which the general
    way then decodes in ~1.3 µs), and a tick costs no test of them."""

    error: msgspec.UnsetType = msgspec.UNSET
    msg_type: Literal["tick"]
    req_id: Int | None = None
    subscription: SubscriptionRef
    tick: TickFields


decode_tick = msgspec.json.Decoder(TickFrame).decode
