"""The indicator engine: one feature record per tick, bit-exact with :mod:`.model`.

Ports
-----
``i_tick``: ``In(stream.Signature(TICK_PAYLOAD))``; ``o_feature``:
``Out(stream.Signature(FEATURE_PAYLOAD))`` (:mod:`.layouts`; ``last`` is passed from a tick
to its record). ``config``: ``In(CONFIG_LAYOUT)``, the run-time registers; they are sampled
with each accepted tick, so a change takes effect from the next tick. ``o_busy``: a tick is
in flight or its record waits in the output FIFO. ``o_hazard``: a tick is waiting at the
input behind one of its own symbol.

Contract
--------
* Every output word equals :meth:`.model.EngineModel.process` (see the model's docstring for
  the arithmetic and the fixed-point formats: ``Q.16`` pips, ``Q0.18`` alphas, 64-bit sums).
* Latency: :attr:`IndicatorEngine.LATENCY` cycles (8; the deep build's 13, below) from a
  tick's input handshake to its record's ``valid``, when the output is not stalled (the
  record leaves straight from the last stage's registers while the output FIFO is empty).
* Throughput: one tick per cycle while no symbol recurs within :attr:`HAZARD_DISTANCE`
  cycles (e.g. round-robin over 6 or more symbols). A tick whose symbol is still in flight
  (state read but not yet written back) waits at the input (``ready`` low) until it is
  ``HAZARD_DISTANCE`` cycles behind the previous tick of its symbol: at most
  :attr:`HAZARD_WAIT` = ``HAZARD_DISTANCE - 1`` cycles (5), so one symbol alone runs at
  one tick per 6 cycles. (The deep build takes the tick at once and it waits in its input
  registers; :meth:`IndicatorEngine.entry_cycles` states the timing of both as code.)
* Backpressure: the pipeline never stops (no enable). Records leave through a
  :attr:`FIFO_DEPTH`-deep output FIFO (LUT RAM) that a record bypasses while it is empty
  and the output is ready; the input takes a tick only while the ticks accepted and not yet
  handed out are fewer than ``FIFO_DEPTH`` (a credit counter), so nothing is lost or
  duplicated and a stalled output stops the input, not the pipeline.
* A tick with ``symbol >= n_symbols`` reads and writes no state; its record echoes
  seq/ts/price/symbol/flags with ``valid = BAD_SYMBOL`` and every other word zero.
* Reset clears the valid bits, the credits and the FIFO; the data registers have no reset.

Deep build
----------
``IndicatorEngine(params, deep=True)`` trades latency for clock rate, bit for bit the same
records: latency 13 cycles, :attr:`HAZARD_DISTANCE` 8 and :attr:`HAZARD_WAIT` 7 (the
instance's attributes), one tick per cycle while no symbol recurs within 8 cycles; a tick
taken while the one ahead waits waits behind it too, at most ``INPUT_WAIT`` = 14 cycles
from its handshake to its entry. These
changes each take a path of 7-9 ns on the ECP5-85F speed 6 off the critical list:

* Two input registers, a queue: every tick is taken into the tail register (with the
  registers it samples), moves up into the head register a cycle later, and enters
  stage 0 from there, or, while its symbol is in flight, waits there (and the tick
  behind it in the tail). Whether a tick collides is worked out as it is taken, one bit
  per stage and one for the tick ahead of it, so whether the head register loads next
  cycle, and ``ready``, are registers worked out from registers: the payload is on no
  path to them or to the registers' enables (an enable fans out to ~260 bits), and the
  stage-0 RAM reads start from a register. ``o_hazard`` is a register too (a cycle
  late). One symbol alone: the second and third ticks are taken at once, each later one
  as the one before it moves up. The input's compares (a cone of four LUTs) are worked
  out for both values of the tail's enable, which picks between them at the end.
* The symbol's meta row has a ``seen`` bit (:func:`meta_layout`), so ``fresh`` is one
  LUT, not a 32-bit zero test, in front of the long routes to the EMA blocks.
* The smoothing blocks sum their products a cycle later, from fabric registers
  (``Smooth(deep=True)``): the route from the DSPs' fixed sites ends at a register; and
  the DSPs take their chunks of the difference, each from an 18-bit adder of its own (the
  carries between chunks become corrections summed in the fabric), and the coefficient
  into their own input registers (0.08 ns of setup, where a DSP fed from fabric registers
  needs 3.5 ns for its multiply). The EMA blocks give their outputs in stage 6.
* The EMA blocks take the price from registers of their own, and a fresh tick's EMA
  starts at its price with no selection between the subtraction and the DSPs (its
  coefficient is zero instead: ``Smooth(fresh_target=True)``).
* The window's price**2 products go into fabric registers before their sum (it has a
  cycle to spare).
* The MACD signal smooths the MACD line, worked out in stage 6 from the EMAs' outputs:
  with its operands registered (below) its subtraction has two operands from registers
  next to it, not three from the EMA blocks'. It ends in stage 11, the last (a cycle later
  than if it took the EMAs' outputs straight: one cycle of the latency).
* The MACD signal and the RSI blocks register their operands and their state first, two
  copies of each, one for the DSPs' adders and one for the fabric
  (``Smooth(registered_operands=True)``): the state's route from its LUT RAM to the
  DSPs' fixed sites has a register on the way. Their window is a cycle longer, 8 cycles:
  the hazard distance. The RSI blocks take their address in stage 1, the signal in
  stage 4, so they end where they would without.
* The window starts in stage 2 and takes its ring taps ``ptr - n`` from registers of each
  ring's own, worked out in stage 1 (``WindowSums(deep=True)``): no subtractor
  between a register and the 32 block RAMs of a ring, which span the die. Its full flag
  picks ``price - old`` or ``price`` a cycle after the subtraction, so it drives a
  multiplexer into registers, not 64 bits of an adder's operand.
* The min/max tree's valid (its leaf RAM's write enable) comes from a register of its
  own, and the leaf pointer's wrap ``pos >= n - 1`` is compared against registers worked
  out a cycle ahead (no adder in front of the compare). The tree gets the count and the
  window clamped to its depth (narrow registers: its masks compare leaf indices). It is
  ``MinMaxTree(deep=True)``: its pairwise compares are combined into registers before
  the selections, and it takes the leaf pointer in stage 1, so each RAM's address is a
  register of its own (latency 7; it ends in stage 9, within the signal's).
* RSI: the up and down moves are picked by the sign bits of ``-delta`` and ``delta``, not
  by 33-bit tests ``> 0``.

The card (:mod:`.top`) uses the default build: its tick-to-verdict budget is 16 cycles.
The stage map below is the default build's; in the deep build stage 0 is two cycles after
the handshake (at the earliest), the smoothing blocks and the min/max tree take a stage
more (the RSI blocks and the signal two, from stages 1 and 4), the window starts in
stage 2.
``tickgate hw synth --core engine --deep`` reports the deep build.

Per-symbol state (RAM, zero at configuration, so an unseen symbol is fresh): here
``count``, ring pointer and min/max leaf pointer (LUT RAM: small, and read straight after
the handshake), the previous price (LUT RAM, read a stage later); in the blocks the five
smoothed values (:mod:`.smooth`, LUT
RAM), the price rings and window sums (:mod:`.window`, block RAM) and the min/max trees
(:mod:`.minmax`, block RAM, with write-forwarding of the path nodes to a tick
``HAZARD_DISTANCE`` cycles behind; the deep build's tree writes them within its hazard
distance and forwards nothing). Each block reads its state in one cycle and writes it
back a fixed number of cycles later; the hazard distance is the longest such window.
RAM addresses come from registers of the block's own (:class:`~.primitives.LocalRegister`),
which the placer puts next to the RAM.

Stage map: stage 0 is the cycle of the input handshake, stage k the cycle k later; each
line says what is computed from the stage's registers (block RAM reads and products return
two stages later, from the RAM's or DSP's own output registers; LUT RAM reads two stages
later from two fabric registers)::

    0  hazard check (its own delay line), credits; meta RAM read; EMA fast/slow state read
    1  fresh = count == 0 | RESET, the min/max leaf pointer and the count's saturation;
       the row's next count, ring pointer and leaf pointer (increments, the leaf
       pointer's wrap); window: ring read at ptr - n, written in stage 2 (the ring pointer
       from the meta RAM, registered: it is not rewound on a reset), price**2 into the
       multipliers
    2  count selection, meta and previous-price RAM writes (one multiplexer in front),
       price - prev; EMA subtract into the multipliers; RSI gain/loss state read; window:
       the count into a register; min/max: leaf write, sibling reads
    3  RSI up/down moves, RSI fresh (clears the blocks' state registers); MACD-signal state
       read; window: count against the windows, price**2 summed; min/max masks,
       forwarding matches
    4  EMA add; RSI subtract into the multipliers; signal fresh; window: ring data -> momentum,
       price - old, old**2 into the multipliers, sums RAM read; min/max: RAM data or
       forwarded nodes into registers
    5  EMA out, write-back; macd = fast - slow; signal: fast - slow - signal (one
       carry-save layer and one adder) into the multipliers; min/max: half-word compares
    6  RSI add; window: price**2 - old**2, sums RAM data into registers; min/max: compares
       combined into each node's one-hot selection
    7  RSI out, write-back; signal add; window: sums + differences; min/max AND-OR selection
    8  signal and histogram, window sums and momentum, min/max out, write-backs: the output
       record (every field a register), out through the FIFO's bypass or into the FIFO
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import or_

from amaranth.hdl import (
    Cat,
    Const,
    MemoryData,
    Module,
    Mux,
    ResetSignal,
    Signal,
    Value,
    signed,
    unsigned,
)
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .layouts import CONFIG_LAYOUT, FEATURE_PAYLOAD, TICK_LAYOUT, TICK_PAYLOAD
from .minmax import MinMaxTree
from .params import EngineParams
from .pipe import Delays
from .primitives import LocalRegister, RegisteredMemory, local_copy
from .records import FRAC_BITS, FeatureValid, TickFlag
from .smooth import Smooth
from .window import WindowSums

__all__ = ["IndicatorEngine", "meta_layout"]

_COUNT_MAX = 2**32 - 1
#: Width of the smoothed values (Q.16): prices are 32-bit, so 48 bits, +1 for MACD and
#: gains, +1 spare.
SMOOTH_BITS = 50

# Stages at which each block takes its first inputs (its cycle 0); the window and the
# MACD signal start a stage later in the deep build (see ``_stages``).
_EMA_IN = 0
_RSI_IN = 2
_MINMAX_IN = 2
#: The meta RAM is read in stage 0 and written in stage 2.
_META_WINDOW = 3


def meta_layout(params: EngineParams, deep: bool = False) -> data.StructLayout:
    """Return the layout of a symbol's entry in the engine's own state RAM (the previous
    price has a RAM of its own, read a stage later). The deep build's has a ``seen`` bit
    too: 1 in every row written (a row is written with a count of at least 1), so
    ``~seen`` is ``count == 0`` in one bit."""
    return data.StructLayout({
        "count": unsigned(32), "ptr": unsigned(params.ring_bits),
        "pos": unsigned(params.minmax_bits), **({"seen": unsigned(1)} if deep else {}),
    })


@dataclass
class _Front:
    """The deep build's input side: the tick in stage 0 and the cycle it enters."""

    tick0: Value
    last0: Value
    good0: Value
    cfg0: Value
    #: High in the cycle the tick of stage 0 enters the pipeline.
    enter: Signal
    #: The low bits of the stage-0 tick's symbol for the hazard check (its own copy).
    hazard_sym0: Value
    #: A record handed out (driven by the output FIFO): a credit returns.
    pop: Signal
    #: Given the hazard delay line (live, symbol low bits) of stages 0 ..
    #: HAZARD_DISTANCE-1, builds the hazard check, the credits and ``ready``.
    connect_hazard: Callable[[list[Value], list[Value]], None]


class IndicatorEngine(wiring.Component):
    """Per-tick indicators for up to 256 symbols (see the module doc).

    ``LATENCY``, ``HAZARD_DISTANCE`` and ``HAZARD_WAIT`` are in cycles; the class attributes
    are the default build's, an instance's its own build's (the deep build has its own).
    """

    LATENCY = 8
    HAZARD_DISTANCE = 6
    HAZARD_WAIT = 5
    #: Depth of the output FIFO (LUT RAM) and the most ticks accepted and not yet handed
    #: out: more than the latency, so the credits never stop a stream whose output is ready.
    FIFO_DEPTH = 16
    #: Column slices of the output FIFO, each with its own pointer registers.
    FIFO_SLICES = 8
    #: Slices of each of the deep build's input registers, each with its own copy of the
    #: register's enable.
    INPUT_LOAD_COPIES = 4
    #: Cycles of the latency spent in the deep build's input registers.
    DEEP_INPUT_CYCLES = 2

    @staticmethod
    def _stages(deep: bool) -> dict[str, int]:
        """Return the stage at which each block takes its first inputs (its cycle 0)."""
        smooth = Smooth.timing(deep)[0]
        # The signal block takes the EMAs' outputs in its cycle 2 (in the deep build their
        # difference, the MACD line, which it registers itself). The deep build's RSI and
        # signal blocks register their operands first (``Smooth(registered_operands)``):
        # the RSI blocks take their address a stage earlier, and so their moves in the
        # same stage as the default build.
        return {"ema": _EMA_IN, "rsi": _RSI_IN - deep, "signal": _EMA_IN + smooth - 2,
                "window": 1 + deep, "minmax": _MINMAX_IN}

    @classmethod
    def out_stages(cls, params: EngineParams, deep: bool = False) -> dict[str, int]:
        """Return the stage at which each block's outputs are registers."""
        first = cls._stages(deep)
        smooth = Smooth.timing(deep)[0]
        registered = Smooth.timing(deep, registered_operands=deep)[0]
        return {
            "ema": first["ema"] + smooth,
            "rsi": first["rsi"] + registered,
            "signal": first["signal"] + registered,
            "window": first["window"] + WindowSums.LATENCY,
            "minmax": first["minmax"] + MinMaxTree.timing(params, deep)[0],
        }

    @classmethod
    def timing(cls, params: EngineParams, deep: bool = False) -> tuple[int, int]:
        """Return ``(LATENCY, HAZARD_DISTANCE)`` of a build, in cycles (the latency from
        the input handshake: the deep build's input registers are two cycles of it)."""
        distance = max(_META_WINDOW, Smooth.timing(deep, registered_operands=deep)[1],
                       WindowSums.WINDOW,
                       MinMaxTree.timing(params, deep)[1])
        return (max(cls.out_stages(params, deep).values())
                + cls.DEEP_INPUT_CYCLES * deep, distance)

    def __init__(self, params: EngineParams = EngineParams(),  # noqa: B008
                 *, deep: bool = False) -> None:
        self.params = params
        #: The deep build (see the module doc): an input register, and a register stage
        #: more in the smoothing blocks and the window's addressing.
        self.deep = deep
        #: Count, ring pointer and min/max leaf pointer of each symbol.
        #: (Simulators may read and write its rows: ``engine.meta[symbol]``.)
        self.meta = MemoryData(shape=meta_layout(params, deep), depth=params.n_symbols,
                               init=[])
        self._first_stage = self._stages(deep)
        self._out_stage = self.out_stages(params, deep)
        #: Cycles from a tick's input handshake to its record's valid (output not stalled);
        #: minimum distance in cycles between two ticks of one symbol.
        self.LATENCY, self.HAZARD_DISTANCE = self.timing(params, deep)
        #: Most cycles a tick waits behind an in-flight tick of its symbol.
        self.HAZARD_WAIT = self.HAZARD_DISTANCE - 1
        #: Most cycles from a tick's handshake to its entry (``entry_cycles``): the deep
        #: build takes a tick while the one ahead of it waits, and it may wait behind that
        #: one and then behind its own symbol.
        self.INPUT_WAIT = self.HAZARD_WAIT * (2 if deep else 1)

        super().__init__({
            "i_tick": In(stream.Signature(TICK_PAYLOAD)),
            "o_feature": Out(stream.Signature(FEATURE_PAYLOAD)),
            "config": In(CONFIG_LAYOUT),
            "o_busy": Out(1),
            "o_hazard": Out(1),
        })

    def entry_cycles(self, handshakes: Sequence[int], symbols: Sequence[int]) -> list[int]:
        """Return, for each tick, the cycle from which its record comes ``LATENCY`` cycles
        later while the output is not stalled, given its handshake cycle and symbol: the
        handshake, or ``HAZARD_DISTANCE`` cycles after the previous tick of its symbol if
        that is later, and after the tick before it (in the deep build the tick waits in
        the input registers; otherwise the handshake itself waits, so this is the
        handshake). The timing contract as code, for benches and tools."""
        entered: dict[int, int] = {}
        entries = []
        for handshake, symbol in zip(handshakes, symbols, strict=True):
            # (In order: the deep build takes a tick while the one before it waits.)
            entry = max(int(handshake), entries[-1] + 1 if entries else 0)
            if symbol < self.params.n_symbols:
                if symbol in entered:
                    entry = max(entry, entered[symbol] + self.HAZARD_DISTANCE)
                entered[symbol] = entry
            entries.append(entry)
        return entries

    def _input_registers(self, m: Module) -> _Front:
        """The deep build's input: a queue of two registers, ``tail`` (every tick taken goes
        in there) and ``head`` (its tick enters stage 0 from there, at once or, while its
        symbol is in flight, once the hazard clears). Whether a tick collides is worked out
        as it is taken (``tail_match``: one bit per stage 1 .. HAZARD_DISTANCE-1 of the next
        cycle; ``tail_same``: it has the symbol of the tick it follows), so whether each
        register loads next cycle (``head_load``, ``tail_load``: registers, with copies
        next to slices of the tick) and ``ready`` are worked out from registers only: the
        payload is on no path to them."""
        p = self.params
        sym_bits = max(1, p.symbol_bits)
        distance = self.HAZARD_DISTANCE
        payload = self.i_tick.payload
        in_low = payload.data.symbol[:sym_bits]
        good_in = payload.data.symbol < p.n_symbols

        def slot(name: str) -> tuple[Signal, Signal, Signal]:
            """A register for a tick: payload, good, the run-time registers it samples."""
            return (Signal.like(payload, name=f"{name}_tick", reset_less=True),
                    Signal(name=f"{name}_good", reset_less=True),
                    Signal(CONFIG_LAYOUT, name=f"{name}_cfg", reset_less=True))

        head, head_good, head_cfg = slot("head")
        tail, tail_good, tail_cfg = slot("tail")
        head_full = Signal()
        tail_full = Signal()
        head_match = Signal(distance)   # bit k: the head tick's symbol is in stage k
        tail_match = Signal(distance)   # the same for the tail's tick
        tail_same = Signal()            # the tail's tick has the symbol of the one ahead
        head_load = Signal(init=1)      # == ~head_full | ~head_match.any(), a register
        tail_load = Signal(init=1)      # == ~tail_full | head_load, a register
        # Worked out a cycle ahead, so that head_load's next value is one LUT: the head
        # tick still collides a cycle on; the tail's would collide if it moved up now.
        head_stays = Signal()           # == head_match[1:-1].any()
        tail_stays = Signal()           # == head_full & tail_same | tail_match[1:-1].any()
        enter = Signal()
        ready = Signal()
        take = Signal()
        taken = Signal()
        pop = Signal()
        m.d.comb += [
            enter.eq(head_full & head_load),
            self.i_tick.ready.eq(ready),
            take.eq(self.i_tick.valid & ready),
        ]
        # An enable fans out to every bit of a tick: slices of each register have copies
        # of theirs (the registers ``head_load`` and ``tail_load`` themselves stay next to
        # the hazard logic), worked out from the same registers a cycle ahead.
        in_bits = Cat(payload.as_value(), good_in, self.config.as_value())
        head_bits = Cat(head.as_value(), head_good, head_cfg.as_value())
        tail_bits = Cat(tail.as_value(), tail_good, tail_cfg.as_value())

        def load_in_slices(dst: Value, src: Value, name: str) -> list[LocalRegister]:
            copies = []
            for j in range(self.INPUT_LOAD_COPIES):
                lo = j * len(dst) // self.INPUT_LOAD_COPIES
                hi = (j + 1) * len(dst) // self.INPUT_LOAD_COPIES
                copy = LocalRegister(1, name=f"{name}{j}")
                m.submodules[f"{name}{j}"] = copy
                copies.append(copy)
                with m.If(copy.q):
                    m.d.sync += dst[lo:hi].eq(src[lo:hi])
            return copies

        tail_load_copies = load_in_slices(tail_bits, in_bits, "tail_load")
        head_load_copies = load_in_slices(head_bits, tail_bits, "head_load")
        # The symbols' copies for the hazard check, next to it (the head register's own
        # bits address the state RAMs across the die).
        m.submodules.head_sym_hazard = head_sym = LocalRegister(
            unsigned(sym_bits), enable=True, name="head_sym_hazard")
        m.submodules.tail_sym_hazard = tail_sym = LocalRegister(
            unsigned(sym_bits), enable=True, name="tail_sym_hazard")
        m.d.comb += [head_sym.d.eq(tail_sym.q), head_sym.en.eq(head_load),
                     tail_sym.d.eq(in_low), tail_sym.en.eq(tail_load)]

        def connect_hazard(hz_live: list[Value], hz_sym: list[Value]) -> None:
            def shifted(bits: Value) -> Value:
                # A waiting tick's bits a cycle on (nothing new enters stage 1 behind it).
                return Cat(Const(0, 2), bits[1:distance - 1])

            # The input's tick against the stages as they will be next cycle (the head's
            # tick, if it enters now, moves to stage 1), and against the tick it will
            # follow: the tail's if that one moves up now, else the head's.
            fresh_match = Cat(Const(0, 1), *(good_in & hz_live[k - 1] & (hz_sym[k - 1] == in_low)
                                              for k in range(1, distance)))
            ahead_sym = Mux(tail_full, tail_sym.q, head_sym.q)
            ahead_good = Mux(tail_full, tail_good, head_good)
            fresh_same = good_in & ahead_good & (ahead_sym == in_low)
            # The tail's tick moving up meets the entering head tick in stage 1 next cycle
            # if it has its symbol.
            moved_match = shifted(tail_match) | Cat(Const(0, 1), tail_same & enter)
            head_full_next = Mux(head_load, tail_full, head_full)
            head_match_next = Mux(head_load, moved_match, shifted(head_match))
            # == ~head_full_next | ~head_match_next.any() (while head_load is low the head
            # is full: its tick waits).
            head_load_next = Mux(head_load, ~tail_full | ~tail_stays, ~head_stays)
            tail_full_next = take | (tail_full & ~head_load)
            tail_match_next = Mux(tail_load, fresh_match, shifted(tail_match))
            tail_same_next = Mux(tail_load, fresh_same, tail_same)
            # The tail takes the input whenever it is empty or its tick moves up.
            tail_load_next = ~tail_full_next | head_load_next
            # tail_stays' next value, for either tail_load: the input's compares are a deep
            # cone and tail_load's register sits elsewhere, so tail_load only picks between
            # the two at the end (kept nets: synthesis does not pull it into the cone).
            stays_if_load = Signal(attrs={"keep": 1})
            stays_if_kept = Signal(attrs={"keep": 1})
            m.d.comb += [
                stays_if_load.eq((head_full_next & fresh_same)
                                 | fresh_match[1:distance - 1].any()),
                stays_if_kept.eq((head_full_next & tail_same)
                                 | shifted(tail_match)[1:distance - 1].any()),
            ]
            m.d.sync += [
                tail_load.eq(tail_load_next),
                head_full.eq(head_full_next), head_match.eq(head_match_next),
                head_load.eq(head_load_next),
                tail_full.eq(tail_full_next),
                tail_match.eq(tail_match_next), tail_same.eq(tail_same_next),
                head_stays.eq(head_match_next[1:distance - 1].any()),
                tail_stays.eq(Mux(tail_load, stays_if_load, stays_if_kept)),
            ]
            m.d.comb += [*(copy.d.eq(head_load_next) for copy in head_load_copies),
                         *(copy.d.eq(tail_load_next) for copy in tail_load_copies)]
            # Credits: ticks taken and not yet handed out, counted in a cycle after the
            # handshake; ``ready`` next cycle assumes no record leaves meanwhile (at most a
            # cycle late, with FIFO_DEPTH well above the latency). The compares are of the
            # registers against constants picked by taken and take (no adder behind take).
            occupied = Signal(range(self.FIFO_DEPTH + 1))
            depth = self.FIFO_DEPTH
            room_next = Mux(take, Mux(taken, occupied < depth - 2, occupied < depth - 1),
                            Mux(taken, occupied < depth - 1, occupied < depth))
            m.d.sync += [
                taken.eq(take), occupied.eq(occupied + taken - pop),
                # Next cycle the tail takes a tick if there is a credit and it will be empty
                # or its tick will move up.
                ready.eq(room_next & tail_load_next),
                self.o_hazard.eq(head_full & ~head_load),
            ]
            m.d.comb += self.o_busy.eq((occupied != 0) | taken | head_full | tail_full)

        return _Front(tick0=head.data, last0=head.last, good0=head_good, cfg0=head_cfg,
                      enter=enter, hazard_sym0=head_sym.q, pop=pop,
                      connect_hazard=connect_hazard)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        deep = self.deep
        # The last stage (the deep build's input registers are the cycles before stage 0).
        top = self.LATENCY - self.DEEP_INPUT_CYCLES * deep
        sig_in = self._first_stage["signal"]
        win_in = self._first_stage["window"]
        sym_bits = max(1, p.symbol_bits)
        n = p.n_symbols
        # The EMA blocks read their state in stage 0 and take the registered valid of stage 1.
        # (Deep build: a fresh tick's EMA starts at its price with no selection in front
        # of the subtraction, Smooth's ``fresh_target``.)
        m.submodules.ema_fast = ema_fast = Smooth(n, SMOOTH_BITS, valid_cycle=1,
                                                  fresh_target=deep, deep=deep)
        m.submodules.ema_slow = ema_slow = Smooth(n, SMOOTH_BITS, valid_cycle=1,
                                                  fresh_target=deep, deep=deep)
        # The signal and RSI blocks start from zero and take ``fresh`` in their cycle 1.
        # (The deep build's register their operands first: see ``_stages``.)
        m.submodules.signal = sig = Smooth(n, SMOOTH_BITS, subtrahend=not deep, fresh_cycle=1,
                                           deep=deep, registered_operands=deep)
        m.submodules.gain = gain = Smooth(n, SMOOTH_BITS, fresh_cycle=1, deep=deep,
                                          registered_operands=deep)
        m.submodules.loss = loss = Smooth(n, SMOOTH_BITS, fresh_cycle=1, deep=deep,
                                          registered_operands=deep)
        m.submodules.window = win = WindowSums(p, deep=deep)
        m.submodules.minmax = mm = MinMaxTree(p, self.HAZARD_DISTANCE, deep=deep)
        for block in (ema_fast, ema_slow, sig, gain, loss, win, mm):
            m.d.comb += block.en.eq(1)

        # ---------------------------------------------------------------- pipeline control
        # Free-running: every register advances every cycle; valid[k] marks a tick in k.
        # Only the valid bits, the credits and the FIFO's pointers have a reset: the data
        # registers are reset-less (a reset net to every flip-flop would be slow to route).
        ctl = Delays(m)
        dly = Delays(m, reset_less=True)

        def at(value, stage: int, want: int):
            """Return ``value`` (computed in ``stage``) as seen in stage ``want``."""
            return dly.get(value, want - stage)

        # The tick in stage 0: in the default build straight from the input (``accept``
        # is its handshake); in the deep build from the head input register (``accept``:
        # it leaves the register), see ``_input_registers``.
        if deep:
            front = self._input_registers(m)
            tick0, good0, accept = front.tick0, front.good0, front.enter
            last0, cfg0, sym_low0 = front.last0, front.cfg0, front.hazard_sym0
        else:
            tick0 = self.i_tick.payload.data
            good0 = tick0.symbol < p.n_symbols
            accept = Signal()
            last0, cfg0 = self.i_tick.payload.last, self.config
            sym_low0 = tick0.symbol[:sym_bits]
        valid1 = Signal()
        tick1 = Signal(TICK_LAYOUT, reset_less=True)
        last1 = Signal(reset_less=True)
        good1 = Signal(reset_less=True)
        cfg1 = Signal(CONFIG_LAYOUT, reset_less=True)
        m.d.sync += [
            valid1.eq(accept),
            tick1.eq(tick0), last1.eq(last0), good1.eq(good0),
            cfg1.eq(cfg0),
        ]
        valid = [None] + [ctl.get(valid1, k - 1) for k in range(1, top + 1)]
        tick = [tick0] + [at(tick1, 1, k) for k in range(1, top + 1)]
        cfg = [cfg0] + [at(cfg1, 1, k) for k in range(1, top + 1)]
        sym = [t.symbol for t in tick]
        good = [good0] + [at(good1, 1, k) for k in range(1, top + 1)]

        # Hazard: the input's symbol is in stages 1 .. HAZARD_DISTANCE-1 (state in flight).
        # The check has its own short delay line of (live, symbol), next to the input
        # logic: the pipeline's valid and symbol registers fan out across the die. (These
        # registers have a reset, which also keeps Yosys from merging them with the
        # reset-less symbol line of the pipeline.) A live slot holds a symbol below
        # n_symbols = 2**symbol_bits, so the input's symbol equals it exactly if its low
        # bits do and the input's symbol is good: the delay line keeps the low bits only.
        hz_live = [accept & good0]
        hz_sym = [sym_low0]
        for k in range(1, self.HAZARD_DISTANCE):
            hz_live.append(Signal(name=f"hazard_live{k}"))
            hz_sym.append(Signal.like(sym_low0, name=f"hazard_sym{k}"))
            m.d.sync += [hz_live[k].eq(hz_live[k - 1]), hz_sym[k].eq(hz_sym[k - 1])]
        if deep:
            front.connect_hazard(hz_live, hz_sym)
            pop = front.pop
        else:
            in_flight = [hz_live[k] & (hz_sym[k] == sym_low0)
                         for k in range(1, self.HAZARD_DISTANCE)]
            hazard = good0 & reduce(or_, in_flight, Const(0))

            # Credits: ticks accepted and not yet handed out; one more fits while there are
            # fewer than FIFO_DEPTH (the ticks in flight plus the records in the FIFO). The
            # counter takes a tick in a cycle after its handshake (from valid1, a register),
            # so ``accept`` drives no counter: the held count is ``occupied + valid1``.
            occupied = Signal(range(self.FIFO_DEPTH + 1))
            room = Signal()
            pop = Signal()
            m.d.comb += [
                room.eq(Mux(valid1, occupied != self.FIFO_DEPTH - 1,
                            occupied != self.FIFO_DEPTH)),
                self.i_tick.ready.eq(room & ~hazard),
                accept.eq(self.i_tick.valid & self.i_tick.ready),
                self.o_hazard.eq(self.i_tick.valid & room & hazard),
                self.o_busy.eq((occupied != 0) | valid1),
            ]
            m.d.sync += occupied.eq(occupied + valid1 - pop)
        # live[k]: stage k holds a tick whose symbol has state.
        live = [accept & good0] + [valid[k] & good[k] for k in range(1, top + 1)]

        # ---------------------------------------------------------------- symbol meta state
        # Small and read straight after the handshake: distributed RAM (an asynchronous
        # LUT read and a register; ECP5 block RAM's clock-to-out would not fit).
        m.submodules.meta = meta = memory.Memory(data=self.meta,
                                                 attrs={"ram_style": "distributed"})
        meta_rd = meta.read_port(domain="comb")
        meta_wr = meta.write_port()
        m.d.comb += meta_rd.addr.eq(tick0.symbol[:sym_bits])
        meta1 = Signal(meta_layout(p, deep), reset_less=True)
        m.d.sync += meta1.eq(meta_rd.data)
        # The previous price, first needed in stage 2, in a LUT RAM of its own read in stage
        # 1 from its own address register (RegisteredMemory): the input symbol addresses
        # only the meta RAM's count and pointers straight after the handshake, not the price.
        m.submodules.prev = prev_ram = RegisteredMemory(signed(32), n, distributed=True,
                                                        name="prev")
        m.d.comb += [prev_ram.en.eq(1), prev_ram.rd_addr.eq(tick0.symbol[:sym_bits])]
        prev2 = prev_ram.rd_data

        # Stage 1: fresh; the leaf pointer (the min/max block's RAM addresses) and the
        # count's saturation worked out a stage ahead. A symbol's row is written only with a
        # count of at least 1, so count == 0 means a row never written, whose leaf pointer
        # is 0: the pointer needs only the RESET flag (one LUT level, not the 32-bit zero
        # test). fresh2 has several copies (the EMA blocks' own), each next to its users.
        reset1 = (tick1.flags & TickFlag.RESET).any()
        # (The deep build's row has a bit for count != 0: one LUT in front of the long
        # routes to the EMA blocks' copies.)
        fresh1 = (~meta1.seen if deep else meta1.count == 0) | reset1
        fresh2 = Signal(reset_less=True)
        count2 = Signal(32, reset_less=True)
        saturated2 = Signal(reset_less=True)
        # The row's next count, ring pointer and leaf pointer, worked out here (the
        # increments and the leaf pointer's wrap from registers) so that stage 2 is one
        # multiplexer in front of the meta RAM's write data.
        count_inc2 = Signal(32, reset_less=True)
        ptr_next2 = Signal(p.ring_bits, reset_less=True)
        pos_next2 = Signal(p.minmax_bits, reset_less=True)
        n_minmax1 = cfg[1].n_minmax
        pos_inc1 = meta1.pos + 1
        if deep:
            # The wrap pos + 1 >= n, i.e. pos >= n - 1, from registers worked out a cycle
            # ahead: "always" (n <= 1), "never" (n - 1 is past every pointer), or against
            # the low bits of n - 1, so stage 1 compares only the pointer's own width.
            mm_bits = len(meta1.pos)
            wrap_always1 = Signal(reset_less=True)
            wrap_never1 = Signal(reset_less=True)
            last_pos1 = Signal(mm_bits, reset_less=True)
            m.d.sync += [
                wrap_always1.eq(cfg0.n_minmax <= 1),
                wrap_never1.eq(cfg0.n_minmax > 2**mm_bits),
                last_pos1.eq(cfg0.n_minmax - 1),
            ]
            wraps1 = wrap_always1 | (~wrap_never1 & (meta1.pos >= last_pos1))
            pos_after_reset1 = ~wrap_always1
            # The count after this tick reaches the min/max tree's depth (see mm_count3).
            reaches_depth2 = Signal(reset_less=True)
            m.d.sync += reaches_depth2.eq(meta1.count >= p.minmax_depth - 1)
        else:
            wraps1 = pos_inc1 >= n_minmax1
            pos_after_reset1 = Mux(n_minmax1 <= 1, 0, 1)
        m.d.sync += [
            fresh2.eq(fresh1), count2.eq(meta1.count),
            saturated2.eq(meta1.count == _COUNT_MAX),
            count_inc2.eq(meta1.count + 1),
            ptr_next2.eq(meta1.ptr + 1),
            # After a reset the leaf pointer is 0, so the next one is 1 (or 0 if n == 1).
            pos_next2.eq(Mux(reset1, pos_after_reset1, Mux(wraps1, 0, pos_inc1))),
        ]

        # Block RAM and LUT RAM addresses from each block's own registers (see
        # LocalRegister): the min/max tree's symbol and leaf pointer (stage 2), the RSI
        # blocks' symbol (stage 2), the window's symbol (stage 1).
        def local(value, name: str):
            return local_copy(m, value, name)

        mm_sym2 = local(tick1.symbol[:sym_bits], "mm_sym")
        # Deep build: the leaf RAM's write enable from a register of the tree's own.
        mm_valid = local(live[_MINMAX_IN - 1], "mm_valid") if deep else live[_MINMAX_IN]
        # (The deep build's tree takes the leaf pointer a cycle early, in stage 1.)
        mm_pos = (Mux(reset1, 0, meta1.pos) if deep
                  else local(Mux(reset1, 0, meta1.pos), "mm_pos"))
        ema_fresh2 = {"fast": local(fresh1, "ema_fast_fresh"),
                      "slow": local(fresh1, "ema_slow_fresh")}
        # (The deep build's RSI blocks take their address in stage 1, straight into their
        # RAMs' own address registers.)
        rsi_in = self._first_stage["rsi"]
        rsi_sym = tick1.symbol[:sym_bits] if deep else local(tick1.symbol[:sym_bits], "rsi_sym")
        rings = ("sma", "roc")
        if not deep:
            win_sym = local(tick0.symbol[:sym_bits], "win_sym")
            # The ring addresses (stage 1): the meta RAM's ring pointer and the symbol
            # straight into registers of each ring's own (no logic behind the LUT RAM
            # read); the window works out the read tap ``ptr - n`` behind them in stage 1,
            # a subtractor per group of block RAMs, in front of their own address registers.
            ring_addr = {name: Cat(local(meta_rd.data.ptr, f"ring_{name}_ptr"),
                                   local(tick0.symbol[:sym_bits], f"ring_{name}_sym"))
                         for name in rings}
            ring_tap = {}
        else:
            # Deep build, the window in stage 2: the ring pointer of the meta row (stage 1)
            # and the tap ``ptr - n`` worked out in stage 1 into registers of each ring's
            # own, so the block RAMs' addresses come from registers with no logic between.
            win_sym = local(tick1.symbol[:sym_bits], "win_sym")
            ring_addr = {name: Cat(local(meta1.ptr, f"ring_{name}_ptr"),
                                   local(tick1.symbol[:sym_bits], f"ring_{name}_sym"))
                         for name in rings}
            ring_tap = {name: Cat(local((meta1.ptr - getattr(cfg[1], f"n_{name}"))
                                        [:p.ring_bits], f"ring_{name}_tap"),
                                  local(tick1.symbol[:sym_bits], f"ring_{name}_tap_sym"))
                        for name in rings}

        # Stage 2: advance count and pointers, write back; the price move.
        price2 = tick[2].price
        count_before2 = Mux(fresh2, 0, count2)
        count_after2 = Mux(fresh2, 1, Mux(saturated2, _COUNT_MAX, count_inc2))
        # The two RAMs' write enables and addresses from registers of their own (live[2] and
        # the symbol): no logic and no shared register in front of their LUT RAM cells.
        m.d.comb += [
            meta_wr.addr.eq(local(sym[1][:sym_bits], "meta_wa")),
            meta_wr.en.eq(local(live[1], "meta_we")),
            meta_wr.data.count.eq(count_after2),
            meta_wr.data.ptr.eq(ptr_next2),
            meta_wr.data.pos.eq(pos_next2),
            *([meta_wr.data.seen.eq(1)] if deep else []),
            prev_ram.wr_addr.eq(local(sym[1][:sym_bits], "prev_wa")),
            prev_ram.wr_en.eq(local(live[1], "prev_we")),
            prev_ram.wr_data.eq(price2),
        ]
        count3 = Signal(32, reset_less=True)
        delta3 = Signal(signed(33), reset_less=True)
        neg_delta3 = Signal(signed(33), reset_less=True)
        m.d.sync += [
            count3.eq(Mux(good[2], count_after2, 0)),
            delta3.eq(Mux(fresh2, 0, price2 - prev2)),
            neg_delta3.eq(Mux(fresh2, 0, prev2 - price2)),
        ]
        if deep:
            # The min/max tree compares leaf indices (below its depth) against the count
            # and the window: it gets both clamped to the depth, narrow registers, so its
            # masks are not 32-bit compares.
            # (count_after2 is below the depth unless it reaches it without a reset.)
            mm_depth = p.minmax_depth
            mm_count3 = Signal(range(mm_depth + 1), reset_less=True)
            mm_n3 = Signal(range(mm_depth + 1), reset_less=True)
            m.d.sync += [
                mm_count3.eq(Mux(good[2], Mux(reaches_depth2 & ~fresh2, mm_depth,
                                              count_after2), 0)),
                mm_n3.eq(Mux(cfg[2].n_minmax > mm_depth, mm_depth, cfg[2].n_minmax)),
            ]
        else:
            mm_count3, mm_n3 = count3, cfg[3].n_minmax
        # ``fresh`` of the signal and RSI blocks (their cycle 1), a copy of each block's own:
        # it clears the block's state register (see Smooth's ``fresh_cycle``).
        rsi_fresh = fresh1 if deep else fresh2
        block_fresh = {"gain": local(rsi_fresh, "gain_fresh"),
                       "loss": local(rsi_fresh, "loss_fresh"),
                       "signal": local(at(fresh2, 2, sig_in), "signal_fresh")}
        assert rsi_in + 1 == (2 if deep else 3) and sig_in + 1 >= 3

        # Stage 3: the RSI moves, into registers (stage 4), or in the deep build straight to
        # the RSI blocks, which register them themselves (their cycle 2 is stage 3).
        if deep:
            # delta > 0 exactly when -delta < 0 (both zero for a fresh tick): the other's
            # sign bit, not a 33-bit test, picks each move.
            up_move, down_move = neg_delta3[-1], delta3[-1]
        else:
            up_move, down_move = delta3 > 0, neg_delta3 > 0
        moves = (Mux(up_move, delta3 << FRAC_BITS, 0), Mux(down_move, neg_delta3 << FRAC_BITS, 0))
        if not deep:
            up4 = Signal(signed(SMOOTH_BITS), reset_less=True)
            down4 = Signal(signed(SMOOTH_BITS), reset_less=True)
            m.d.sync += [up4.eq(moves[0]), down4.eq(moves[1])]
            moves = (up4, down4)

        # ---------------------------------------------------------------- smoothing blocks
        for block, alpha, name in ((ema_fast, cfg[2].alpha_fast, "fast"),
                                   (ema_slow, cfg[2].alpha_slow, "slow")):
            # Deep build: each EMA's price from a register of its own (the pipeline's
            # price register is shared by blocks across the die).
            x2 = (local(tick[1].price, f"ema_{name}_price") if deep else price2) << FRAC_BITS
            m.d.comb += [
                block.i_valid.eq(live[_EMA_IN + 1]),
                block.i_addr.eq(tick0.symbol[:sym_bits]),
                block.i_fresh.eq(ema_fresh2[name]), block.i_init.eq(x2), block.i_target.eq(x2),
                block.i_alpha.eq(alpha),
            ]
        for block, target, name in ((gain, moves[0], "gain"), (loss, moves[1], "loss")):
            m.d.comb += [
                block.i_valid.eq(live[rsi_in]), block.i_addr.eq(rsi_sym),
                block.i_fresh.eq(block_fresh[name]),
                block.i_target.eq(target), block.i_alpha.eq(cfg[rsi_in + 2].alpha_rsi),
            ]
        ema_stage = self._out_stage["ema"]
        assert sig_in + 2 == ema_stage
        macd_line = ema_fast.o_x - ema_slow.o_x
        macd6 = Signal(signed(SMOOTH_BITS), reset_less=True)
        m.d.sync += macd6.eq(macd_line)
        if deep:
            # Deep build: the signal smooths the MACD line, which it registers itself (two
            # copies: Smooth's registered_operands), so its subtraction has two operands
            # from registers next to it (not three from the EMA blocks').
            sig_target = {"i_target": macd_line[:SMOOTH_BITS]}
        else:
            sig_target = {"i_target": ema_fast.o_x, "i_sub": ema_slow.o_x}
        m.d.comb += [
            sig.i_valid.eq(live[sig_in]), sig.i_addr.eq(sym[sig_in][:sym_bits]),
            sig.i_fresh.eq(block_fresh["signal"]),
            *(getattr(sig, port).eq(value) for port, value in sig_target.items()),
            sig.i_alpha.eq(cfg[sig_in + 2].alpha_signal),
        ]

        # ---------------------------------------------------------------- window sums, min/max
        # The window's ring addresses come from the meta RAM's ring pointer raw: it runs on
        # across resets (only its offsets from the newest price matter, and
        # count masks the older ones), so the ring addresses do not wait for ``fresh``.
        assert win_in in (1, 2)
        # The windows a cycle ahead (see WindowSums): the registers the tick sampled.
        cfg_ahead = cfg[win_in - 1]
        m.d.comb += [
            win.i_valid.eq(live[win_in]),
            win.i_sym.eq(win_sym),
            *(getattr(win, f"i_ring_{name}").eq(addr) for name, addr in ring_addr.items()),
            *(getattr(win, f"i_tap_{name}").eq(tap) for name, tap in ring_tap.items()),
            win.i_price.eq(tick[win_in].price),
            win.i_n_sma.eq(cfg_ahead.n_sma), win.i_n_roc.eq(cfg_ahead.n_roc),
            win.i_count.eq(at(count_before2, 2, win_in + 1)),
            win.i_fresh.eq(at(fresh2, 2, win_in + 1)),
        ]
        m.d.comb += [
            mm.i_valid.eq(mm_valid), mm.i_sym.eq(mm_sym2),
            mm.i_pos.eq(mm_pos), mm.i_price.eq(price2),
            mm.i_count.eq(mm_count3), mm.i_n.eq(mm_n3),
        ]
        mm_full4 = Signal(reset_less=True)
        m.d.sync += mm_full4.eq(good[3] & (count3 >= cfg[3].n_minmax))

        # ---------------------------------------------------------------- the output record
        stage = self._out_stage
        win_stage = stage["window"]
        bad_symbol = Signal(reset_less=True)
        m.d.sync += bad_symbol.eq(~good[top - 1])
        valid_byte = Signal(8)
        m.d.comb += [
            valid_byte[0].eq(at(win.o_sma_full, win_stage, top)),
            valid_byte[1].eq(at(win.o_roc_full, win_stage, top)),
            valid_byte[2].eq(at(mm_full4, 4, top)),
            valid_byte[7].eq(bad_symbol),
        ]
        assert (FeatureValid.SMA, FeatureValid.ROC, FeatureValid.MINMAX,
                FeatureValid.BAD_SYMBOL) == (1, 2, 4, 128)

        record = Signal(FEATURE_PAYLOAD)
        out = record.data
        t = tick[top]
        m.d.comb += [
            record.last.eq(at(last1, 1, top)),
            out.seq.eq(t.seq), out.ts.eq(t.ts), out.price.eq(t.price),
            out.symbol.eq(t.symbol), out.flags.eq(t.flags),
            out.count.eq(at(count3, 3, top)),
            out.valid.eq(valid_byte),
            out.min.eq(at(mm.o_min, stage["minmax"], top)),
            out.max.eq(at(mm.o_max, stage["minmax"], top)),
            out.ema_fast.eq(at(ema_fast.o_x, ema_stage, top)),
            out.ema_slow.eq(at(ema_slow.o_x, ema_stage, top)),
            out.macd.eq(at(macd6, ema_stage + 1, top)),
            out.macd_signal.eq(at(sig.o_x, stage["signal"], top)),
            out.macd_hist.eq(at(sig.o_gap, stage["signal"], top)),
            out.sum.eq(at(win.o_sum, win_stage, top)),
            out.sumsq.eq(at(win.o_sumsq, win_stage, top)),
            out.mom.eq(at(win.o_mom, win_stage, top)),
            out.avg_gain.eq(at(gain.o_x, stage["rsi"], top)),
            out.avg_loss.eq(at(loss.o_x, stage["rsi"], top)),
        ]

        # ---------------------------------------------------------------- the output FIFO
        # A record leaves straight from stage ``top`` while the FIFO is empty (no added
        # latency); otherwise, and whenever the output is not ready, it queues behind. The
        # FIFO is LUT RAM with an asynchronous read; ``nonempty`` is a register. The credits
        # keep it from overflowing. Every record of stage ``top`` is written at the write
        # pointer; the pointer advances only if the record queues. The record is stored in
        # FIFO_SLICES column slices, each with its own copies (LocalRegister) of the
        # pointers, the write enable and ``nonempty``: one read pointer for the ~260 LUT RAM
        # cells of the whole record would span the die.
        depth = self.FIFO_DEPTH
        wp = Signal(range(depth))
        rp = Signal(range(depth))
        level = Signal(range(depth + 1))
        nonempty = Signal()
        level_one = Signal()     # level == 1
        level_many = Signal()    # level >= 2
        ready = self.o_feature.ready
        push = Signal()
        take = Signal()
        m.d.comb += [
            push.eq(valid[top] & (nonempty | ~ready)),
            take.eq(nonempty & ready),
            self.o_feature.valid.eq(nonempty | valid[top]),
            pop.eq(self.o_feature.valid & ready),
        ]
        rst = ResetSignal()
        # The pointers' increments and the level's flags are worked out from registers;
        # push and take (behind the output's ready) only pick among them: no adder behind
        # ``ready``.
        wp_inc = Signal(range(depth), init=1)
        rp_inc = Signal(range(depth), init=1)
        wp_next = Mux(rst, 0, Mux(push, wp_inc, wp))
        rp_next = Mux(rst, 0, Mux(take, rp_inc, rp))
        m.d.sync += [wp_inc.eq(Mux(push, wp_inc + 1, wp_inc)),
                     rp_inc.eq(Mux(take, rp_inc + 1, rp_inc))]
        level_next = level + push - take
        grows, shrinks = push & ~take, take & ~push
        # level_next != 0 without the adder: a push leaves a record in the FIFO, and without
        # one it keeps one if it holds two or more, or one that is not taken (take is
        # nonempty & ready, and level == 1 implies nonempty).
        nonempty_next = Mux(rst, 0, push | level_many | (level_one & ~ready))
        m.d.sync += [wp.eq(wp_next), rp.eq(rp_next), level.eq(level_next),
                     nonempty.eq(nonempty_next),
                     level_one.eq(Mux(grows, level == 0, Mux(shrinks, level == 2, level == 1))),
                     level_many.eq(Mux(grows, level >= 1, Mux(shrinks, level >= 3, level >= 2)))]
        write_next = Mux(rst, 0, valid[top - 1])

        record_bits = record.as_value()
        payload = Value.cast(self.o_feature.payload)
        width = len(record_bits)
        n_slices = self.FIFO_SLICES
        for j in range(n_slices):
            lo, hi = j * width // n_slices, (j + 1) * width // n_slices
            mem = memory.Memory(shape=hi - lo, depth=depth, init=[],
                                attrs={"ram_style": "distributed"})
            m.submodules[f"fifo{j}"] = mem
            wr = mem.write_port()
            rd = mem.read_port(domain="comb")
            m.d.comb += [
                wr.addr.eq(local(wp_next, f"fifo{j}_wp")),
                wr.en.eq(local(write_next, f"fifo{j}_we")),
                wr.data.eq(record_bits[lo:hi]),
                rd.addr.eq(local(rp_next, f"fifo{j}_rp")),
                payload[lo:hi].eq(Mux(local(nonempty_next, f"fifo{j}_nonempty"), rd.data,
                                      record_bits[lo:hi])),
            ]
        return m
