"""The model board: the card's numpy reference model behind the :class:`~.board.Board` API.

The default board where no card and no simulator is available. Its card is
:class:`tickgate.gateware.card_model.CardModel`: the same registers (from the same register
map) and the same records, bit for bit, as the gateware; what a model without a clock cannot
give (the cycle counter, the feed watchdog) is listed in that module's docstring.

``ModelBoard.create(params=EngineParams(n_symbols=16))`` builds one for another build of
the card; ``regmap`` (a ``regmap.json``) must then describe that build, or :meth:`open`
refuses it like a card of another bitstream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tickgate.gateware.card_model import DECERR, BusError, CardModel
from tickgate.gateware.params import EngineParams
from tickgate.gateware.records import OUTPUT_DTYPE, Side

from .board import Board, BoardBusError, BoardDmaError, BoardError, Port
from .regmap import RegisterMapInfo

__all__ = ["ModelBoard"]


class ModelBoard(Board):
    """The reference model as a board (see the module docstring)."""

    kind = "model"

    def __init__(self, info: RegisterMapInfo, params: EngineParams, **options: Any) -> None:
        super().__init__(info, **options)
        self.params = params
        self.card: CardModel | None = None

    @classmethod
    def create(cls, *, regmap: str | Path | None = None, params: EngineParams | None = None,
               symbols: int | None = None, **options: Any) -> ModelBoard:
        """A model board of the build ``params`` (or ``symbols`` symbols; default 64),
        reached through ``regmap`` (default: the map generated for that build)."""
        if params is None:
            params = EngineParams(n_symbols=symbols) if symbols else EngineParams()
        from tickgate.gateware.card_regs import card_regmap
        info = (RegisterMapInfo.from_json(regmap) if regmap is not None
                else RegisterMapInfo.from_json(card_regmap(params).to_json()))
        return cls(info, params, **options)

    def _open(self) -> None:
        self.card = CardModel(self.params)

    def _close(self) -> None:
        self.card = None

    def _read32(self, offset: int) -> int:
        assert self.card is not None
        try:
            return self.card.read32(offset)
        except BusError as exc:
            raise _bus_error(exc) from None

    def _write32(self, offset: int, value: int) -> None:
        assert self.card is not None
        try:
            self.card.write32(offset, value)
        except BusError as exc:
            raise _bus_error(exc) from None

    def _transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        assert self.card is not None
        try:
            return self.card.transfer(port, records)
        except ValueError as exc:
            raise BoardError(f"model board: {exc}") from None

    def _stream(self, port: Port, records: np.ndarray, dtype: np.dtype) -> np.ndarray:
        """:meth:`Board._stream` for a call of one DMA batch (the daemon's one-tick calls):
        the same checks, the model's records returned without a copy."""
        if type(records) is not np.ndarray or not 1 <= len(records) <= self.max_batch:
            return super()._stream(port, records, dtype)
        self._require_open()
        if records.dtype != dtype:
            raise TypeError(f"{port} records must have dtype {dtype}, not {records.dtype}")
        if records.ndim != 1:
            raise ValueError(f"{port} records must be one-dimensional")
        got = self._transfer(port, records)
        if got.dtype != OUTPUT_DTYPE or len(got) != len(records):
            raise BoardDmaError(
                f"{self.kind} board: a batch of {len(records)} {port} records came back as "
                f"{len(got)} records; the card lost or added records")
        return got

    def rehearse_tick(self, ticks: np.ndarray) -> np.ndarray:
        """:meth:`Board.rehearse_tick`: the tick goes the way of :meth:`process_ticks` into
        the card model itself (the same calls, the same objects and arrays, which is what
        keeps them in the caches: a private copy of the model kept the board call at ~34 µs
        p50 after 50 ms, the model itself at ~15 µs), then the risk gate checks a one-lot
        buy of the symbol at the tick's price as it checks a fired intent (which a tick
        reaches only when the decision fires); then everything the two changed is put back
        (:meth:`~tickgate.gateware.card_model.CardModel.save_symbol`): the symbol's state,
        the decision unit's order counter, the gate's scalars, the counters. The tick's
        record is returned."""
        self._require_open()
        if len(ticks) != 1:
            raise TypeError("a rehearsal is one tick")
        card = self.card
        assert card is not None
        symbol = int(ticks["symbol"][0])
        saved = card.save_symbol(symbol)
        try:
            out = self.process_ticks(ticks)
            card.top.check_intent(symbol, Side.BUY, 1, int(ticks["price"][0]))
            return out
        finally:
            card.restore_symbol(saved)

    def transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        """One DMA batch on ``port`` (no batching, no checks): the fake device's hook."""
        self._require_open()
        return self._transfer(port, records)


def _bus_error(exc: BusError) -> BoardBusError:
    kind = "DECERR" if exc.resp == DECERR else "SLVERR"
    return BoardBusError(f"model board: register access at {exc.offset:#x} answered "
                         f"{kind}: {exc}")
