"""How a symbol's price moves from one grid point to the next, per family.

A :class:`Motion` describes one family's increments; :func:`increments` draws ``n`` of them.
Every family but the step index moves the *log* price; the step index moves the price itself
(``Motion.additive``). With ``sigma`` the annual volatility and ``dt`` one grid interval in
years, a grid point's move is:

- plain (volatility indices, forex, crypto, metals, stock indices): ``sigma * sqrt(dt) * z
  + (drift - sigma**2 / 2) * dt``, ``z`` standard normal: a geometric random walk, driftless
  in price unless ``drift`` (annual, of the log price) is set;
- jumps (jump indices): the plain move plus, with probability ``jump_rate``, a jump of
  ``jump_size * N(0, 1)`` (either side, mean zero);
- spikes (boom/crash): the plain move plus, with probability ``jump_rate``, a spike of
  ``jump_sign * jump_size * Exp(1)`` (up for boom, down for crash), minus the spikes' mean
  ``jump_sign * jump_size * jump_rate`` at every point: a steady drift against the spikes,
  so the log price has no drift on average;
- step (``step > 0``): ``+step`` or ``-step`` with equal probability (the sign of ``z``).

The draws are deterministic in the generator's state: the normals ``z`` come first (drawn by
the caller, with the presence draws after them, so a plain family's stream is the one it
always was), then the jump indicators and jump sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Motion", "increments", "YEAR_S"]

#: Seconds in the year that annual volatilities and drifts refer to.
YEAR_S = 365.0 * 86400.0


@dataclass(frozen=True)
class Motion:
    """One family's increments (see the module docstring); the default is the plain walk."""

    drift: float = 0.0        # annual drift of the log price
    jump_rate: float = 0.0    # probability of a jump/spike at a grid point
    jump_size: float = 0.0    # jump: std of its log move; spike: mean of its log move
    jump_sign: int = 0        # 0: jumps either side; +1: spikes up (boom); -1: down (crash)
    step: float = 0.0         # step index: the move, in price units (0: not a step index)

    def __post_init__(self) -> None:
        if not 0.0 <= self.jump_rate <= 1.0:
            raise ValueError(f"jump_rate must be a probability, not {self.jump_rate}")
        if self.jump_size < 0 or self.step < 0:
            raise ValueError("jump_size and step must not be negative")
        if self.jump_sign not in (-1, 0, 1):
            raise ValueError(f"jump_sign must be -1, 0 or 1, not {self.jump_sign}")

    @property
    def additive(self) -> bool:
        """Whether the moves are of the price itself (step index), not of its log."""
        return self.step > 0


def increments(motion: Motion, z: np.ndarray, rng: np.random.Generator, sigma: float,
               dt: float) -> np.ndarray:
    """The moves of ``len(z)`` consecutive grid points, from the standard normals ``z`` and
    (jumps, spikes) further draws of ``rng``; ``sigma`` annual, ``dt`` in years."""
    if motion.additive:
        return np.where(z >= 0.0, motion.step, -motion.step)
    moves = sigma * np.sqrt(dt) * z + (motion.drift - 0.5 * sigma * sigma) * dt
    if motion.jump_rate > 0.0 and motion.jump_size > 0.0:
        n = len(z)
        hit = rng.random(n) < motion.jump_rate
        if motion.jump_sign == 0:
            size = motion.jump_size * rng.standard_normal(n)
        else:
            size = motion.jump_sign * motion.jump_size * rng.standard_exponential(n)
            moves -= motion.jump_sign * motion.jump_size * motion.jump_rate
        moves += np.where(hit, size, 0.0)
    return moves
