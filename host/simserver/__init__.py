"""A local, protocol-faithful Deriv market simulator (``tickgate sim-server``).

It speaks Deriv's v3 WebSocket API on loopback so Deriv's own clients, and ours, connect to it
unchanged (``ws://127.0.0.1:PORT/websockets/v3?app_id=1089``). One module per job:

- ``clock``: simulated time, optionally accelerated;
- ``symbols``: the symbol catalogue (volatility indices, forex, crypto);
- ``prices``: seeded, deterministic price paths per symbol, history and candles;
- ``market``: the tick scheduler that publishes each symbol's ticks to listeners;
- ``accounts``: tokens, scopes and accounts (demo ``VRTC…``, real ``CR…``);
- ``ledger``: an account's transactions (statement) and closed contracts (profit table);
- ``pricing``: how contracts are priced and when they win (documented there);
- ``contracts``: one contract's life (entry, updates, settlement);
- ``trading``: buying, selling and settling contracts against accounts;
- ``envelope``: Deriv's response/error envelope and ``echo_req`` masking;
- ``schemas``: Deriv's send/receive JSON schemas and request validation;
- ``handlers``: one function per API call;
- ``connection``: one client connection (dispatch, subscriptions, ping-flood rule);
- ``faults``: fault-injection switches;
- ``server``: ``SimServer``, the WebSocket server (picows) and its handshake;
- ``rest``: the new Deriv API's OTP endpoint;
- ``cli``: ``tickgate sim-server``.

In-process use::

    async with SimServer(port=0, seed=1, speed=100) as server:
        url = server.url  # ws://127.0.0.1:PORT/websockets/v3?app_id=1089&l=EN&brand=deriv
"""

from __future__ import annotations

from typing import Any

__all__ = ["Faults", "SimServer"]


def __getattr__(name: str) -> Any:
    # Lazy, so ``tickgate --help`` does not import picows and the server.
    if name == "SimServer":
        from tickgate.host.simserver.server import SimServer
        return SimServer
    if name == "Faults":
        from tickgate.host.simserver.faults import Faults
        return Faults
    raise AttributeError(name)
