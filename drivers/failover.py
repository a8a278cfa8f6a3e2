"""Failover: a card that stops answering is replaced by the model board, same bits, loudly.

:class:`FailoverBoard` wraps a card (any :class:`~.board.Board`) and runs a
:class:`~.model_board.ModelBoard` of the same build beside it as a *shadow*: every register
write and every batch goes to both, so the shadow's state (each symbol's indicators, the
decision unit's states, the risk gate's positions and buckets, the counters) is always the
card's. While the card answers, its records are returned, and each batch is compared with
the shadow's: a difference is counted in :attr:`FailoverBoard.divergences` and logged as an
error (the card and the model disagree: a hardware fault, or a card that was running before
the host attached).

When the card fails — :class:`~.board.BoardTimeout`, :class:`~.board.BoardDmaError`,
:class:`~.board.BoardMismatch` (its id words are wrong: reloaded, reset or gone) or
:class:`~.board.BoardClosed` — the batch's records come from the shadow, which already
computed them, and every later call goes to the shadow only. The switch is logged at
CRITICAL on the ``tickgate.board`` logger and shown by :meth:`FailoverBoard.health`
(``failed_over``, with the reason and time). There is no automatic switch back: a card's
state after a failure is unknown, so returning to it is the host's decision (reload, then a
new board).

Costs: the shadow computes every batch too (the model board runs at millions of ticks per
second, well above any card's DMA rate from Python). Register reads go to the card only,
while it answers; a register access error (:class:`~.board.BoardBusError`) is an answer, not
a failure, and the shadow answers the same.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from tickgate.gateware.params import EngineParams

from .board import (
    Board,
    BoardBusError,
    BoardClosed,
    BoardDmaError,
    BoardError,
    BoardHealth,
    BoardMismatch,
    BoardTimeout,
    Port,
)
from .model_board import ModelBoard

__all__ = ["FailoverBoard"]

log = logging.getLogger("tickgate.board")

#: What makes the wrapper give up on the card.
CARD_FAILURES = (BoardTimeout, BoardDmaError, BoardMismatch, BoardClosed)


class FailoverBoard(Board):
    """A card with the model board as its shadow and stand-in (see the module docstring)."""

    def __init__(self, card: Board, params: EngineParams) -> None:
        super().__init__(card.info, max_batch=card.max_batch, timeout=card.timeout)
        self.card = card
        self.kind = card.kind
        self.shadow = ModelBoard.create(params=params, max_batch=card.max_batch)
        if self.shadow.info.hash != card.info.hash:
            raise BoardMismatch(f"the model of a {params.n_symbols}-symbol card has register "
                                f"map {self.shadow.info.hash:#010x}, the {card.kind} board's "
                                f"is {card.info.hash:#010x}: they are not the same build")
        #: Why and when the card was given up (None while it answers).
        self.failure: str | None = None
        #: Batches in which the card's records differed from the model's.
        self.divergences = 0

    @property
    def failed_over(self) -> bool:
        return self.failure is not None

    # ------------------------------------------------------------------ Board
    def _open(self) -> None:
        self.shadow.open()
        try:
            self.card.open()
        except CARD_FAILURES as exc:
            self._fail_over(exc, "opening it")

    def _close(self) -> None:
        self.shadow.close()
        self.card.close()

    def _read32(self, offset: int) -> int:
        if not self.failed_over:
            try:
                return self.card.read32(offset)
            except BoardBusError:
                self.shadow.read32(offset)      # raises the same, counts the same
                raise
            except CARD_FAILURES as exc:
                self._fail_over(exc, f"reading {offset:#x}")
        return self.shadow.read32(offset)

    def _write32(self, offset: int, value: int) -> None:
        shadow_error: BoardBusError | None = None
        try:
            self.shadow.write32(offset, value)
        except BoardBusError as exc:
            shadow_error = exc
        if not self.failed_over:
            try:
                self.card.write32(offset, value)
            except BoardBusError:
                raise
            except CARD_FAILURES as exc:
                self._fail_over(exc, f"writing {offset:#x}")
        if shadow_error is not None:
            raise shadow_error

    def _transfer(self, port: Port, records: np.ndarray) -> np.ndarray:
        want = self.shadow.transfer(port, records)
        if self.failed_over:
            return want
        try:
            got = self.card._transfer(port, records)
            if got.dtype != want.dtype or len(got) != len(records):
                raise BoardDmaError(f"{self.card.kind} board: {len(records)} {port} records "
                                    f"came back as {len(got)}")
        except CARD_FAILURES as exc:
            self._fail_over(exc, f"a batch of {len(records)} {port} records")
            return want
        if got.tobytes() != want.tobytes():
            self.divergences += 1
            first = int(np.flatnonzero(got != want)[0])
            log.error("the %s board and its model differ in a batch of %d %s records "
                      "(first at record %d; %d such batches): the card's records are used",
                      self.card.kind, len(records), port, first, self.divergences)
        return got

    # ------------------------------------------------------------------ failover
    def _fail_over(self, exc: BoardError, during: str) -> None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        self.failure = f"{type(exc).__name__} while {during} at {when} UTC: {exc}"
        log.critical("FAILOVER: the %s board failed (%s); the model board computes the same "
                     "records from now on", self.card.kind, self.failure)

    def health(self) -> BoardHealth:
        """The card's health, or the shadow's with ``failed_over`` and the reason."""
        if not self.failed_over:
            health = self.card.health()
            if health.ok:
                if self.divergences:
                    health.detail += (f"; {self.divergences} batch(es) differed from the "
                                      "model")
                return health
            self._fail_over(BoardError(health.detail), "checking its health")
        health = self.shadow.health()
        health.board = self.card.kind
        health.failed_over = True
        health.ok = health.ok and self.is_open
        health.detail = f"FAILED OVER to the model board: {self.failure}"
        return health

    @classmethod
    def create(cls, *, regmap: Any = None, **options: Any) -> FailoverBoard:
        raise TypeError("wrap an opened board instead: FailoverBoard(card, params)")
