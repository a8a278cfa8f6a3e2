"""Registered block RAM and registered multiplier, behavioural or ECP5 primitives.

The engine's blocks use :class:`RegisteredMemory` and :class:`RegisteredMultiplier` where
they need a state RAM or a product. Both have a latency of two enabled cycles and are gated
by one enable ``en`` (the pipeline's ``advance``):

* By default (any platform without ``family == "ecp5"``, e.g. ``None`` for simulation and
  the xc7 flow) they elaborate to plain Amaranth: a :class:`~amaranth.lib.memory.Memory`
  with a synchronous read port and one more register, or two operand registers and a
  registered ``*``. Simulators test this code; Yosys infers BRAM/DSP48 from it.
* With a platform whose ``family`` is ``"ecp5"`` (:class:`ECP5Target`, which ``tickgate hw
  synth`` passes to the converter) they instantiate ``DP16KD`` block RAMs with the output
  register inside the RAM (``REGMODE "OUTREG"``) and ``MULT18X18D`` multipliers with input
  and output registers. Yosys maps an inferred RAM with ``REGMODE "NOREG"`` (5.8 ns
  clock-to-out) and a multiplier without registers (3.9 ns), neither of which meets 150 MHz
  followed by logic; the primitives' internal registers do.

The two elaborations are cycle-for-cycle equal (``tests/cocotb/test_engine_ecp5_cocotb.py``
simulates the ECP5 one against the model with small behavioural models of the two
primitives, ``tests/cocotb/ecp5_prims.v``).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import (
    Cat,
    ClockSignal,
    Const,
    Elaboratable,
    Instance,
    MemoryData,
    Module,
    Mux,
    Shape,
    Signal,
    Value,
    signed,
)
from amaranth.lib import memory

__all__ = ["ECP5Target", "LocalRegister", "RegisteredMemory", "RegisteredMultiplier",
           "is_ecp5", "dp16kd_plan", "local_copy"]


@dataclass(frozen=True)
class ECP5Target:
    """A minimal platform object: elaborate the primitives for Lattice ECP5."""

    family: str = "ecp5"


def is_ecp5(platform: object) -> bool:
    """Return whether ``platform`` asks for ECP5 primitives."""
    return getattr(platform, "family", None) == "ecp5"


#: DP16KD data-width modes and their depth (one 18 Kbit block).
_DP16KD_MODES = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024))


def dp16kd_plan(width: int, depth: int) -> tuple[int, int, int]:
    """Return ``(mode_width, n_wide, n_deep)``: the fewest DP16KD, then the fewest rows."""
    best = None
    for mode, mode_depth in _DP16KD_MODES:
        n_deep = -(-depth // mode_depth)
        n_wide = -(-width // mode)
        key = (n_deep * n_wide, n_deep, -mode)
        if best is None or key < best[0]:
            best = (key, (mode, n_wide, n_deep))
    return best[1]


class RegisteredMemory(Elaboratable):
    """A RAM with one write port and one read port whose data is registered twice.

    * ``rd_addr`` in enabled cycle ``t`` -> ``rd_data`` in enabled cycle ``t + 2`` (a
      register), the contents before the writes of cycle ``t`` (read before write).
    * ``wr_addr``, ``wr_data`` are written at the end of a cycle with ``en & wr_en``.
    * Nothing (read, output register, write) happens while ``en`` is low.

    On ECP5 a read and a write of one address in the same cycle use two different ports of
    the DP16KD, which the hardware does not define; ``collision=True`` makes such reads
    exact (port A reads the written address, read-before-write, and its data is chosen when
    the addresses match). Without it the caller guarantees that they never happen (a read
    whose data is never used may collide).

    ``data`` (a :class:`~amaranth.hdl.MemoryData`, for simulators that poke rows) is used
    by the behavioural elaboration only; the contents start at zero either way.

    ``write_registered=True`` registers ``wr_addr``, ``wr_data`` and ``wr_en`` once more: a
    write presented in cycle ``t`` lands at the end of cycle ``t + 1`` (a read in cycle
    ``t + 1`` still returns the old contents). On ECP5 the write enable and address come
    from copies of their own (:class:`LocalRegister`), one per group of
    :attr:`WRITE_GROUP` blocks, and the data from a register per block: a wide RAM spread
    over many block RAMs then has no net from one register, or from logic, to all of them.

    ``clearable=True`` (LUT RAM only) adds ``rd_clear``: high in cycle ``t + 1``, it makes
    the ``rd_data`` of cycle ``t + 2`` zero (the output register's synchronous clear, which
    ECP5 flip-flops have: no logic between the read and the register, none after it).

    ``rd_sub_bits=k`` adds ``rd_sub`` (``k`` bits, presented a cycle *before* its
    ``rd_addr``, in cycle ``t - 1``): the read address is ``rd_addr`` with its low ``k``
    bits minus ``rd_sub``, modulo ``2**k`` (a ring's tap behind its pointer). On ECP5 each
    group of :attr:`WRITE_GROUP` blocks registers its own copy of ``rd_sub``
    (:class:`LocalRegister`) and has its own subtractor next to its blocks: no net from one
    adder to all of them.

    ``distributed=True`` asks for LUT RAM on every platform (``ram_style = "distributed"``),
    for small state RAMs whose data feeds arithmetic: ``rd_addr`` goes into the RAM's own
    address register (a :class:`LocalRegister`, next to the LUT RAM), the asynchronous read
    of cycle ``t + 1`` into the output register (``rd_data`` in cycle ``t + 2``, as above).
    The read thus also sees a write of cycle ``t`` (to the callers, which never read an
    address within a cycle of its write, that is the same). Where a block RAM's output
    register sits in the RAM's row, far from the logic, these are fabric flip-flops.
    """

    #: Block RAMs that share one copy of the registered write enable and address.
    WRITE_GROUP = 8

    def __init__(self, shape, depth: int, *, collision: bool = False,
                 data: MemoryData | None = None, distributed: bool = False,
                 write_registered: bool = False, clearable: bool = False,
                 rd_sub_bits: int = 0, name: str = "mem") -> None:
        if rd_sub_bits and collision:
            raise ValueError("rd_sub_bits does not go with collision")
        if write_registered and (collision or distributed):
            raise ValueError("write_registered goes with neither collision nor distributed")
        if clearable and not distributed:
            raise ValueError("clearable goes with distributed only")
        self.clearable = clearable
        self.write_registered = write_registered
        self.shape = shape
        self.depth = depth
        self.collision = collision
        self.distributed = distributed
        self.data = data
        self.name = name
        self.width = Shape.cast(shape).width
        self.addr_bits = max(1, (depth - 1).bit_length())
        self.en = Signal(name=f"{name}_en")
        self.rd_addr = Signal(self.addr_bits, name=f"{name}_rd_addr")
        self.rd_data = Signal(shape, name=f"{name}_rd_data")
        self.wr_addr = Signal(self.addr_bits, name=f"{name}_wr_addr")
        self.wr_data = Signal(shape, name=f"{name}_wr_data")
        self.wr_en = Signal(name=f"{name}_wr_en")
        if rd_sub_bits > self.addr_bits:
            raise ValueError(f"rd_sub_bits {rd_sub_bits} exceeds the address's "
                             f"{self.addr_bits} bits")
        self.rd_sub_bits = rd_sub_bits
        #: With ``rd_sub_bits``: subtracted from the read address's low bits (see above).
        self.rd_sub = Signal(rd_sub_bits, name=f"{name}_rd_sub") if rd_sub_bits else None
        #: With ``clearable=True``: zero the output register (see the class doc).
        self.rd_clear = Signal(name=f"{name}_rd_clear") if clearable else None

    def _read_address(self, m: Module, name: str) -> Value:
        """Return the read address: ``rd_sub`` (through a register of its own, ``name``)
        taken off ``rd_addr``'s low bits."""
        if not self.rd_sub_bits:
            return self.rd_addr
        k = self.rd_sub_bits
        sub = local_copy(m, self.rd_sub, name, self.en)
        return Cat((self.rd_addr[:k] - sub)[:k], self.rd_addr[k:])

    def elaborate(self, platform):
        if is_ecp5(platform) and not self.distributed:
            return self._elaborate_ecp5()
        m = Module()
        rd_address = self._read_address(m, "rd_sub")
        attrs = {"ram_style": "distributed"} if self.distributed else None
        if self.data is not None:
            mem = memory.Memory(data=self.data, attrs=attrs)
        else:
            mem = memory.Memory(shape=self.shape, depth=self.depth, init=[], attrs=attrs)
        m.submodules.mem = mem
        if self.distributed:
            rd = mem.read_port(domain="comb")
            m.d.comb += rd.addr.eq(local_copy(m, rd_address, "rd_addr", self.en))
        else:
            rd = mem.read_port(domain="sync", transparent_for=())
            m.d.comb += [rd.addr.eq(rd_address), rd.en.eq(self.en)]
        wr = mem.write_port()
        out = Signal(self.width, name="out", reset_less=True)
        wr_addr, wr_data, wr_en = self.wr_addr, Value.cast(self.wr_data), self.wr_en
        if self.write_registered:
            regs = (Signal.like(wr_addr, name="wr_addr_r", reset_less=True),
                    Signal(len(wr_data), name="wr_data_r", reset_less=True),
                    Signal(name="wr_en_r", reset_less=True))
            with m.If(self.en):
                m.d.sync += [r.eq(v) for r, v in zip(regs, (wr_addr, wr_data, wr_en),
                                                     strict=True)]
            wr_addr, wr_data, wr_en = regs
        m.d.comb += [
            wr.addr.eq(wr_addr), wr.data.eq(wr_data),
            wr.en.eq(self.en & wr_en),
            Value.cast(self.rd_data).eq(out),
        ]
        read = Value.cast(rd.data)
        if self.rd_clear is not None:
            read = Mux(self.rd_clear, 0, read)
        with m.If(self.en):
            m.d.sync += out.eq(read)
        return m

    def _elaborate_ecp5(self):
        m = Module()
        mode, n_wide, n_deep = dp16kd_plan(self.width, self.depth)
        mode_depth = dict(_DP16KD_MODES)[mode]
        low_bits = (mode_depth - 1).bit_length()
        sel_bits = (n_deep - 1).bit_length()
        shift = {1: 0, 2: 1, 4: 2, 9: 3, 18: 4}[mode]
        en = self.en
        wr_data = Value.cast(self.wr_data)
        padded = Cat(wr_data, Const(0, n_wide * mode - self.width))
        n_blocks = n_deep * n_wide
        if self.write_registered:
            # One register per data bit (each feeds one block), a copy of the enable and
            # the address per group of WRITE_GROUP blocks.
            padded_r = Signal(len(padded), name=f"{self.name}_wr_data_r", reset_less=True)
            with m.If(en):
                m.d.sync += padded_r.eq(padded)
            padded = padded_r
            group_we, group_addr = [], []
            for g in range(-(-n_blocks // self.WRITE_GROUP)):
                we_r = LocalRegister(1, enable=True, name=f"{self.name}_we{g}")
                addr_r = LocalRegister(self.addr_bits, enable=True, name=f"{self.name}_wa{g}")
                m.submodules[f"we{g}"] = we_r
                m.submodules[f"wa{g}"] = addr_r
                m.d.comb += [we_r.d.eq(self.wr_en), we_r.en.eq(en),
                             addr_r.d.eq(self.wr_addr), addr_r.en.eq(en)]
                group_we.append(we_r.q)
                group_addr.append(addr_r.q)

        def addr_pins(addr: Value, prefix: str) -> dict:
            word = Cat(Const(0, shift), addr[:low_bits])
            word = Cat(word, Const(0, 14 - len(word)))
            return {f"i_{prefix}{i}": word[i] for i in range(14)}

        def delay2(value: Value, name: str) -> Value:
            d1 = Signal(len(value), name=f"{name}_d1", reset_less=True)
            d2 = Signal(len(value), name=f"{name}_d2", reset_less=True)
            with m.If(en):
                m.d.sync += [d1.eq(value), d2.eq(d1)]
            return d2

        if self.rd_sub_bits and low_bits < self.rd_sub_bits:
            raise ValueError("rd_sub_bits must lie within one block's address bits")
        group_rd = [self._read_address(m, f"{self.name}_rs{g}")
                    for g in range(-(-n_blocks // self.WRITE_GROUP))]
        rd_hi = self.rd_addr[low_bits:] if sel_bits else None
        wr_hi = self.wr_addr[low_bits:] if sel_bits else None   # collision only
        rows_b = []
        rows_a = []
        for row in range(n_deep):
            dob_row = []
            doa_row = []
            for col in range(n_wide):
                if self.write_registered:
                    group = (row * n_wide + col) // self.WRITE_GROUP
                    wr_en, wr_addr = group_we[group], group_addr[group]
                else:
                    wr_en, wr_addr = self.wr_en, self.wr_addr
                we = wr_en if not sel_bits else wr_en & (wr_addr[low_bits:] == row)
                dob = Signal(18, name=f"dob_{row}_{col}")
                doa = Signal(18, name=f"doa_{row}_{col}")
                data_in = Cat(padded[col * mode:(col + 1) * mode], Const(0, 18 - mode))
                ports = {
                    "i_CLKA": ClockSignal("sync"), "i_CLKB": ClockSignal("sync"),
                    "i_CEA": en, "i_OCEA": en, "i_RSTA": Const(0), "i_WEA": we,
                    "i_CEB": en, "i_OCEB": en, "i_RSTB": Const(0), "i_WEB": Const(0),
                    **{f"i_CSA{i}": Const(0) for i in range(3)},
                    **{f"i_CSB{i}": Const(0) for i in range(3)},
                    **{f"i_DIA{i}": data_in[i] for i in range(18)},
                    **{f"o_DOA{i}": doa[i] for i in range(18)},
                    **{f"o_DOB{i}": dob[i] for i in range(18)},
                    **addr_pins(wr_addr, "ADA"),
                    **addr_pins(group_rd[(row * n_wide + col) // self.WRITE_GROUP], "ADB"),
                }
                if mode == 18:   # byte enables on ADA0/ADA1
                    ports["i_ADA0"] = Const(1)
                    ports["i_ADA1"] = Const(1)
                m.submodules[f"bram_{row}_{col}"] = Instance(
                    "DP16KD",
                    p_DATA_WIDTH_A=mode, p_DATA_WIDTH_B=mode,
                    p_REGMODE_A="OUTREG" if self.collision else "NOREG",
                    p_REGMODE_B="OUTREG",
                    p_WRITEMODE_A="READBEFOREWRITE", p_WRITEMODE_B="NORMAL",
                    p_RESETMODE="SYNC", p_ASYNC_RESET_RELEASE="SYNC",
                    p_CSDECODE_A="0b000", p_CSDECODE_B="0b000", p_GSR="AUTO",
                    **ports,
                )
                dob_row.append(dob[:mode])
                doa_row.append(doa[:mode])
            rows_b.append(Cat(*dob_row)[:self.width])
            rows_a.append(Cat(*doa_row)[:self.width])

        def pick(rows: list[Value], hi: Value | None) -> Value:
            if not sel_bits:
                return rows[0]
            sel = delay2(hi, f"{self.name}_sel")
            result = rows[0]
            for row in range(1, n_deep):
                result = Mux(sel == row, rows[row], result)
            return result

        out_b = pick(rows_b, rd_hi)
        if self.collision:
            same = delay2(self.rd_addr == self.wr_addr, f"{self.name}_same")
            out = Mux(same, pick(rows_a, wr_hi), out_b)
        else:
            out = out_b
        m.d.comb += Value.cast(self.rd_data).eq(out)
        return m


class RegisteredMultiplier(Elaboratable):
    """``p = a * b`` with registered operands and a registered product (latency 2).

    ``a`` in enabled cycle ``t`` -> ``p`` in enabled cycle ``t + 2``; nothing moves while
    ``en`` is low. With ``fabric_operands`` the operands are the caller's own registers
    (its cycle ``t + 1``): the DSP's operand registers are bypassed and only its product
    register is used, so the route from the fabric to the DSP starts at a register.
    Each operand is at most 18 bits if both are unsigned, else every operand fits a signed
    18-bit value (an unsigned one at most 17 bits). ``p`` has ``len(a) + len(b)`` bits,
    signed if either operand is.
    """

    def __init__(self, a_shape, b_shape, *, name: str = "mul",
                 fabric_operands: bool = False) -> None:
        a_shape, b_shape = Shape.cast(a_shape), Shape.cast(b_shape)
        #: The operands are the caller's registers, presented a cycle later (in cycle
        #: ``t + 1``); the multiplier's own operand registers are bypassed.
        self.fabric_operands = fabric_operands
        self.any_signed = a_shape.signed or b_shape.signed
        for shape in (a_shape, b_shape):
            limit = 18 if not self.any_signed or shape.signed else 17
            if shape.width > limit:
                raise ValueError(f"operand {shape} does not fit one 18x18 multiplier")
        self.name = name
        self.en = Signal(name=f"{name}_en")
        self.a = Signal(a_shape, name=f"{name}_a")
        self.b = Signal(b_shape, name=f"{name}_b")
        width = a_shape.width + b_shape.width
        self.p = Signal(signed(width) if self.any_signed else width, name=f"{name}_p")

    def elaborate(self, platform):
        m = Module()
        en = self.en
        if not is_ecp5(platform):
            a_r = Signal.like(self.a, name="a_r", reset_less=True)
            b_r = Signal.like(self.b, name="b_r", reset_less=True)
            p_r = Signal.like(self.p, name="p_r", reset_less=True)
            if self.fabric_operands:
                with m.If(en):
                    m.d.sync += p_r.eq(self.a * self.b)
            else:
                with m.If(en):
                    m.d.sync += [a_r.eq(self.a), b_r.eq(self.b), p_r.eq(a_r * b_r)]
            m.d.comb += self.p.eq(p_r)
            return m

        if self.any_signed:
            a18 = self.a.as_signed() if self.a.shape().signed else Cat(self.a, 0).as_signed()
            b18 = self.b.as_signed() if self.b.shape().signed else Cat(self.b, 0).as_signed()
            a18, b18 = Value.cast(a18), Value.cast(b18)
            a_bits = Cat(a18, a18[-1].replicate(18 - len(a18)))
            b_bits = Cat(b18, b18[-1].replicate(18 - len(b18)))
        else:
            a_bits = Cat(self.a, Const(0, 18 - len(self.a)))
            b_bits = Cat(self.b, Const(0, 18 - len(self.b)))
        product = Signal(36, name="product")
        sign = Const(1 if self.any_signed else 0)
        clocked = ("OUTPUT",) if self.fabric_operands else ("INPUTA", "INPUTB", "OUTPUT")
        regs = {f"p_REG_{r}_{k}": v for r in clocked
                for k, v in (("CLK", "CLK0"), ("CE", "CE0"), ("RST", "RST0"))}
        regs.update({f"p_REG_{r}_{k}": v
                     for r in ("INPUTA", "INPUTB", "INPUTC", "PIPELINE") if r not in clocked
                     for k, v in (("CLK", "NONE"), ("CE", "CE0"), ("RST", "RST0"))})
        m.submodules.mult = Instance(
            "MULT18X18D",
            **regs,
            p_CLK0_DIV="ENABLED", p_CLK1_DIV="ENABLED", p_CLK2_DIV="ENABLED",
            p_CLK3_DIV="ENABLED", p_HIGHSPEED_CLK="NONE", p_GSR="DISABLED",
            p_CAS_MATCH_REG="FALSE", p_SOURCEB_MODE="B_SHIFT", p_MULT_BYPASS="DISABLED",
            p_RESETMODE="SYNC",
            **{f"i_A{i}": a_bits[i] for i in range(18)},
            **{f"i_B{i}": b_bits[i] for i in range(18)},
            i_SIGNEDA=sign, i_SIGNEDB=sign, i_SOURCEA=Const(0), i_SOURCEB=Const(0),
            i_CLK0=ClockSignal("sync"), i_CE0=en, i_RST0=Const(0),
            **{f"o_P{i}": product[i] for i in range(36)},
        )
        m.d.comb += self.p.eq(product[:len(self.p)])
        return m


class LocalRegister(Elaboratable):
    """``q`` is ``d`` one cycle later: a reset-less register that synthesis keeps apart.

    Yosys merges flip-flops with the same input into one, so a value registered in several
    places for several consumers ends up as one flip-flop per bit whose net spans the die
    (e.g. a symbol number that addresses block RAMs in different rows and LUT RAMs
    elsewhere). A :class:`LocalRegister` is that block's own copy: on ECP5 one
    ``TRELLIS_FF`` instance per bit (Yosys does not merge instances), which the placer puts
    next to the copy's consumers; elsewhere a plain register (Vivado and the simulators
    need no help).
    """

    def __init__(self, shape, *, enable: bool = False, name: str = "copy") -> None:
        self.d = Signal(shape, name=f"{name}_d")
        self.q = Signal(shape, name=f"{name}_q")
        #: With ``enable=True``: the register loads only while ``en`` is high.
        self.en = Signal(name=f"{name}_en", init=1) if enable else None

    def elaborate(self, platform):
        m = Module()
        if not is_ecp5(platform):
            reg = Signal.like(self.q, name="q_r", reset_less=True)
            with m.If(self.en if self.en is not None else 1):
                m.d.sync += reg.eq(self.d)
            m.d.comb += self.q.eq(reg)
            return m
        d, q = Value.cast(self.d), Value.cast(self.q)
        ce = {"p_CEMUX": "CE", "i_CE": self.en} if self.en is not None else {"p_CEMUX": "1"}
        for i in range(len(d)):
            m.submodules[f"ff{i}"] = Instance(
                "TRELLIS_FF", p_GSR="DISABLED", p_CLKMUX="CLK", p_LSRMUX="LSR",
                p_SRMODE="LSR_OVER_CE", p_REGSET="RESET", **ce,
                i_CLK=ClockSignal("sync"), i_LSR=Const(0), i_DI=d[i], o_Q=q[i],
            )
        return m


def local_copy(m: Module, value: Value, name: str, en: Value | None = None) -> Value:
    """Return ``value`` one cycle later from a :class:`LocalRegister` of its own, added to
    ``m`` as submodule ``name`` (loading only while ``en`` is high, if given)."""
    reg = LocalRegister(Value.cast(value).shape(), enable=en is not None, name=name)
    m.submodules[name] = reg
    m.d.comb += reg.d.eq(value) if en is None else [reg.d.eq(value), reg.en.eq(en)]
    return reg.q
