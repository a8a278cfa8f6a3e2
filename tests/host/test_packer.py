"""Packer: exact decimal pips, bases, validation errors; interleaver order properties."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickgate.drivers.packer import (
    Packer,
    PackError,
    interleave,
    inverse_permutation,
    mid_quote,
    significant_decimals,
    to_pips,
)
from tickgate.gateware.model import EngineModel
from tickgate.gateware.records import TickFlag


def pack(names: list[str], quotes: list[str], epochs: list[str] | None = None,
         **kwargs: object) -> tuple[Packer, np.ndarray]:
    """Observe then pack rows numbered from line 2 (after a header)."""
    packer = Packer(**kwargs)  # type: ignore[arg-type]
    lines = list(range(2, len(quotes) + 2))
    packer.observe(lines, names, quotes)
    epochs = epochs or [str(i) for i in range(len(quotes))]
    return packer, packer.pack(lines, epochs, names, quotes)


def test_quotes_become_exact_pips_at_the_inferred_decimals() -> None:
    packer, ticks = pack(["EURUSD"] * 3, ["1.12120", "1.12121", "1.1"])
    assert packer.pip_size("EURUSD") == 5
    assert packer.base_array()[0] == 112120
    assert ticks["price"].tolist() == [0, 1, -2120]


def test_trailing_zeros_do_not_raise_the_inferred_pip_size() -> None:
    assert significant_decimals(Decimal("1.121200")) == 4
    assert significant_decimals(Decimal("120")) == 0


def test_given_pip_size_rounds_half_to_even() -> None:
    assert to_pips(Decimal("1.234565"), 5) == 123456
    assert to_pips(Decimal("1.234575"), 5) == 123458
    packer, ticks = pack(["R_100"] * 2, ["1000.5", "1001.25"], pip_sizes={"R_100": 2})
    assert ticks["price"].tolist() == [0, 75]


def test_mid_quote_is_exact() -> None:
    assert mid_quote(Decimal("1.12117"), Decimal("1.12162")) == Decimal("1.121395")


def test_first_tick_of_each_symbol_resets_and_seq_counts_across_batches() -> None:
    packer, ticks = pack(["A", "B", "A"], ["1", "2", "3"])
    more = packer.pack([5], ["9"], ["B"], ["2.5"])
    assert ticks["flags"].tolist() == [TickFlag.RESET, TickFlag.RESET, 0]
    assert ticks["symbol"].tolist() == [0, 1, 0]
    assert more["seq"].tolist() == [3] and more["flags"].tolist() == [0]


def test_epoch_seconds_become_milliseconds_modulo_2_32() -> None:
    _, ticks = pack(["A", "A"], ["1", "1"], epochs=["1577916000.065", "1577916001"])
    assert ticks["ts"].tolist() == [1577916000065 % 2**32, 1577916001000 % 2**32]


@pytest.mark.parametrize(("quotes", "epochs", "reason"), [
    (["1.1", "abc"], None, "line 3: quote 'abc' is not a number"),
    (["1.1", "nan"], None, "line 3: quote is NaN"),
    (["1.1", "-inf"], None, "line 3: quote '-inf' is infinite"),
    (["1.1", "0"], None, "line 3: quote must be positive, not 0"),
    (["1.1", "-2"], None, "line 3: quote must be positive, not -2"),
    (["1.1", ""], None, "line 3: quote is empty"),
    (["1.1", "1.2"], ["5", "4.999"], "line 3: time goes backwards for 'A'"),
    (["1.1", "1.2"], ["5", "x"], "line 3: epoch 'x' is not a number"),
    (["1", "30000000000"], None, "line 3: quote 30000000000 of 'A' is 29999999999 pips"),
])
def test_bad_row_is_refused_with_its_line_and_reason(quotes: list[str], epochs: list[str] | None,
                                                     reason: str) -> None:
    with pytest.raises(PackError, match="^" + reason.replace("(", r"\(")) as err:
        pack(["A"] * len(quotes), quotes, epochs)
    assert err.value.line == 3


def test_symbol_beyond_the_board_capacity_is_refused() -> None:
    with pytest.raises(PackError, match="line 4: symbol 'C' would be symbol number 3, but the "
                                        "board has room for 2 symbols"):
        pack(["A", "B", "C"], ["1", "1", "1"], n_symbols=2)


def test_unknown_symbol_is_refused_with_a_fixed_table() -> None:
    with pytest.raises(PackError, match="line 3: unknown symbol 'X'"):
        pack(["A", "X"], ["1", "1"], symbols=["A", "B"])


def test_symbol_without_pip_size_cannot_be_packed_unobserved() -> None:
    with pytest.raises(PackError, match="line 7: no pip size for symbol 'A'"):
        Packer().pack([7], ["0"], ["A"], ["1.5"])


def adjacent_pairs(symbols: np.ndarray) -> int:
    return int(np.sum(symbols[1:] == symbols[:-1]))


symbol_batches = st.lists(st.integers(0, 6), max_size=300).map(lambda v: np.array(v, np.int64))


@settings(max_examples=200, deadline=None)
@given(symbol_batches)
def test_interleave_keeps_each_symbol_in_order_with_fewest_adjacent_pairs(
        symbols: np.ndarray) -> None:
    order = interleave(symbols)
    assert sorted(order.tolist()) == list(range(len(symbols)))
    sent = symbols[order]
    for s in np.unique(symbols):
        assert np.all(np.diff(order[sent == s]) > 0)
    if len(symbols):
        most = np.bincount(symbols).max()
        assert adjacent_pairs(sent) == max(0, 2 * most - len(symbols) - 1)


@settings(max_examples=100, deadline=None)
@given(symbol_batches)
def test_inverse_permutation_restores_input_order(symbols: np.ndarray) -> None:
    order = interleave(symbols)
    assert np.array_equal(symbols[order][inverse_permutation(order)], symbols)


def test_interleave_takes_turns_between_evenly_loaded_symbols() -> None:
    symbols = np.repeat(np.arange(8), 50)  # worst input: each symbol in one run
    sent = symbols[interleave(symbols)]
    gaps = [np.diff(np.flatnonzero(sent == s)) for s in range(8)]
    assert all((g == 8).all() for g in gaps)


def test_model_output_is_unchanged_by_interleaving() -> None:
    rng = np.random.default_rng(3)
    names = [f"S{i}" for i in rng.integers(0, 5, 5000)]
    quotes = [str(100 + i) for i in rng.integers(0, 1000, 5000)]
    _, ticks = pack(names, quotes)
    direct = EngineModel().process(ticks)
    order = interleave(ticks["symbol"])
    back = EngineModel().process(ticks[order])[inverse_permutation(order)]
    assert back.tobytes() == direct.tobytes()
