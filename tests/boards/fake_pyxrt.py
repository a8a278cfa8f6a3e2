"""A fake ``pyxrt``: an Alveo card whose ``tickgate`` kernel is a model board.

:class:`FakeXrt` builds a module (:attr:`FakeXrt.module`) with the calls of XRT's binding the
Alveo board uses (:mod:`tickgate.drivers.xrt_api`), for tests to put in ``sys.modules["pyxrt"]``:

* **device / xclbin**: ``pyxrt.xclbin(path)`` reads an image :func:`write_xclbin` wrote (a
  magic word and JSON: uuid, kernels and their compute units); ``device.load_xclbin``
  "programs" the card, a fresh :class:`~tickgate.drivers.model_board.ModelBoard` from
  ``make_card``, unless the card already holds that UUID (as XRT leaves it).
* **registers**: ``kernel.read_register``/``write_register`` (XRT 2.14's binding; the unit
  must be opened exclusive) or ``pyxrt.ip`` (``register_api="ip"``), or neither
  (``"none"``: XRT 2.15+). They reach ``ModelBoard.read32/write32``; an access the card would
  answer with an AXI error counts in :attr:`FakeXrt.bus_faults` (the shell's firewall trips)
  and raises ``RuntimeError``: the driver must never cause one.
* **buffers**: ``pyxrt.bo`` has a host copy (``write``/``read``/``map``) and a device copy
  (what the movers see); only ``sync`` moves bytes between them, so a forgotten or short
  sync gives the card, or the host, stale bytes.
* **runs**: ``pyxrt.run(kernel)``, ``set_arg``, ``start``, ``wait(ms)``, ``state()``, and
  ``kernel(*args)``. Starting ``tg_mm2s`` on ``mm2s_tick_1``/``mm2s_order_1`` reads ``count``
  records from the device copy of its buffer, hands them to ``ModelBoard.transfer(port,
  ...)`` and puts the output records in the ``m_axis`` stream; a started ``tg_s2mm`` takes
  ``count`` records from the stream into the device copy of its buffer. A mover ends
  (``COMPLETED``) when the stream has taken all its records, so output with no s2mm started
  waits, as in hardware. ``wait`` never sleeps: on a run that has not ended it returns
  ``ERT_CMD_STATE_TIMEOUT`` at once. A running run's state is the integer 3 (the binding's
  enum has no ``RUNNING``). There is no ``run.abort``.

Every start, sync and load is logged in :attr:`FakeXrt.log`. Faults (:class:`Faults`): a
batch whose output stalls past the driver's timeout (then resumes at the next wait or start,
or never), an s2mm run ending in ``ERROR``, a card sending one record more than it was
given, a wrong ID register.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from tickgate.drivers.board import BoardBusError
from tickgate.drivers.model_board import ModelBoard
from tickgate.gateware.records import ORDER_DTYPE, OUTPUT_BYTES, TICK_DTYPE

__all__ = ["FakeXrt", "Faults", "write_xclbin", "XCLBIN_MAGIC", "UNITS"]

XCLBIN_MAGIC = b"xclbin2\0"
#: Kernels and compute units of the tickgate image (tickgate.hw.alveo.COMPUTE_UNITS).
UNITS = {"tickgate": ["tickgate_1"], "tg_mm2s": ["mm2s_tick_1", "mm2s_order_1"],
         "tg_s2mm": ["s2mm_1"]}
#: The port each mm2s unit feeds.
MOVER_PORTS = {"mm2s_tick_1": "tick", "mm2s_order_1": "order"}
DTYPES = {"tick": TICK_DTYPE, "order": ORDER_DTYPE}
RUNNING = 3
#: Bytes of the card kernel's register window.
WINDOW = 1 << 12


class ert_cmd_state(enum.IntEnum):  # noqa: N801 - pyxrt's names
    """The binding's enum: no RUNNING member."""

    ERT_CMD_STATE_NEW = 1
    ERT_CMD_STATE_QUEUED = 2
    ERT_CMD_STATE_COMPLETED = 4
    ERT_CMD_STATE_ERROR = 5
    ERT_CMD_STATE_ABORT = 6
    ERT_CMD_STATE_SUBMITTED = 7
    ERT_CMD_STATE_TIMEOUT = 8
    ERT_CMD_STATE_NORESPONSE = 9
    ERT_CMD_STATE_SKERROR = 10
    ERT_CMD_STATE_SKCRASHED = 11


class xclBOSyncDirection(enum.IntEnum):  # noqa: N801 - pyxrt's names
    XCL_BO_SYNC_BO_TO_DEVICE = 0
    XCL_BO_SYNC_BO_FROM_DEVICE = 1


class cu_access_mode(enum.IntEnum):  # noqa: N801 - pyxrt's names
    exclusive = 0
    shared = 1
    none = 2


_ACCESS = cu_access_mode


class bo_flags(enum.IntEnum):  # noqa: N801 - pyxrt's names
    normal = 0
    cacheable = 1
    device_only = 2
    host_only = 3
    p2p = 4
    svm = 5


@dataclass
class Faults:
    """Switches the tests turn on; counts go down with each batch they hit (0: off)."""

    #: The next N batches stall: the card takes the records but holds their output until the
    #: next ``wait`` or ``start`` after a ``wait`` timed out on them (never, with ``stuck``).
    hang: int = 0
    stuck: bool = False
    #: The next N s2mm runs end in ERT_CMD_STATE_ERROR (nothing written).
    error: int = 0
    #: The next N batches: the card sends one record more than it was given (the extra one
    #: is lost in the fabric; ``records_out`` counts it).
    extra: int = 0
    #: The card's ``id`` register reads this instead (None: the model's).
    wrong_id: int | None = None


def write_xclbin(path: str | Path, *, uuid: str = "7d6b0000-0000-4000-8000-00000000cafe",
                 units: dict[str, list[str]] | None = None) -> Path:
    """Write a fake image: :data:`XCLBIN_MAGIC` and JSON naming the uuid and the units."""
    path = Path(path)
    body = json.dumps({"uuid": uuid, "kernels": units if units is not None else UNITS})
    path.write_bytes(XCLBIN_MAGIC + body.encode())
    return path


class FakeXrt:
    """One host with ``devices`` Alveo cards sharing one card model (see the module doc)."""

    def __init__(self, make_card: Callable[[], ModelBoard], *, devices: int = 1,
                 register_api: str = "kernel") -> None:
        self.make_card = make_card
        self.devices = devices
        self.register_api = register_api
        self.faults = Faults()
        #: Events in order: ("load", path), ("start", cu, count), ("sync", bo, direction,
        #: bytes, offset), ("wait", cu, ms).
        self.log: list[tuple] = []
        #: (port, records) of each batch the card received.
        self.transfers: list[tuple[str, int]] = []
        self.loads: list[str] = []
        #: Times the card was programmed (a load of another UUID).
        self.programs = 0
        self.allocations = 0
        self.bus_faults = 0
        self.card: ModelBoard | None = None
        self.loaded: dict[str, Any] | None = None
        self.extra_records = 0
        self.fifo: list[list[Any]] = []         # [mover run or None, output records]
        self.held: list[list[Any]] = []         # stalled batches
        self.release_held = False
        self.s2mm: list[list[Any]] = []         # [run, records taken]
        self.module = _build_module(self)

    # -------------------------------------------------------------- card
    def load(self, path: str, image: dict[str, Any]) -> None:
        self.log.append(("load", path))
        self.loads.append(path)
        if self.loaded is not None and self.loaded["uuid"] == image["uuid"]:
            return
        self.card = self.make_card()
        self.card.open()
        self.loaded = image
        self.programs += 1
        self.fifo, self.held, self.s2mm = [], [], []

    def reg_read(self, offset: int) -> int:
        self._check_window(offset)
        card = self.card
        assert card is not None
        try:
            if offset == card.info.offset("id") and self.faults.wrong_id is not None:
                return self.faults.wrong_id
            value = card.read32(offset)
        except BoardBusError as exc:
            self.bus_faults += 1
            raise RuntimeError(f"fake XRT: AXI error on the card's register file, the "
                               f"firewall tripped ({exc})") from None
        if offset == card.info.offset("records_out"):
            value = (value + self.extra_records) & 0xFFFF_FFFF
        return value

    def reg_write(self, offset: int, value: int) -> None:
        self._check_window(offset)
        assert self.card is not None
        if not 0 <= value < 1 << 32:
            raise TypeError(f"fake XRT: write_register takes a uint32, not {value}")
        try:
            self.card.write32(offset, value)
        except BoardBusError as exc:
            self.bus_faults += 1
            raise RuntimeError(f"fake XRT: AXI error on the card's register file, the "
                               f"firewall tripped ({exc})") from None

    @staticmethod
    def _check_window(offset: int) -> None:
        if not 0 <= offset < WINDOW:
            raise RuntimeError(f"fake XRT: offset {offset:#x} outside the IP's address range")

    # -------------------------------------------------------------- movers
    def start(self, run: Any) -> None:
        self._poll()
        cu, count = run.kernel.cu, run.args.get(2)
        if 0 not in run.args or count is None:
            raise RuntimeError(f"fake XRT: {cu} started without its buffer or count")
        self.log.append(("start", cu, count))
        run.status = RUNNING
        if cu == "s2mm_1":
            if count * OUTPUT_BYTES > run.args[0].nbytes:
                raise RuntimeError("fake XRT: s2mm count overflows its buffer")
            self.s2mm.append([run, 0])
        else:
            port = MOVER_PORTS[cu]
            dtype = DTYPES[port]
            data = bytes(run.args[0].device[:count * dtype.itemsize])
            records = np.frombuffer(data, dtype).copy()
            assert self.card is not None
            self.transfers.append((port, count))
            out = self.card.transfer(port, records)
            if self.faults.extra:
                self.faults.extra -= 1
                self.extra_records += 1
            if self.faults.hang:
                self.faults.hang -= 1
                self.held.append([run, out])
            else:
                self.fifo.append([run, out])
        self._deliver()

    def wait(self, run: Any, ms: int) -> Any:
        self.log.append(("wait", run.kernel.cu, ms))
        self._poll()
        if run.status == RUNNING:
            if self.held and not self.faults.stuck:
                self.release_held = True            # the stall ends after this timeout
            return ert_cmd_state.ERT_CMD_STATE_TIMEOUT
        return ert_cmd_state(run.status)

    def _poll(self) -> None:
        if self.release_held:
            self.release_held = False
            self.fifo.extend(self.held)
            self.held = []
            self._deliver()

    def _deliver(self) -> None:
        """Move output records from the stream into started s2mm runs, in order."""
        while self.s2mm and self.fifo:
            entry, chunk = self.s2mm[0], self.fifo[0]
            run, taken = entry
            count = run.args[2]
            k = min(count - taken, len(chunk[1]))
            data = chunk[1][:k].tobytes()
            run.args[0].device[taken * OUTPUT_BYTES:(taken + k) * OUTPUT_BYTES] = data
            entry[1] = taken = taken + k
            chunk[1] = chunk[1][k:]
            if not len(chunk[1]):
                self.fifo.pop(0)
                if chunk[0] is not None:
                    chunk[0].status = ert_cmd_state.ERT_CMD_STATE_COMPLETED
            if taken == count:
                self.s2mm.pop(0)
                if self.faults.error:
                    self.faults.error -= 1
                    run.status = ert_cmd_state.ERT_CMD_STATE_ERROR
                else:
                    run.status = ert_cmd_state.ERT_CMD_STATE_COMPLETED


def _build_module(xrt: FakeXrt) -> ModuleType:
    """The fake ``pyxrt`` module, its classes bound to ``xrt``."""

    class uuid:  # noqa: N801
        def __init__(self, text: str) -> None:
            self.text = text

        def to_string(self) -> str:
            return self.text

        def __eq__(self, other: object) -> bool:
            return isinstance(other, uuid) and other.text == self.text

        def __hash__(self) -> int:
            return hash(self.text)

    class _named:
        def __init__(self, name: str) -> None:
            self.name = name

        def get_name(self) -> str:
            return self.name

    class xclbin:  # noqa: N801
        def __init__(self, path: str) -> None:
            data = Path(path).read_bytes()
            if not data.startswith(XCLBIN_MAGIC):
                raise RuntimeError(f"fake XRT: {path} is not an xclbin (bad magic)")
            self.path = path
            self.image = json.loads(data[len(XCLBIN_MAGIC):])

        def get_uuid(self) -> uuid:
            return uuid(self.image["uuid"])

        def get_kernels(self) -> list[_named]:
            return [_named(k) for k in self.image["kernels"]]

    class device:  # noqa: N801
        def __init__(self, index: int = 0) -> None:
            if not 0 <= index < xrt.devices:
                raise RuntimeError(f"fake XRT: no device {index} ({xrt.devices} found)")
            self.index = index

        def load_xclbin(self, image: xclbin | str) -> uuid:
            if isinstance(image, str):
                image = xclbin(image)
            xrt.load(image.path, image.image)
            return image.get_uuid()

        def get_xclbin_uuid(self) -> uuid:
            return uuid(xrt.loaded["uuid"] if xrt.loaded else "")

    def _unit(dev: Any, xid: uuid, name: str) -> tuple[str, str]:
        if not isinstance(dev, device):
            raise TypeError("fake XRT: not a device")
        if xrt.loaded is None or xid.to_string() != xrt.loaded["uuid"]:
            raise RuntimeError("fake XRT: xclbin id mismatch")
        kname, _, rest = name.partition(":")
        cu = rest.strip("{}")
        if kname not in xrt.loaded["kernels"] or cu not in xrt.loaded["kernels"][kname]:
            raise RuntimeError(f"fake XRT: no compute unit {name}")
        return kname, cu

    class kernel:  # noqa: N801
        cu_access_mode = _ACCESS
        exclusive = _ACCESS.exclusive
        shared = _ACCESS.shared

        def __init__(self, dev: Any, xid: uuid, name: str, mode: Any = _ACCESS.shared) -> None:
            self.name, self.cu = _unit(dev, xid, name)
            self.mode = mode

        def __call__(self, *args: Any) -> run:
            r = run(self)
            for i, value in enumerate(args):
                if isinstance(value, bo | int):
                    r.set_arg(i, value)
            r.start()
            return r

        def group_id(self, index: int) -> int:
            if self.name == "tickgate" or index != 0:
                raise RuntimeError(f"fake XRT: argument {index} of {self.name} is no buffer")
            return 0

    def read_register(self: Any, offset: int) -> int:
        if self.mode != cu_access_mode.exclusive:
            raise RuntimeError("fake XRT: register access needs exclusive access")
        return xrt.reg_read(offset)

    def write_register(self: Any, offset: int, value: int) -> None:
        if self.mode != cu_access_mode.exclusive:
            raise RuntimeError("fake XRT: register access needs exclusive access")
        xrt.reg_write(offset, value)

    if xrt.register_api == "kernel":
        kernel.read_register = read_register         # type: ignore[attr-defined]
        kernel.write_register = write_register       # type: ignore[attr-defined]

    class ip:  # noqa: N801
        def __init__(self, dev: Any, xid: uuid, name: str) -> None:
            self.name, self.cu = _unit(dev, xid, name)
            self.mode = cu_access_mode.exclusive

        def read_register(self, offset: int) -> int:
            return xrt.reg_read(offset)

        def write_register(self, offset: int, value: int) -> None:
            xrt.reg_write(offset, value)

    class bo:  # noqa: N801
        flags = bo_flags
        normal = bo_flags.normal

        def __init__(self, dev: Any, size: int, flags: Any, group: int) -> None:
            if not isinstance(dev, device) or group != 0:
                raise RuntimeError("fake XRT: bad buffer arguments")
            xrt.allocations += 1
            self.nbytes = size
            self.host = bytearray(size)
            self.device = bytearray(size)

        def write(self, data: Any, seek: int) -> None:
            view = memoryview(data).cast("B")
            if seek + len(view) > self.nbytes:
                raise RuntimeError("fake XRT: write past the buffer")
            self.host[seek:seek + len(view)] = view

        def read(self, size: int, skip: int) -> np.ndarray:
            if skip + size > self.nbytes:
                raise RuntimeError("fake XRT: read past the buffer")
            return np.frombuffer(bytes(self.host[skip:skip + size]), np.int8).copy()

        def sync(self, direction: Any, size: int | None = None, offset: int = 0) -> None:
            size = self.nbytes - offset if size is None else size
            xrt.log.append(("sync", self, xclBOSyncDirection(direction).name, size, offset))
            if direction == xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE:
                self.device[offset:offset + size] = self.host[offset:offset + size]
            else:
                self.host[offset:offset + size] = self.device[offset:offset + size]

        def size(self) -> int:
            return self.nbytes

        def map(self) -> memoryview:
            return memoryview(self.host)

    class run:  # noqa: N801
        def __init__(self, k: kernel) -> None:
            self.kernel = k
            self.args: dict[int, Any] = {}
            self.status: Any = ert_cmd_state.ERT_CMD_STATE_NEW

        def set_arg(self, index: int, value: Any) -> None:
            if index == 1:
                raise RuntimeError("fake XRT: argument 1 is a stream (stream_connect)")
            if self.status == RUNNING:
                raise RuntimeError("fake XRT: set_arg on a running run")
            self.args[index] = value

        def start(self) -> None:
            if self.status == RUNNING:
                raise RuntimeError("fake XRT: the run is already running")
            xrt.start(self)

        def wait(self, timeout_ms: int = 0) -> Any:
            return xrt.wait(self, timeout_ms)

        def state(self) -> Any:
            return self.status

    module = ModuleType("pyxrt")
    module.__doc__ = "fake pyxrt (tests/boards/fake_pyxrt.py)"
    module._fake = xrt                      # type: ignore[attr-defined] - for the tests
    for name, value in {"uuid": uuid, "xclbin": xclbin, "device": device, "kernel": kernel,
                        "bo": bo, "run": run, "ert_cmd_state": ert_cmd_state,
                        "xclBOSyncDirection": xclBOSyncDirection,
                        "XCL_BO_FLAGS_NONE": 0}.items():
        setattr(module, name, value)
    if xrt.register_api == "ip":
        module.ip = ip
    return module
