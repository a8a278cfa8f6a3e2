/* The simulated card's C ABI: the Verilated tickgate_top behind an AXI DMA and an
 * AXI4-Lite master, clocked entirely in C++.
 *
 * One tg_board owns one Verilated model and its own VerilatedContext; boards are not
 * thread-safe (one caller at a time), distinct boards are independent.
 *
 * Records are raw little-endian bytes (the host's numpy records); their sizes are given to
 * tg_create by the caller and checked against the Verilated port widths, so this file
 * knows no field offsets. Cycle counts are clock cycles of the card's one clock.
 *
 * Bump TG_ABI_VERSION whenever a signature or a code below changes (the Python binding
 * checks it).
 */
#ifndef TICKGATE_SIM_BOARD_H
#define TICKGATE_SIM_BOARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_ABI_VERSION 1

/* tg_transfer / tg_reset status codes. */
enum {
    TG_OK = 0,
    TG_TIMEOUT = 1,      /* max_cycles passed before MM2S sent everything and S2MM saw tlast */
    TG_OVERFLOW = 2,     /* S2MM's buffer (out_capacity records) filled before tlast */
    TG_BAD_COUNT = 3,    /* n_records is 0 or above the board's max_records */
    TG_BAD_PORT = 4,     /* port is neither TG_PORT_TICK nor TG_PORT_ORDER */
    TG_BUS_ERROR = 5     /* tg_reset: the status register answered SLVERR/DECERR */
};

/* tg_axil_read / tg_axil_write return the AXI resp (0 OKAY, 2 SLVERR, 3 DECERR) or this. */
#define TG_BUS_TIMEOUT (-1)

/* Input streams. */
enum { TG_PORT_TICK = 0, TG_PORT_ORDER = 1 };

/* Fault injection bits (tg_set_faults), to exercise the host's error paths. */
enum {
    TG_FAULT_OUT_STALL = 1,    /* S2MM holds m_axis_tready low: the card stops answering */
    TG_FAULT_DROP_TLAST = 2,   /* MM2S sends the last record without tlast */
    TG_FAULT_EARLY_TLAST = 4,  /* MM2S sets tlast on the first record too */
    TG_FAULT_BUS_STALL = 8     /* the AXI-Lite master never takes a response (bready/rready low) */
};

typedef struct tg_board tg_board;

/* Return TG_ABI_VERSION of the compiled library. */
int tg_abi_version(void);

/* Create a board (not reset yet; call tg_reset). Record sizes in bytes; max_records bounds a
 * transfer; status_offset and clearing_mask locate the risk gate's CLEARING bit. On error
 * return NULL and write a message into err (errlen bytes, NUL-terminated). */
tg_board *tg_create(uint32_t tick_bytes, uint32_t order_bytes, uint32_t output_bytes,
                    uint32_t max_records, uint32_t status_offset, uint32_t clearing_mask,
                    char *err, size_t errlen);
void tg_destroy(tg_board *b);

/* Hold rst for hold_cycles, release it, then poll status until CLEARING is clear.
 * Returns TG_OK, TG_TIMEOUT (max_cycles passed) or TG_BUS_ERROR. */
int tg_reset(tg_board *b, uint32_t hold_cycles, uint64_t max_cycles);

/* One AXI4-Lite access, every handshake cycle by cycle; give up after the bus timeout.
 * A response left over by an access that timed out is taken and dropped first. */
int tg_axil_read(tg_board *b, uint32_t addr, uint32_t *data);
int tg_axil_write(tg_board *b, uint32_t addr, uint32_t data);
/* Cycles an access may take before TG_BUS_TIMEOUT (default 1000). */
void tg_set_bus_timeout(tg_board *b, uint64_t cycles);

/* One DMA batch: MM2S streams n_records records of in (tlast on the last) to port while
 * S2MM takes output records into out until one carries tlast. n_out receives the records
 * taken. Returns TG_OK, TG_TIMEOUT, TG_OVERFLOW, TG_BAD_COUNT or TG_BAD_PORT. */
int tg_transfer(tg_board *b, int port, const uint8_t *in, uint32_t n_records, uint8_t *out,
                uint32_t out_capacity, uint32_t *n_out, uint64_t max_cycles);

/* Recover after a failed transfer (what a driver does after resetting its DMA): take and
 * discard output records, faults and stalls ignored, until m_axis has been quiet for
 * quiet_cycles cycles or max_cycles passed. Returns the records discarded. */
uint64_t tg_drain(tg_board *b, uint32_t quiet_cycles, uint64_t max_cycles);

/* Clock n idle cycles (no stream traffic, no bus access). */
void tg_idle(tg_board *b, uint64_t n);

/* Fault bits (TG_FAULT_*), 0 for none. */
void tg_set_faults(tg_board *b, uint32_t faults);
/* Random back-pressure: per cycle, MM2S withholds tvalid with probability gap_permille/1000
 * and S2MM drops tready with probability ready_low_permille/1000 (xorshift64, seed). */
void tg_set_stalls(tg_board *b, uint32_t gap_permille, uint32_t ready_low_permille,
                   uint64_t seed);

/* Clock cycles since tg_create (reset cycles included). */
uint64_t tg_cycles(const tg_board *b);

#ifdef __cplusplus
}
#endif

#endif
