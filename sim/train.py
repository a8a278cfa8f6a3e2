"""The PGO training run of the simulated board's build (:mod:`.build`):
``python -m tickgate.sim.train LIBRARY REGMAP PARAMS_JSON``.

Loads an instrumented library (built with ``-fprofile-generate``) as :class:`SimBoard`
would and runs what the bench and a replay run: the kill switch cleared, ticks of every
symbol interleaved by the host's packer, then the same ticks as drawn (pipeline stalls), in
DMA batches; about 1 s. The profile (``.gcda`` files beside the objects) is written when
this process exits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import numpy as np

from tickgate.drivers.packer import interleave
from tickgate.drivers.sim_board import SimBoard
from tickgate.gateware.params import EngineParams
from tickgate.gateware.records import TICK_DTYPE, TickFlag

#: Ticks of each pass (interleaved, then as drawn) and the batch size.
TICKS = 24_576
BATCH = 8_192


def training_ticks(n: int, n_symbols: int, *, interleaved: bool, seed: int = 0) -> np.ndarray:
    """Return ``n`` tick records: uniform symbols, random-walk prices, 10 ticks per ms."""
    rng = np.random.default_rng(seed)
    symbols = rng.integers(0, n_symbols, n)
    if interleaved:
        symbols = symbols[interleave(symbols)]
    ticks = np.zeros(n, TICK_DTYPE)
    ticks["symbol"] = symbols
    ticks["price"] = 1000 + np.cumsum(rng.integers(-20, 21, n, dtype=np.int32), dtype=np.int32)
    ticks["seq"] = np.arange(n)
    ticks["ts"] = np.arange(n) // 10
    ticks["flags"][np.unique(symbols, return_index=True)[1]] = TickFlag.RESET
    return ticks


def main(argv: Sequence[str] | None = None) -> int:
    library, regmap, params_json = sys.argv[1:] if argv is None else argv
    params = EngineParams(**json.loads(params_json))
    board = SimBoard.create(params=params, regmap=regmap, library=library, max_batch=BATCH)
    board.open()
    try:
        board.clear_kill()
        for interleaved in (True, False):
            ticks = training_ticks(TICKS, params.n_symbols, interleaved=interleaved)
            board.process_ticks(ticks)
    finally:
        board.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
