"""An AXI4-Lite slave register file generated from a :class:`~tickgate.gateware.regmap.RegisterMap`.

Bus ports (Xilinx names, so a top level can expose them unchanged and Vivado infers the
``s_axi`` interface; all in the ``sync`` domain, reset active high)::

    s_axi_awaddr[addr_bits-1:0] s_axi_awprot[2:0] s_axi_awvalid   in   s_axi_awready  out
    s_axi_wdata[31:0] s_axi_wstrb[3:0] s_axi_wvalid               in   s_axi_wready   out
    s_axi_bready                                                  in   s_axi_bresp[1:0] s_axi_bvalid
    s_axi_araddr[addr_bits-1:0] s_axi_arprot[2:0] s_axi_arvalid   in   s_axi_arready  out
    s_axi_rready                                                  in   s_axi_rdata[31:0]
                                                                       s_axi_rresp[1:0] s_axi_rvalid

``awprot``/``arprot`` are accepted and ignored. A top level declares the same members with
:func:`axil_members` and forwards them with :func:`forward_axil`.

Logic side
----------
``regs.value(name, index=0)``
    ``rw``: the register (a signed shape if ``signed``); ``ro``: a ``Signal`` the logic drives
    (combinationally or not; it is sampled when read); ``wo``: the data of the last write.
``regs.strobe(name, index=0)``
    ``rw``/``wo``: high for the one cycle after an accepted write, when ``value()`` already
    holds the new data; ``o_wstrb`` then holds that write's byte enables.
``regs.read_strobe(name, index=0)``
    High for the one cycle in which the bus samples the word: ``s_axi_rdata`` will carry the
    word's value of that very cycle (latch a 64-bit counter's high word on its low word's
    read strobe and the pair reads coherently).
``o_bus_error``
    High one cycle per refused access (a read and a write refused together give two cycles).

Behaviour
---------
AW and W are accepted in either order or together; the write is done once both are held.
One write and one read are outstanding at most; reads and writes proceed independently.
A response is held until ``bready``/``rready``. Writes honour ``wstrb`` byte by byte on
``rw`` registers; a ``wo`` register takes the whole ``wdata`` (its byte enables are given in
``o_wstrb``). Responses: OKAY (0); a write to an ``ro`` register is SLVERR (2) with no effect;
an unmapped or misaligned (``addr[1:0] != 0``) read or write is DECERR (3) with no effect and
``rdata`` 0. Reads of ``wo`` registers return 0 with OKAY.

Latency and throughput: a write's response is valid 2 cycles after the later of its AW and W
handshakes, a read's data 2 cycles after its AR handshake; with ``bready``/``rready`` held
high, one write and one read complete every 3 cycles each. ``rw`` registers take their
``reset`` value at reset.

Size: one comparator per word for the write enables and read strobes and one case on the
word index for the (registered) read mux, so the netlist grows linearly with the map; 150
words of 32 bits (50 each of rw, ro, wo) synthesise (yosys ``synth_xilinx``) to about 1.8k
LUTs, mostly the read mux, and 1.7k flip-flops.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from tickgate.gateware.regmap import RegisterMap, Word

__all__ = ["AxiLiteRegisters", "Resp", "axil_members", "forward_axil"]


class Resp:
    """AXI ``bresp``/``rresp`` codes."""

    OKAY = 0
    SLVERR = 2
    DECERR = 3


def axil_members(addr_bits: int) -> dict[str, wiring.Member]:
    """Return the ``s_axi_*`` slave members (flows as seen by the slave)."""
    return {
        "s_axi_awaddr": In(addr_bits), "s_axi_awprot": In(3), "s_axi_awvalid": In(1),
        "s_axi_awready": Out(1),
        "s_axi_wdata": In(32), "s_axi_wstrb": In(4), "s_axi_wvalid": In(1),
        "s_axi_wready": Out(1),
        "s_axi_bresp": Out(2), "s_axi_bvalid": Out(1), "s_axi_bready": In(1),
        "s_axi_araddr": In(addr_bits), "s_axi_arprot": In(3), "s_axi_arvalid": In(1),
        "s_axi_arready": Out(1),
        "s_axi_rdata": Out(32), "s_axi_rresp": Out(2), "s_axi_rvalid": Out(1),
        "s_axi_rready": In(1),
    }


def forward_axil(m: Module, outer: object, inner: AxiLiteRegisters) -> None:
    """Wire ``outer``'s ``s_axi_*`` ports (declared with :func:`axil_members`) to ``inner``."""
    for name, member in axil_members(inner.regmap.addr_bits).items():
        src, dst = getattr(outer, name), getattr(inner, name)
        m.d.comb += dst.eq(src) if member.flow == wiring.In else src.eq(dst)


def _key(word: Word) -> tuple[str, int]:
    return word.register.name, word.index


class AxiLiteRegisters(wiring.Component):
    """The register file of ``regmap`` behind an AXI4-Lite slave port (see module doc)."""

    def __init__(self, regmap: RegisterMap) -> None:
        self.regmap = regmap
        super().__init__({**axil_members(regmap.addr_bits), "o_bus_error": Out(1),
                          "o_wstrb": Out(4)})
        consts = regmap.constants()
        self._words = list(regmap.words())
        assert all(w.offset == 4 * i for i, w in enumerate(self._words))
        self._values: dict[tuple[str, int], Value] = {}
        self._strobes: dict[tuple[str, int], Signal] = {}
        self._read_strobes: dict[tuple[str, int], Signal] = {}
        for word in self._words:
            reg, key = word.register, _key(word)
            label = reg.name if reg.count == 1 else f"{reg.name}_{word.index}"
            shape = signed(reg.width) if reg.signed else unsigned(reg.width)
            if reg.name in consts:
                self._values[key] = Const(consts[reg.name], 32)
            else:
                self._values[key] = Signal(shape, init=reg.reset, name=label)
            if reg.access != "ro":
                self._strobes[key] = Signal(name=f"{label}_strobe")
            self._read_strobes[key] = Signal(name=f"{label}_read_strobe")

    def value(self, name: str, index: int = 0) -> Value:
        """Return the register's value (``ro``: the ``Signal`` the logic must drive)."""
        return self._values[self._lookup(name, index)]

    def strobe(self, name: str, index: int = 0) -> Signal:
        """Return the one-cycle write pulse of an ``rw`` or ``wo`` register."""
        key = self._lookup(name, index)
        if key not in self._strobes:
            raise ValueError(f"register {name} is read-only: it has no write strobe")
        return self._strobes[key]

    def read_strobe(self, name: str, index: int = 0) -> Signal:
        """Return the one-cycle pulse of the cycle in which the bus samples the word."""
        return self._read_strobes[self._lookup(name, index)]

    def _lookup(self, name: str, index: int) -> tuple[str, int]:
        self.regmap.offset(name, index)  # raises KeyError / IndexError
        return name, index

    def elaborate(self, platform: object) -> Module:
        m = Module()
        write_error = self._elaborate_write(m)
        read_error = self._elaborate_read(m)
        # Reads and writes each take at least 3 cycles, so at most one refused read and one
        # refused write arrive together and one pending bit spreads them over two cycles.
        pending = Signal()
        m.d.sync += [self.o_bus_error.eq(write_error | read_error | pending),
                     pending.eq(write_error & read_error)]
        return m

    def _elaborate_write(self, m: Module) -> Signal:
        """Hold AW and W, do the write once both are held, answer on B; return the error."""
        aw_full, w_full = Signal(), Signal()
        aw_addr = Signal(self.regmap.addr_bits)
        w_data, w_strb = Signal(32), Signal(4)
        m.d.comb += [self.s_axi_awready.eq(~aw_full & ~self.s_axi_bvalid),
                     self.s_axi_wready.eq(~w_full & ~self.s_axi_bvalid)]
        with m.If(self.s_axi_awvalid & self.s_axi_awready):
            m.d.sync += [aw_full.eq(1), aw_addr.eq(self.s_axi_awaddr)]
        with m.If(self.s_axi_wvalid & self.s_axi_wready):
            m.d.sync += [w_full.eq(1), w_data.eq(self.s_axi_wdata), w_strb.eq(self.s_axi_wstrb)]
        with m.If(self.s_axi_bvalid & self.s_axi_bready):
            m.d.sync += self.s_axi_bvalid.eq(0)

        now = aw_full & w_full
        resp = self._response(m, aw_addr, write=True)
        with m.If(now):
            m.d.sync += [aw_full.eq(0), w_full.eq(0), self.s_axi_bvalid.eq(1),
                         self.s_axi_bresp.eq(resp), self.o_wstrb.eq(w_strb)]
        # One enable per word, so the netlist grows linearly with the map.
        ok = now & (resp == Resp.OKAY)
        for i, word in enumerate(self._words):
            if word.register.access == "ro":
                continue
            key = _key(word)
            reg, hit = self._values[key], Signal(name=f"{self._strobes[key].name}_hit")
            m.d.comb += hit.eq(ok & (aw_addr[2:] == i))
            m.d.sync += self._strobes[key].eq(hit)
            new = w_data if word.register.access == "wo" else self._merge(reg, w_data, w_strb)
            with m.If(hit):
                m.d.sync += reg.eq(new[:len(reg)])
        return now & (resp != Resp.OKAY)

    def _response(self, m: Module, addr: Signal, *, write: bool) -> Signal:
        """Return the response to an access at byte address ``addr``."""
        index = addr[2:]
        ro = Const(sum(1 << i for i, w in enumerate(self._words) if w.register.access == "ro"),
                   len(self._words))
        resp = Signal(2, name="bresp_next" if write else "rresp_next")
        with m.If((addr[:2] != 0) | (index >= len(self._words))):
            m.d.comb += resp.eq(Resp.DECERR)
        with m.Elif(ro.bit_select(index, 1) if write else 0):
            m.d.comb += resp.eq(Resp.SLVERR)
        return resp

    @staticmethod
    def _merge(reg: Value, data: Value, strb: Value) -> Value:
        """Return ``reg`` with the bytes enabled in ``strb`` taken from ``data``."""
        old = Value.cast(reg).as_unsigned()
        return Cat(Mux(strb[b], data[8 * b:8 * b + 8], old[8 * b:8 * b + 8])
                   for b in range((len(old) + 7) // 8))

    def _elaborate_read(self, m: Module) -> Signal:
        """Hold AR, sample the word into ``rdata``, answer on R; return the error."""
        ar_full = Signal()
        ar_addr = Signal(self.regmap.addr_bits)
        m.d.comb += self.s_axi_arready.eq(~ar_full & ~self.s_axi_rvalid)
        with m.If(self.s_axi_arvalid & self.s_axi_arready):
            m.d.sync += [ar_full.eq(1), ar_addr.eq(self.s_axi_araddr)]
        with m.If(self.s_axi_rvalid & self.s_axi_rready):
            m.d.sync += self.s_axi_rvalid.eq(0)

        # The read mux: one case on the word index driving one signal.
        data = Signal(32)
        with m.Switch(ar_addr[2:]):
            for i, word in enumerate(self._words):
                if word.register.access != "wo":
                    with m.Case(i):
                        m.d.comb += data.eq(self._values[_key(word)])
        resp = self._response(m, ar_addr, write=False)
        ok = ar_full & (resp == Resp.OKAY)
        with m.If(ar_full):
            m.d.sync += [ar_full.eq(0), self.s_axi_rvalid.eq(1),
                         self.s_axi_rdata.eq(Mux(ok, data, 0)), self.s_axi_rresp.eq(resp)]
        for i, word in enumerate(self._words):
            m.d.comb += self._read_strobes[_key(word)].eq(ok & (ar_addr[2:] == i))
        return ar_full & (resp != Resp.OKAY)
