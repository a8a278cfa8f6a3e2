// The simulated card: the Verilated tickgate_top behind a model of the Xilinx AXI DMA
// (MM2S into s_axis_tick / s_axis_order, S2MM from m_axis) and an AXI4-Lite master.
// The C ABI and its codes are documented in board.h.
//
// The model's top is not the card but tickgate_sim, a wrapper sim/build.py generates around
// it: every input of the card goes through a register clocked by the card's clock (clk
// itself excepted). One clock cycle (step()): the caller has set every input for the cycle;
// one rising edge of the wrapper (eval() with clk high) does two things at once: the card's
// edge of the *previous* cycle, with that cycle's inputs (held in the wrapper's registers),
// and the loading of this cycle's inputs into those registers; Verilator then settles the
// card's combinational logic with them, so after step() the outputs are this cycle's
// settled values (the card's treadys depend on the offered record), ready to be sampled as
// the handshakes of the cycle, whose edge the next step() makes. The card sees exactly the
// inputs it would see unwrapped, cycle for cycle; what it saves is Verilator's
// input-combinational pass, which otherwise runs on every eval() (all the card's next-state
// logic depends on the rst and ready inputs; it was ~40 % of the model's time, run twice a
// cycle). The eval() with clk low that follows is nearly free (no logic depends on an input
// any more) and only arms the next rising edge. Stream data is copied into the model only
// when a new record is offered, and out of it only on an output handshake, never per cycle.

#include "board.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include "Vtickgate_top.h"
#include "verilated.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "records are copied as little-endian words: a little-endian host is required"
#endif

namespace {

struct Stream {  // one slave stream port of the card
    uint32_t *tdata;
    CData *tvalid;
    CData *tlast;
    const CData *tready;
    uint32_t bytes;
};

}  // namespace

struct tg_board {
    std::unique_ptr<VerilatedContext> ctx;
    std::unique_ptr<Vtickgate_top> top;
    Stream ports[2];
    uint32_t output_bytes = 0;
    uint32_t max_records = 0;
    uint32_t status_offset = 0;
    uint32_t clearing_mask = 0;
    uint64_t cycles = 0;
    uint64_t bus_timeout = 1000;
    uint32_t faults = 0;
    uint32_t gap_permille = 0;
    uint32_t ready_low_permille = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ull;

    // Response left behind by a timed-out AXI-Lite access, maybe (flush_bus()).
    bool bus_dirty = false;

    // One clock cycle: the previous cycle's edge, then this cycle's inputs (already set)
    // settled; sample the outputs after it (see the top of this file).
    void step() {
        top->clk = 1;
        top->eval();
        top->clk = 0;
        top->eval();
        ++cycles;
    }
    // True with probability permille / 1000 (xorshift64).
    bool chance(uint32_t permille) {
        if (permille == 0) return false;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng % 1000 < permille;
    }
    // Take a response an earlier access left behind (it timed out, e.g. under
    // TG_FAULT_BUS_STALL). A completed access leaves none: nothing to do, no cycle spent.
    void flush_bus() {
        if (!bus_dirty || (faults & TG_FAULT_BUS_STALL)) return;
        idle_inputs();
        top->s_axi_bready = 1;
        top->s_axi_rready = 1;
        for (int i = 0; i < 8; ++i) {
            step();
            if (!top->s_axi_bvalid && !top->s_axi_rvalid) break;
        }
        bus_dirty = false;
    }
    void idle_inputs() {
        for (Stream &p : ports) *p.tvalid = 0;
        top->m_axis_tready = 0;
        top->s_axi_awvalid = 0;
        top->s_axi_wvalid = 0;
        top->s_axi_arvalid = 0;
        top->s_axi_bready = 0;
        top->s_axi_rready = 0;
    }
};

extern "C" {

int tg_abi_version(void) { return TG_ABI_VERSION; }

tg_board *tg_create(uint32_t tick_bytes, uint32_t order_bytes, uint32_t output_bytes,
                    uint32_t max_records, uint32_t status_offset, uint32_t clearing_mask,
                    char *err, size_t errlen) {
    auto fail = [&](const char *msg) -> tg_board * {
        if (err && errlen) std::snprintf(err, errlen, "%s", msg);
        return nullptr;
    };
    try {
        auto b = std::make_unique<tg_board>();
        b->ctx = std::make_unique<VerilatedContext>();
        b->ctx->fatalOnError(false);
        b->top = std::make_unique<Vtickgate_top>(b->ctx.get(), "tickgate_top");
        Vtickgate_top &t = *b->top;
        if (sizeof(t.s_axis_tick_tdata) != tick_bytes)
            return fail("tick record size differs from s_axis_tick_tdata's width");
        if (sizeof(t.s_axis_order_tdata) != order_bytes)
            return fail("order record size differs from s_axis_order_tdata's width");
        if (sizeof(t.m_axis_tdata) != output_bytes)
            return fail("output record size differs from m_axis_tdata's width");
        if (max_records == 0) return fail("max_records must be at least 1");
        b->ports[TG_PORT_TICK] = {t.s_axis_tick_tdata.data(), &t.s_axis_tick_tvalid,
                                  &t.s_axis_tick_tlast, &t.s_axis_tick_tready, tick_bytes};
        b->ports[TG_PORT_ORDER] = {t.s_axis_order_tdata.data(), &t.s_axis_order_tvalid,
                                   &t.s_axis_order_tlast, &t.s_axis_order_tready, order_bytes};
        b->output_bytes = output_bytes;
        b->max_records = max_records;
        b->status_offset = status_offset;
        b->clearing_mask = clearing_mask;
        t.s_axi_wstrb = 0xF;
        t.s_axi_awprot = 0;
        t.s_axi_arprot = 0;
        t.clk = 0;
        t.rst = 1;
        b->idle_inputs();
        t.eval();
        return b.release();
    } catch (const std::exception &e) {
        return fail(e.what());
    } catch (...) {
        return fail("unknown C++ exception while creating the model");
    }
}

void tg_destroy(tg_board *b) {
    if (!b) return;
    b->top->final();
    delete b;
}

uint64_t tg_cycles(const tg_board *b) { return b->cycles; }

void tg_set_bus_timeout(tg_board *b, uint64_t cycles) { b->bus_timeout = cycles; }

void tg_set_faults(tg_board *b, uint32_t faults) { b->faults = faults; }

void tg_set_stalls(tg_board *b, uint32_t gap_permille, uint32_t ready_low_permille,
                   uint64_t seed) {
    b->gap_permille = gap_permille > 1000 ? 1000 : gap_permille;
    b->ready_low_permille = ready_low_permille > 1000 ? 1000 : ready_low_permille;
    b->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

void tg_idle(tg_board *b, uint64_t n) {
    b->idle_inputs();
    for (uint64_t i = 0; i < n; ++i) b->step();
}

uint64_t tg_drain(tg_board *b, uint32_t quiet_cycles, uint64_t max_cycles) {
    Vtickgate_top &t = *b->top;
    b->idle_inputs();
    t.m_axis_tready = 1;
    uint64_t dropped = 0;
    uint32_t quiet = 0;
    const uint64_t start = b->cycles;
    while (quiet < quiet_cycles && b->cycles - start < max_cycles) {
        b->step();
        if (t.m_axis_tvalid) {
            ++dropped;
            quiet = 0;
        } else {
            ++quiet;
        }
    }
    b->idle_inputs();
    return dropped;
}

int tg_axil_read(tg_board *b, uint32_t addr, uint32_t *data) {
    Vtickgate_top &t = *b->top;
    b->flush_bus();
    b->idle_inputs();
    t.s_axi_araddr = addr;
    t.s_axi_arvalid = 1;
    t.s_axi_rready = (b->faults & TG_FAULT_BUS_STALL) ? 0 : 1;
    const uint64_t start = b->cycles;
    while (b->cycles - start < b->bus_timeout) {
        b->step();
        const bool ar_fire = t.s_axi_arvalid && t.s_axi_arready;
        const bool r_fire = t.s_axi_rvalid && t.s_axi_rready;
        const uint32_t rdata = t.s_axi_rdata;
        const int resp = t.s_axi_rresp;
        if (ar_fire) t.s_axi_arvalid = 0;
        if (r_fire) {
            t.s_axi_rready = 0;
            if (data) *data = rdata;
            return resp;
        }
    }
    b->idle_inputs();
    b->bus_dirty = true;
    return TG_BUS_TIMEOUT;
}

int tg_axil_write(tg_board *b, uint32_t addr, uint32_t data) {
    Vtickgate_top &t = *b->top;
    b->flush_bus();
    b->idle_inputs();
    t.s_axi_awaddr = addr;
    t.s_axi_awvalid = 1;
    t.s_axi_wdata = data;
    t.s_axi_wstrb = 0xF;
    t.s_axi_wvalid = 1;
    t.s_axi_bready = (b->faults & TG_FAULT_BUS_STALL) ? 0 : 1;
    const uint64_t start = b->cycles;
    while (b->cycles - start < b->bus_timeout) {
        b->step();
        const bool aw_fire = t.s_axi_awvalid && t.s_axi_awready;
        const bool w_fire = t.s_axi_wvalid && t.s_axi_wready;
        const bool b_fire = t.s_axi_bvalid && t.s_axi_bready;
        const int resp = t.s_axi_bresp;
        if (aw_fire) t.s_axi_awvalid = 0;
        if (w_fire) t.s_axi_wvalid = 0;
        if (b_fire) {
            t.s_axi_bready = 0;
            return resp;
        }
    }
    b->idle_inputs();
    b->bus_dirty = true;
    return TG_BUS_TIMEOUT;
}

int tg_reset(tg_board *b, uint32_t hold_cycles, uint64_t max_cycles) {
    Vtickgate_top &t = *b->top;
    b->idle_inputs();
    t.rst = 1;
    for (uint32_t i = 0; i < (hold_cycles ? hold_cycles : 1); ++i) b->step();
    t.rst = 0;
    const uint64_t start = b->cycles;
    const uint32_t faults = b->faults;
    b->faults = 0;  // the reset's own status polls are never faulted
    int status = TG_TIMEOUT;
    while (b->cycles - start < max_cycles) {
        uint32_t word = 0;
        const int resp = tg_axil_read(b, b->status_offset, &word);
        if (resp != 0) {
            status = TG_BUS_ERROR;
            break;
        }
        if (!(word & b->clearing_mask)) {
            status = TG_OK;
            break;
        }
    }
    b->faults = faults;
    return status;
}

int tg_transfer(tg_board *b, int port, const uint8_t *in, uint32_t n_records, uint8_t *out,
                uint32_t out_capacity, uint32_t *n_out, uint64_t max_cycles) {
    if (n_out) *n_out = 0;
    if (port != TG_PORT_TICK && port != TG_PORT_ORDER) return TG_BAD_PORT;
    if (n_records == 0 || n_records > b->max_records) return TG_BAD_COUNT;
    Vtickgate_top &t = *b->top;
    Stream &p = b->ports[port];
    b->idle_inputs();
    const uint32_t in_bytes = p.bytes;
    const uint32_t out_bytes = b->output_bytes;
    const uint32_t *m_tdata = t.m_axis_tdata.data();
    const bool out_stall = b->faults & TG_FAULT_OUT_STALL;
    const bool drop_tlast = b->faults & TG_FAULT_DROP_TLAST;
    const bool early_tlast = b->faults & TG_FAULT_EARLY_TLAST;
    const bool random_gaps = b->gap_permille != 0;
    const bool random_ready = b->ready_low_permille != 0;

    uint32_t sent = 0, got = 0;
    bool out_done = false;
    bool loaded = false;  // tdata holds record `sent`
    int status = TG_OK;
    const uint64_t start = b->cycles;
    while (sent < n_records || !out_done) {
        if (b->cycles - start >= max_cycles) {
            status = TG_TIMEOUT;
            break;
        }
        // MM2S: offer record `sent` (unless a random gap withholds it this cycle).
        bool offer = sent < n_records && !(random_gaps && b->chance(b->gap_permille));
        if (offer && !loaded) {
            std::memcpy(p.tdata, in + size_t(sent) * in_bytes, in_bytes);
            const bool last = sent + 1 == n_records;
            *p.tlast = (last && !drop_tlast) || (early_tlast && sent == 0);
            loaded = true;
        }
        *p.tvalid = offer;
        // S2MM: ready while its buffer has room and it has not seen tlast.
        const bool ready = !out_done && !out_stall && got < out_capacity &&
                           !(random_ready && b->chance(b->ready_low_permille));
        t.m_axis_tready = ready;
        b->step();
        const bool in_fire = offer && *p.tready;
        if (!out_done && got == out_capacity && t.m_axis_tvalid) {
            status = TG_OVERFLOW;
            break;
        }
        if (ready && t.m_axis_tvalid) {
            std::memcpy(out + size_t(got) * out_bytes, m_tdata, out_bytes);
            ++got;
            if (t.m_axis_tlast) out_done = true;
        }
        if (in_fire) {
            ++sent;
            loaded = false;
        }
    }
    b->idle_inputs();
    if (n_out) *n_out = got;
    return status;
}

}  // extern "C"
