"""``[daemon] cpu_latency_us``: the PM QoS CPU latency limit the daemon holds while it runs."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import pytest
from ci_policy import skip_or_fail
from daemon_helpers import FAST, run_cli, write_config

from tickgate.host.daemon import cpulatency
from tickgate.host.daemon.config import validate
from tickgate.host.daemon.cpulatency import CPU_DMA_LATENCY, CpuLatencyError, CpuLatencyRequest
from tickgate.host.daemon.daemon import Daemon, StartError


def _effective_limit() -> int:
    """The kernel's current CPU latency limit (µs), the smallest of all requests."""
    fd = os.open(CPU_DMA_LATENCY, os.O_RDONLY)
    try:
        return struct.unpack("=i", os.read(fd, 4))[0]
    finally:
        os.close(fd)


def _device_or_skip() -> None:
    if not os.access(CPU_DMA_LATENCY, os.R_OK | os.W_OK):
        skip_or_fail(f"{CPU_DMA_LATENCY} is missing or not writable (needs root)")


def test_a_request_writes_the_limit_and_release_drops_it(tmp_path: Path) -> None:
    device = tmp_path / "cpu_dma_latency"
    device.touch()
    with CpuLatencyRequest(7, str(device)) as request:
        assert request.held
        assert device.read_bytes() == struct.pack("=i", 7)
    assert not request.held
    request.release()                       # idempotent


def test_a_device_that_cannot_be_opened_is_one_clear_sentence(tmp_path: Path) -> None:
    with pytest.raises(CpuLatencyError) as info:
        CpuLatencyRequest(0, str(tmp_path / "missing"))
    text = str(info.value)
    assert text.startswith("cpu_latency_us = 0 needs write access to ")
    assert text.endswith("set cpu_latency_us = -1.") and "\n" not in text


def test_a_negative_or_oversized_limit_is_refused() -> None:
    for bad in (-1, 2**31):
        with pytest.raises(ValueError, match="CPU latency limit"):
            CpuLatencyRequest(bad, os.devnull)


def test_the_daemon_refuses_to_start_when_it_cannot_hold_the_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpulatency, "CPU_DMA_LATENCY", str(tmp_path / "no-such-device"))
    daemon = Daemon(validate({"daemon": {"cpu_latency_us": 0, "state_dir": str(tmp_path)}}))
    with pytest.raises(StartError, match="needs write access"):
        daemon._hold_cpu_latency()
    off = Daemon(validate({"daemon": {"state_dir": str(tmp_path)}}))
    off._hold_cpu_latency()                 # -1, the default: nothing asked, nothing held
    assert off._cpu_latency is None


def test_the_daemon_holds_the_limit_while_it_trades_and_drops_it_at_exit(
        tmp_path: Path) -> None:
    _device_or_skip()
    before = _effective_limit()
    assert before > 0, "another process holds the CPU latency limit at 0 already"
    config = write_config(tmp_path / "qos.toml", FAST, {"daemon": {"cpu_latency_us": 0}})
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(_effective_limit())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        result = run_cli(["run", "--config", str(config), "--duration", "2", "--speed", "20",
                          "--state-dir", str(tmp_path / "state")], timeout=60)
    finally:
        done.set()
        watcher.join()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CPU latency limit 0 us held" in result.stderr
    assert 0 in seen
    assert _effective_limit() == before
