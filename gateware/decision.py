"""The decision unit: a linear score of eight feature inputs and a per-symbol hysteresis.

Per feature record (exact integer arithmetic; :mod:`.decision_model` is the bit-exact
reference and its docstring the specification)::

    w     = the low WORD_BITS (51) bits of a 64-bit feature word, signed   # wrap(word)
    x_k   = the k-th input of DECISION_INPUTS (below) on the words w, exact (|x_k| < 2**51)
    q_k   = clamp(x_k >> shift_k, -2**17, 2**17 - 1)      # floor; saturated = any clamped
    score = bias + sum_k weight_k * q_k                     # |score| < 2**37, exact
    o_score = clamp(score, -2**31, 2**31 - 1)

then the symbol's state (FLAT, LONG, SHORT; FLAT when ``count == 1``) moves on the
full-precision score when ``enable and count >= warmup``: FLAT goes LONG with a BUY when
``score >= enter``, else SHORT with a SELL when ``score <= -enter``; LONG goes FLAT with a
SELL when ``score < exit``; SHORT goes FLAT with a BUY when ``score > -exit``. A fired
intent carries ``config.qty``, ``config.strategy``, the record's price and symbol and the
next value of a 32-bit intent counter (0 first, wrapping).

Input domain. The 64-bit words the score reads (``ema_fast``, ``ema_slow``, ``macd``,
``macd_hist``, ``mom``, ``avg_gain``, ``avg_loss``) are taken modulo ``2**WORD_BITS``, as
signed ``WORD_BITS``-bit numbers (bits 51..63 are ignored). The engine's words always fit,
so for every record the card produces this is the word itself: its smoothing state is
``SMOOTH_BITS`` = 50 bits wide and ``macd_hist`` (a smoothing block's gap) 51, ``mom`` is
a difference of two 32-bit prices (33 bits). A bench that feeds the unit directly gets the
wrapped reading, identically in the model. So every sum and compare below is at most 53
bits wide (Verilator evaluates it in native 64-bit words; before, the exact int64 reading
needed 65- and 66-bit sums).

A record whose ``valid`` has ``FeatureValid.BAD_SYMBOL``, or (never from the engine) whose
symbol is not below ``n_symbols``, is *bad*: no state is read or written, ``o_score`` and
``o_saturated`` are 0 and nothing fires.

Ports
-----
``en``: In(1), the pipeline enable: every register advances only in a cycle with ``en``.
``i_valid``, ``i_feature`` (:data:`~.layouts.FEATURE_LAYOUT`): a record, taken in a cycle
with ``en & i_valid`` (used combinationally; the engine's output is a register).
``config`` (:data:`DECISION_LAYOUT`): the registers of :class:`DecisionConfig`. The shift
and threshold constants derived from it are registered every clock (whatever ``en``), so a
change is in force one clock later; a change while records are in flight may give those
records a mix of old and new values.
``o_valid``, ``o_intent`` (:data:`INTENT_LAYOUT`), ``o_score`` (signed 32), ``o_saturated``:
registers, valid exactly :attr:`DecisionUnit.LATENCY` enabled cycles after the input and
held while ``en`` is low. ``o_intent`` is all zero unless ``o_intent.fire``; ``fire`` is 0
whenever ``o_valid`` is 0. ``o_score``/``o_saturated`` mean nothing while ``o_valid`` is 0.

Pipeline (latency 5, one record per enabled cycle, any symbol order)
--------------------------------------------------------------------
1. ``x_k`` (carry-save + one carry chain, at most 52 bits), and ``x_k >= 2**t_k``,
   ``x_k < -2**t_k`` with ``t_k = min(17 + shift_k, width - 1)`` (so ``q_k`` is clamped iff
   one holds; each a carry chain of at most 53 bits);
   ``fresh``, ``eligible``, bad.
2. ``q_k`` = bits 0..17 of ``x_k >> shift_k``, or the clamp value: the multipliers' input
   registers (:class:`~.primitives.RegisteredMultiplier`, signed 18 x signed 16).
3. products (34 bits), inside the multipliers.
4. ``score`` and the four threshold compares, each straight from the eight products, ``bias``
   (and the threshold constant) through one carry-save tree and one 40-bit carry chain,
   folded with ``eligible`` into the four transitions; the symbol's state is read from its
   register, or from the pending write (below) if that is the same symbol. (Until the card
   had to fit its 16-cycle tick-to-verdict budget, the partial sums had a stage of their own.)
5. the state machine on the state read in stage 4, or on the pending write if the record
   before (in stage 5 one enabled cycle earlier) was the same symbol (forwarding, decided in
   stage 4); FLAT if fresh. The new state becomes the *pending write*, which goes into the
   symbol's register at the next enabled edge (a short register-to-register path); output
   registers and the intent counter.

Timing: alone behind ``hw.synth_wrapper.SynthTop`` (64 symbols, ECP5-85F speed 6, Yosys +
nextpnr, seed 1) it reaches about 110 MHz, not 150: the critical path is stage 2 (``x_k``
register, 65-bit shift by a run-time amount, clamp, MULT18X18D ``A`` port; 6 LUT levels,
three quarters of it routing), measured with the latency-6 version (separate partial sums)
and the 65-bit inputs of the exact int64 reading (now at most 52 bits: the same stages
with fewer bits in every shift, carry chain and compare; not measured again).
Meeting 150 MHz needs that stage split, i.e. a cycle taken from elsewhere in the card's
budget.

Per-symbol state: ``n_symbols`` 2-bit registers (reset to FLAT with the design's reset, like
the intent counter), read in stage 4 and written one enabled cycle after stage 5, so the
read-modify-write of back-to-back records of one symbol is exact through two forwarding
paths (pending write into the stage-4 read; previous record's result into stage 5). They
are held as two ``n_symbols``-bit vectors (bit 0s, bit 1s), read with a bit select and
written through a one-hot mask: the same flip-flops, write enables and read multiplexer as
one register per symbol, but a handful of word operations per cycle under Verilator instead
of one process per symbol.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .layouts import FEATURE_LAYOUT
from .params import EngineParams
from .primitives import RegisteredMultiplier
from .records import FeatureValid, Side

__all__ = [
    "DECISION_INPUTS",
    "N_INPUTS",
    "Q_BITS",
    "SHIFT_BITS",
    "WORD_BITS",
    "SCORE_BITS",
    "FLAT",
    "LONG",
    "SHORT",
    "DecisionConfig",
    "DECISION_LAYOUT",
    "INTENT_LAYOUT",
    "decision_config_to_int",
    "DecisionUnit",
]

#: The score's inputs, in weight/shift order (pips; Q.16 where the feature is Q.16).
DECISION_INPUTS: tuple[str, ...] = (
    "price_vs_ema_fast",   # (price << 16) - ema_fast       Q.16
    "price_vs_ema_slow",   # (price << 16) - ema_slow       Q.16
    "macd",                # macd                           Q.16
    "macd_hist",           # macd_hist                      Q.16
    "momentum",            # mom                            pips
    "rsi_balance",         # avg_gain - avg_loss            Q.16
    "channel_position",    # 2*price - max - min            pips
    "channel_width",       # max - min                      pips
)
N_INPUTS = len(DECISION_INPUTS)
#: Width of a quantised input ``q_k`` (signed): the multipliers' 18-bit port.
Q_BITS = 18
#: Width of a shift register: 0 .. 63.
SHIFT_BITS = 6
#: The unit reads each 64-bit feature word it scores as its low ``WORD_BITS`` bits, signed
#: (modulo ``2**WORD_BITS``): the engine's widest word (``macd_hist``, ``SMOOTH_BITS + 1``)
#: fits, and every input ``x_k`` then fits in ``WORD_BITS + 1`` bits.
WORD_BITS = 51
# (price << 16) fits (48 bits), and the widest compare (WORD_BITS + 2 bits) fits 64.
assert 48 <= WORD_BITS <= 62
#: Width of the full-precision score (signed); ``|score| < 2**37``.
SCORE_BITS = 40

#: Per-symbol states.
FLAT, LONG, SHORT = 0, 1, 2

_I32 = (-2**31, 2**31 - 1)


@dataclass(frozen=True, kw_only=True)
class DecisionConfig:
    """Run-time registers of the decision unit (see the module doc for their use).

    enable: fire intents at all (the states still follow fresh symbols); default off.
    warmup: a record may fire only if its ``count >= warmup`` (u32); default 0.
    bias: added to the score (i32); default 0.
    enter: |score| at which a FLAT symbol opens (i32); default 256.
    exit: score below which LONG closes, above ``-exit`` SHORT closes (i32); default 0.
    qty: the intents' quantity (i32, passed as is; the risk gate refuses ``qty <= 0``);
    default 1.
    strategy: the intents' strategy id (u8); default 1.
    weights: one i16 per input of :data:`DECISION_INPUTS`; default a MACD/momentum/channel
    trend follower.
    shifts: one right shift 0 .. 63 per input; default 16 for the Q.16 inputs (pips), 0 else.
    """

    enable: bool = False
    warmup: int = 0
    bias: int = 0
    enter: int = 256
    exit: int = 0
    qty: int = 1
    strategy: int = 1
    weights: tuple[int, ...] = (0, 0, 4, 4, 1, 0, 1, 0)
    shifts: tuple[int, ...] = (16, 16, 16, 16, 0, 16, 0, 0)

    def check(self) -> None:
        """Raise ``ValueError`` naming the first field that does not fit its register."""
        if self.enable not in (False, True):
            raise ValueError(f"enable must be a bool, not {self.enable!r}")
        ranges = {"warmup": (0, 2**32 - 1), "bias": _I32, "enter": _I32, "exit": _I32,
                  "qty": _I32, "strategy": (0, 255)}
        for name, (lo, hi) in ranges.items():
            value = getattr(self, name)
            if not isinstance(value, int) or not lo <= value <= hi:
                raise ValueError(f"{name} must be an integer in {lo} .. {hi}, not {value!r}")
        for name, (lo, hi) in (("weights", (-2**15, 2**15 - 1)),
                               ("shifts", (0, 2**SHIFT_BITS - 1))):
            values = getattr(self, name)
            if len(values) != N_INPUTS:
                raise ValueError(f"{name} must hold {N_INPUTS} values, not {len(values)}")
            for k, value in enumerate(values):
                if not isinstance(value, int) or not lo <= value <= hi:
                    raise ValueError(f"{name}[{k}] ({DECISION_INPUTS[k]}) must be an "
                                     f"integer in {lo} .. {hi}, not {value!r}")

    def as_dict(self) -> dict[str, int | tuple[int, ...]]:
        """Return the register values by name (``weights``/``shifts`` as tuples)."""
        return {f.name: (tuple(getattr(self, f.name)) if f.name in ("weights", "shifts")
                         else int(getattr(self, f.name))) for f in fields(self)}


#: The registers of :class:`DecisionConfig`, in its field order; ``weights`` and ``shifts``
#: are arrays (``weights[k]`` is the register of input ``k``).
DECISION_LAYOUT = data.StructLayout({
    "enable": unsigned(1),
    "warmup": unsigned(32),
    "bias": signed(32),
    "enter": signed(32),
    "exit": signed(32),
    "qty": signed(32),
    "strategy": unsigned(8),
    "weights": data.ArrayLayout(signed(16), N_INPUTS),
    "shifts": data.ArrayLayout(unsigned(SHIFT_BITS), N_INPUTS),
})

#: A decision: ``fire`` says whether it is an intent; every other field is 0 when not.
INTENT_LAYOUT = data.StructLayout({
    "fire": unsigned(1),
    "side": unsigned(8),
    "qty": signed(32),
    "price": signed(32),
    "strategy": unsigned(8),
    "order_id": unsigned(32),
    "symbol": unsigned(8),
})

assert tuple(name for name, _ in DECISION_LAYOUT) == tuple(
    f.name for f in fields(DecisionConfig))


def decision_config_to_int(config: DecisionConfig) -> int:
    """Return the value of a :data:`DECISION_LAYOUT` signal holding ``config``."""
    config.check()
    return DECISION_LAYOUT.const(config.as_dict()).as_value().value


def _csa_sum(m: Module, terms: list[Value], width: int, name: str) -> Value:
    """Return ``sum(terms) mod 2**width`` as ``signed(width)``: 3:2 layers, one carry chain.

    Every term is sign- (or zero-) extended to ``width`` first.
    """
    vals = []
    for i, term in enumerate(terms):
        sig = Signal(signed(width), name=f"{name}_in{i}")
        m.d.comb += sig.eq(term)
        vals.append(sig)
    layer = 0
    while len(vals) > 2:
        a, b, c = vals[:3]
        s = Signal(signed(width), name=f"{name}_s{layer}")
        carry = Signal(signed(width), name=f"{name}_c{layer}")
        maj = (a & b) | (a & c) | (b & c)
        m.d.comb += [s.eq(a ^ b ^ c), carry.eq(Cat(Const(0, 1), maj[:width - 1]))]
        vals = vals[3:] + [s, carry]
        layer += 1
    if len(vals) == 1:
        return vals[0]
    return (vals[0] + vals[1])[:width].as_signed()


def _inputs(f: data.View) -> list[tuple[list[Value], int]]:
    """Return, per input, its terms (``x_k = sum(terms)``) and the width of ``x_k``.

    The 64-bit words are read as their low :data:`WORD_BITS` bits, signed. A subtrahend ``v``
    is the term ``~v`` plus a constant 1 (``-v = ~v + 1``).
    """
    def word(name: str) -> Value:
        return f[name][:WORD_BITS].as_signed()

    p16 = Cat(Const(0, 16), f.price).as_signed()       # 48 bits
    p2 = Cat(Const(0, 1), f.price).as_signed()
    wide = WORD_BITS + 1
    return [
        ([p16, ~word("ema_fast"), Const(1, 2)], wide),
        ([p16, ~word("ema_slow"), Const(1, 2)], wide),
        ([word("macd")], WORD_BITS),
        ([word("macd_hist")], WORD_BITS),
        ([word("mom")], WORD_BITS),
        ([word("avg_gain"), ~word("avg_loss"), Const(1, 2)], wide),
        ([p2, ~f["max"], ~f["min"], Const(2, 3)], 34),
        ([f["max"], ~f["min"], Const(1, 2)], 33),
    ]


def _stage_free(m: Module, value: Value, name: str) -> Signal:
    """Return ``value`` (a constant derived from ``config``) through a free-running register."""
    value = Value.cast(value)
    reg = Signal(value.shape(), name=name, reset_less=True)
    m.d.sync += reg.eq(value)
    return reg


class DecisionUnit(wiring.Component):
    """Score each feature record and run the per-symbol hysteresis (see the module doc).

    Latency :attr:`LATENCY` enabled cycles; one record per enabled cycle, back-to-back records
    of one symbol included; state for ``params.n_symbols`` symbols.
    """

    LATENCY = 5

    def __init__(self, params: EngineParams | None = None) -> None:
        self.params = params or EngineParams()
        super().__init__({
            "en": In(1),
            "i_valid": In(1),
            "i_feature": In(FEATURE_LAYOUT),
            "config": In(DECISION_LAYOUT),
            "o_valid": Out(1),
            "o_intent": Out(INTENT_LAYOUT),
            "o_score": Out(signed(32)),
            "o_saturated": Out(1),
        })
        #: Every symbol's state (FLAT/LONG/SHORT) as two ``n_symbols``-bit registers: bit
        #: ``s`` of ``state_lo``/``state_hi`` is bit 0/1 of symbol ``s``'s state.
        self.state_lo = Signal(self.params.n_symbols, name="state_lo")
        self.state_hi = Signal(self.params.n_symbols, name="state_hi")

    def elaborate(self, platform):
        m = Module()
        en = self.en
        cfg = self.config
        f = self.i_feature
        n_sym = self.params.n_symbols
        sym_bits = self.params.symbol_bits

        def stage(value: Value, name: str, *, reset_less: bool = True) -> Signal:
            """Return ``value`` through one enabled register."""
            reg = Signal.like(Value.cast(value), name=name, reset_less=reset_less)
            with m.If(en):
                m.d.sync += reg.eq(value)
            return reg

        def meta(values: dict[str, Value], n: int) -> dict[str, Signal]:
            """Return the side-band values through one stage, named for stage ``n``."""
            return {k: stage(v, f"{k}_{n}", reset_less=k != "valid")
                    for k, v in values.items()}

        # Stage 1: the inputs and their clamp conditions; fresh, eligible, bad.
        bad = (f.valid & FeatureValid.BAD_SYMBOL) != 0
        if n_sym < 256:
            bad = bad | (f.symbol >= n_sym)
        band = {
            "valid": self.i_valid, "bad": bad, "symbol": f.symbol[:sym_bits],
            "price": f.price, "fresh": f.count == 1,
            "eligible": cfg.enable & (f.count >= cfg.warmup),
        }
        s1 = meta(band, 1)
        xs, his, los = [], [], []
        for k, (terms, width) in enumerate(_inputs(f)):
            # t_pos = 2**t, t_neg = -2**t with t = min(17 + shift, width - 1), registered.
            t_pos = Signal(signed(width + 1), name=f"t_pos_{k}", reset_less=True)
            t_neg = Signal(signed(width + 1), name=f"t_neg_{k}", reset_less=True)
            with m.Switch(cfg.shifts[k]):
                for s in range(2**SHIFT_BITS):
                    with m.Case(s):
                        t = min(Q_BITS - 1 + s, width - 1)
                        m.d.sync += [t_pos.eq(1 << t), t_neg.eq(-(1 << t))]
            x = _csa_sum(m, terms, width, f"x{k}")
            hi = _csa_sum(m, [*terms, t_neg], width + 1, f"hi{k}") >= 0
            lo = _csa_sum(m, [*terms, t_pos], width + 1, f"lo{k}") < 0
            xs.append(stage(x, f"x{k}_1"))
            his.append(stage(hi, f"hi{k}_1"))
            los.append(stage(lo, f"lo{k}_1"))

        # Stage 2: q_k into the multipliers' input registers; stage 3: the products.
        q_max, q_min = 2**(Q_BITS - 1) - 1, -2**(Q_BITS - 1)
        products = []
        for k in range(N_INPUTS):
            mul = RegisteredMultiplier(signed(Q_BITS), signed(16), name=f"mul{k}")
            m.submodules[f"mul{k}"] = mul
            low = (xs[k] >> cfg.shifts[k])[:Q_BITS].as_signed()
            q = Mux(his[k], q_max, Mux(los[k], q_min, low))
            m.d.comb += [mul.en.eq(en), mul.a.eq(q), mul.b.eq(cfg.weights[k])]
            products.append(mul.p)
        s2 = meta(s1, 2)
        s2["sat"] = stage(Cat(*his, *los).any(), "sat_2")
        s3 = meta(s2, 3)

        # Stage 4: the score and its compares (score - c >= 0 or < 0), each straight from
        # the products and bias through one carry-save tree and one carry chain, folded with
        # ``eligible`` and good into the four transitions; the state read (forwarding the
        # pending write); whether the record now in stage 5 writes this record's symbol.
        # Stage 5 (the record in s4) keeps its result in the pending write ``pw_*``, which
        # goes into the symbol's register at the next enabled edge.
        pw_valid = Signal(name="pw_valid")
        pw_symbol = Signal(sym_bits, name="pw_symbol", reset_less=True)
        pw_state = Signal(2, name="pw_state")
        s4 = meta(s3, 4)
        good3 = s3["valid"] & ~s3["bad"] & s3["eligible"]
        terms = [*products, cfg.bias]
        score = stage(_csa_sum(m, terms, SCORE_BITS, "score"), "score_4")
        compares = {}
        for name, value, ge in (("enter", -cfg.enter, True),       # score >= enter
                                ("nenter", cfg.enter - 1, False),  # score <= -enter
                                ("exit", -cfg.exit, False),        # score < exit
                                ("nexit", cfg.exit - 1, True)):    # score > -exit
            diff = _csa_sum(m, [*terms, _stage_free(m, value, f"k_{name}")], SCORE_BITS,
                            f"cmp_{name}")
            compares[name] = diff >= 0 if ge else diff < 0
        buy_flat = stage(good3 & compares["enter"], "buy_flat")
        sell_flat = stage(good3 & ~compares["enter"] & compares["nenter"], "sell_flat")
        sell_long = stage(good3 & compares["exit"], "sell_long")
        buy_short = stage(good3 & compares["nexit"], "buy_short")
        pending = pw_valid & (pw_symbol == s3["symbol"])
        stored = Cat(self.state_lo.bit_select(s3["symbol"], 1),
                     self.state_hi.bit_select(s3["symbol"], 1))
        st_read = stage(Mux(pending, pw_state, stored), "st_read")
        good4 = s4["valid"] & ~s4["bad"]
        forward = stage(good4 & (s4["symbol"] == s3["symbol"]), "forward", reset_less=False)

        # Stage 5: the state machine, the pending write, the outputs.
        current = Mux(s4["fresh"], FLAT, Mux(forward, pw_state, st_read))
        new_state = Signal(2, name="new_state")
        fire_side = Signal(8, name="fire_side")     # 0: nothing fires
        m.d.comb += new_state.eq(current)
        with m.Switch(current):
            with m.Case(FLAT):
                with m.If(buy_flat):
                    m.d.comb += [new_state.eq(LONG), fire_side.eq(Side.BUY)]
                with m.Elif(sell_flat):
                    m.d.comb += [new_state.eq(SHORT), fire_side.eq(Side.SELL)]
            with m.Case(LONG):
                with m.If(sell_long):
                    m.d.comb += [new_state.eq(FLAT), fire_side.eq(Side.SELL)]
            with m.Case(SHORT):
                with m.If(buy_short):
                    m.d.comb += [new_state.eq(FLAT), fire_side.eq(Side.BUY)]
        fire = fire_side != 0
        order_id = Signal(32, name="order_id")
        clamped = Mux(score > _I32[1], _I32[1], Mux(score < _I32[0], _I32[0], score))
        intent = self.o_intent
        # The pending write's symbol as a one-hot mask (a right shift: no wider intermediate).
        top_bit = n_sym - 1
        one_hot = Const(1 << top_bit, n_sym) >> (top_bit - pw_symbol)[:max(1, sym_bits)]
        with m.If(en):
            with m.If(pw_valid):
                for bit, reg in ((0, self.state_lo), (1, self.state_hi)):
                    m.d.sync += reg.eq((reg & ~one_hot) | Mux(pw_state[bit], one_hot, 0))
            with m.If(good4):
                m.d.sync += [pw_valid.eq(1), pw_symbol.eq(s4["symbol"]),
                             pw_state.eq(new_state)]
            with m.If(fire):
                m.d.sync += order_id.eq(order_id + 1)
            m.d.sync += [
                self.o_valid.eq(s4["valid"]),
                intent.fire.eq(fire),
                intent.side.eq(fire_side),
                intent.qty.eq(Mux(fire, cfg.qty, 0)),
                intent.price.eq(Mux(fire, s4["price"], 0)),
                intent.strategy.eq(Mux(fire, cfg.strategy, 0)),
                intent.order_id.eq(Mux(fire, order_id, 0)),
                intent.symbol.eq(Mux(fire, s4["symbol"], 0)),
                self.o_score.eq(Mux(good4, clamped, 0)),
                self.o_saturated.eq(good4 & s4["sat"]),
            ]
        return m

