"""The part of XRT's Python binding ``pyxrt`` the Alveo board uses, and where versions differ.

``pyxrt`` ships with XRT (``/opt/xilinx/xrt/python``, on ``PYTHONPATH`` after ``source
/opt/xilinx/xrt/setup.sh``); it is not on PyPI (the PyPI package ``xrt`` is unrelated), and
pynq 4.0 cannot drive an Alveo card (its XRT device probe finds none). Calls used, all in the
binding's source (``src/python/pybind11/src/pyxrt.cpp``) from XRT 2.12 on:

``pyxrt.device(index)``
    opens the card (``xrt::device``).
``pyxrt.xclbin(path)``, ``.get_kernels()`` / ``.get_name()``, ``device.load_xclbin(xclbin)``
    read the image, list its kernels, program the card; ``load_xclbin`` returns the image's
    ``pyxrt.uuid``, which every kernel and register port is opened with.
``pyxrt.kernel(device, uuid, "kernel:{cu}", pyxrt.kernel.cu_access_mode.exclusive)``
    one compute unit of an XRT-managed kernel (the data movers), reserved for this process.
``kernel.group_id(arg)``, ``pyxrt.bo(device, bytes, pyxrt.bo.normal, group)``
    a buffer in the memory bank the argument is connected to; ``bo.write(data, offset)`` /
    ``bo.read(bytes, offset)`` copy to and from its host copy, ``bo.sync(direction, bytes,
    offset)`` DMAs between the host copy and the card's memory
    (``pyxrt.xclBOSyncDirection.XCL_BO_SYNC_BO_TO_DEVICE`` / ``..._FROM_DEVICE``).
``pyxrt.run(kernel)``, ``run.set_arg(index, bo_or_int)``, ``run.start()``
    one execution; a stream argument is never set (``stream_connect`` wires it). A run that
    finished can be started again with new arguments.
``run.wait(timeout_ms)``, ``run.state()``
    ``wait`` returns the run's ``pyxrt.ert_cmd_state`` when it ends, or
    ``ERT_CMD_STATE_TIMEOUT`` when ``timeout_ms`` pass first (``wait(0)`` waits for ever).
    The binding's enum has no ``RUNNING`` member: states are compared as integers
    (:data:`ERT_STATES`, the values of XRT's ``ert.h``).

**Register access** differs between versions; :func:`open_register_port` takes the first of:

1. ``pyxrt.ip(device, uuid, "tickgate:{tickgate_1}")`` -- ``xrt::ip``, what the Vitis
   documentation prescribes for a user-managed kernel. XRT's own binding does not have it (not in
   its sources up to 2026; XRT issue #7863); a site binding that adds it is used as is.
2. ``pyxrt.kernel(device, uuid, name, exclusive).read_register(offset)`` /
   ``.write_register(offset, value)`` -- bound up to XRT 2.14 (deprecated in C++ by XRT
   PR #7461, dropped from the binding in 2.15). XRT needs exclusive access for register
   writes.
3. Otherwise the board cannot reach the registers: :class:`~.board.BoardError` says so.

``run.abort()`` (``xrt::run::abort``) is not bound either; :func:`abort_run` calls it only
where a binding has it. Nothing else can stop an HLS data mover that waits on a stream.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .board import BoardError

__all__ = ["PYXRT_HINT", "ERT_STATES", "import_pyxrt", "cu_name", "state_name", "is_running",
           "is_completed", "open_register_port", "abort_run"]

PYXRT_HINT = "pyxrt not found: install XRT 2.14+ and source /opt/xilinx/xrt/setup.sh"

#: ``ert_cmd_state`` (XRT ``ert.h``): value -> name.
ERT_STATES = {1: "NEW", 2: "QUEUED", 3: "RUNNING", 4: "COMPLETED", 5: "ERROR", 6: "ABORT",
              7: "SUBMITTED", 8: "TIMEOUT", 9: "NORESPONSE", 10: "SKERROR", 11: "SKCRASHED"}
#: States of a run not finished yet.
_RUNNING = {1, 2, 3, 7}
_COMPLETED = 4


def import_pyxrt() -> ModuleType:
    """Return the ``pyxrt`` module; raise :class:`~.board.BoardError` saying how to get it."""
    try:
        import pyxrt
    except ImportError as exc:
        raise BoardError(f"{PYXRT_HINT} (the PyPI package 'xrt' is another thing) "
                         f"({exc})") from None
    return pyxrt


def cu_name(kernel: str, cu: str) -> str:
    """Return XRT's name of one compute unit of a kernel: ``kernel:{cu}``."""
    return f"{kernel}:{{{cu}}}"


def state_name(state: Any) -> str:
    """Return ``ERT_CMD_STATE_<NAME>`` of a run state (an enum member or its integer)."""
    value = int(state)
    return f"ERT_CMD_STATE_{ERT_STATES.get(value, str(value))}"


def is_running(state: Any) -> bool:
    """Whether a run in this state has not finished (new, queued, submitted, running)."""
    return int(state) in _RUNNING


def is_completed(state: Any) -> bool:
    """Whether a run in this state finished well."""
    return int(state) == _COMPLETED


def open_register_port(pyxrt: ModuleType, device: Any, uuid: Any, name: str) -> tuple[Any, str]:
    """Open the AXI4-Lite window of the compute unit ``name``; return an object with
    ``read_register(offset) -> int`` and ``write_register(offset, value)``, and which binding
    call gave it (see the module docstring for the order)."""
    try:
        if hasattr(pyxrt, "ip"):
            return pyxrt.ip(device, uuid, name), "pyxrt.ip"
        kernel = pyxrt.kernel
        if hasattr(kernel, "read_register") and hasattr(kernel, "write_register"):
            return (kernel(device, uuid, name, kernel.cu_access_mode.exclusive),
                    "pyxrt.kernel (exclusive)")
    except RuntimeError as exc:
        raise BoardError(f"alveo board: XRT could not open {name} for register access: "
                         f"{exc}") from None
    raise BoardError("alveo board: this pyxrt has no register access (no pyxrt.ip, no "
                     "kernel.read_register: XRT 2.15+ dropped them from the binding, XRT issue "
                     "#7863); use XRT 2.14's pyxrt or a binding with xrt::ip")


def abort_run(run: Any) -> bool:
    """Ask XRT to abort ``run`` where the binding offers ``run.abort()``; return whether it
    did. Never raises."""
    abort = getattr(run, "abort", None)
    if abort is None:
        return False
    try:
        abort()
    except Exception:  # noqa: BLE001 - best effort on a failed transfer
        return False
    return True
