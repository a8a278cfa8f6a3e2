"""Keep the CPUs out of deep idle states while the daemon trades (``[daemon] cpu_latency_us``).

Linux's PM QoS interface: while a process holds ``/dev/cpu_dma_latency`` open with a 32-bit
value written to it, the cpuidle governor picks no idle state whose exit latency exceeds
that many microseconds; closing the file (or the process ending, SIGKILL included) drops
the request. With 0 the CPUs poll when idle instead of halting, which is what a tuned
``latency-performance`` profile does for a dedicated trading host.

Why it matters here: ticks come in bursts with the event loop idle in between, and a halted
CPU comes back slowly. On the CI kind of machine (a Firecracker VM, cpuidle driver
``haltpoll``: a halt is a VM exit and the host may run other work on the core) the model
board's first call after 50 ms idle took ~170-320 µs p50 against ~16-23 µs with the request
at 0 (``bench/bench_cold_call.py``, see BENCHMARKS.md). The price: idle CPUs keep spinning
(power, and a CPU no longer free for other guests), so it is off by default and asked for
explicitly. The file is root's (mode 0600): without access the daemon refuses to start with
one sentence rather than trade slower than configured.
"""

from __future__ import annotations

import os
import struct

__all__ = ["CPU_DMA_LATENCY", "CpuLatencyError", "CpuLatencyRequest"]

#: The PM QoS device (a 32-bit native integer, µs, written in binary).
CPU_DMA_LATENCY = "/dev/cpu_dma_latency"


class CpuLatencyError(RuntimeError):
    """The request could not be made (no such device, no permission)."""


class CpuLatencyRequest:
    """Holds a PM QoS CPU latency limit of ``limit_us`` µs until :meth:`release`."""

    def __init__(self, limit_us: int, path: str | None = None) -> None:
        """``path``: the PM QoS device, :data:`CPU_DMA_LATENCY` when None."""
        if not 0 <= limit_us <= 2**31 - 1:
            raise ValueError(f"a CPU latency limit is 0 .. 2**31-1 µs, not {limit_us}")
        self.limit_us = limit_us
        self.path = path = path or CPU_DMA_LATENCY
        try:
            self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as err:
            raise CpuLatencyError(
                f"cpu_latency_us = {limit_us} needs write access to {path} "
                f"({err.strerror}); run the daemon as root or set cpu_latency_us = -1."
            ) from None
        try:
            os.write(self._fd, struct.pack("=i", limit_us))
        except OSError as err:
            os.close(self._fd)
            self._fd = None
            raise CpuLatencyError(f"{path} refused the limit {limit_us} µs "
                                  f"({err.strerror}).") from None

    @property
    def held(self) -> bool:
        """Whether the limit is in force (the file still open)."""
        return self._fd is not None

    def release(self) -> None:
        """Drop the limit (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> CpuLatencyRequest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
