"""Bitstream manifests: what an image is, what built it, and the checksum of every file.

A built image lives in ``bitstreams/<board>-<version>-<shortcommit>[-dirty]/`` (see
:func:`image_folder_name`) with its ``manifest.json``::

    {
      "format": 1,
      "board": "pynq-z2", "part": "xc7z020clg400-1", "platform": null,
      "tickgate_version": "0.1.0",
      "commit": "a0e6703...", "dirty": false,
      "regmap": {"file": "regmap.json", "ident": 1414482772, "version": 65536,
                 "hash": 2261503961},
      "built": "2025-01-31T12:00:00Z",
      "tools": {"python": "3.11.2", "vivado": "Vivado v2022.2 (64-bit)", ...},
      "files": {"tickgate.bit": {"sha256": "...", "bytes": 4045676}, ...},
      "extra": {...}      # board facts: clock, addresses, timing summary
    }

The register-map words are the ones the card answers at offsets 0, 4 and 8 (``id``,
``version``, ``map_hash``), so a host can tell from the manifest alone whether an image
matches its ``regmap.json`` before loading it.

API: :func:`write_manifest` (the build), :func:`load_manifest` and :func:`verify_manifest`
(``tickgate flash``: refuse an image with a missing or altered file), and
:meth:`Manifest.check_board` (refuse an image built for another board). Every failure is a
:class:`ManifestError` whose message names the file or the field.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_FILE", "FORMAT", "Manifest", "ManifestError", "write_manifest",
           "load_manifest", "verify_manifest", "image_folder_name", "git_state",
           "tickgate_version", "sha256_file"]

MANIFEST_FILE = "manifest.json"
FORMAT = 1
_REPO = Path(__file__).resolve().parents[1]


class ManifestError(Exception):
    """A manifest is missing or malformed, or its image does not match it."""


@dataclass(frozen=True)
class Manifest:
    """A loaded ``manifest.json`` (see the module docstring)."""

    board: str
    tickgate_version: str
    commit: str
    regmap_ident: int
    regmap_version: int
    regmap_hash: int
    #: File name (relative to the manifest's folder) -> ``{"sha256": str, "bytes": int}``.
    files: dict[str, dict[str, Any]]
    #: The ``manifest.json`` this was read from.
    path: Path
    dirty: bool = False
    part: str | None = None
    platform: str | None = None
    built: str = ""
    regmap_file: str = "regmap.json"
    tools: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder of the image."""
        return self.path.parent

    @property
    def regmap_path(self) -> Path:
        """The image's ``regmap.json``."""
        return self.folder / self.regmap_file

    def file(self, name: str) -> Path:
        """Return the path of the image's file ``name``; ``ManifestError`` if not listed."""
        if name not in self.files:
            raise ManifestError(f"{self.path}: no file {name!r} in the manifest "
                                f"(it lists {', '.join(sorted(self.files))})")
        return self.folder / name

    def check_board(self, board: str) -> None:
        """Raise :class:`ManifestError` unless the image was built for ``board``."""
        if board != self.board:
            raise ManifestError(f"{self.folder} is an image for {self.board}, not {board}")


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tickgate_version() -> str:
    """Return the installed tickgate version (``0+unknown`` outside an install)."""
    try:
        return metadata.version("tickgate")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def git_state(repo: Path = _REPO) -> tuple[str, bool]:
    """Return ``(commit, dirty)`` of the source tree; ``("unknown", True)`` outside git.

    Dirty means tracked files differ from the commit (untracked files do not count).
    """
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", True
    return commit, bool(status.strip())


def image_folder_name(board: str, version: str, commit: str, dirty: bool) -> str:
    """Return ``<board>-<version>-<shortcommit>``, ``-dirty`` appended for a dirty tree."""
    return f"{board}-{version}-{commit[:7]}" + ("-dirty" if dirty else "")


def _read_regmap(path: Path) -> dict[str, int]:
    try:
        data = json.loads(path.read_text())
        return {"ident": int(data["ident"]), "version": int(data["version"]),
                "hash": int(data["hash"])}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"{path}: not a register map ({exc})") from exc


def _place(folder: Path, source: Path) -> Path:
    """Return ``source`` inside ``folder``, copying it there if it is elsewhere."""
    source = Path(source)
    if not source.is_file():
        raise ManifestError(f"{source}: no such file to put in the manifest")
    if source.resolve().parent == folder.resolve():
        return source
    target = folder / source.name
    shutil.copyfile(source, target)
    return target


def write_manifest(folder: Path, *, board: str, files: list[Path], regmap: Path,
                   extra: dict | None = None) -> Path:
    """Write ``folder/manifest.json`` for an image; return its path.

    ``files`` (the image) and ``regmap`` (its ``regmap.json``) are copied into ``folder``
    when they are elsewhere; the manifest lists each by name with its size and SHA-256.
    ``extra`` is kept under ``"extra"``, except its keys ``part``, ``platform`` and ``tools``,
    which fill those fields (else ``part``/``platform`` come from the board table).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    extra = dict(extra or {})
    placed = [_place(folder, Path(f)) for f in files]
    regmap_placed = _place(folder, Path(regmap))
    names = [p.name for p in placed]
    if len(set(names)) != len(names):
        raise ManifestError(f"two image files share a name: {names}")
    if regmap_placed.name not in names:
        placed.append(regmap_placed)
    words = _read_regmap(regmap_placed)
    commit, dirty = git_state()
    try:
        from .boards import get_board
        spec = get_board(board)
        part, plat = spec.part, spec.platform
    except KeyError:
        part, plat = None, None
    tools = {"python": platform.python_version(), **extra.pop("tools", {})}
    data = {
        "format": FORMAT,
        "board": board,
        "part": extra.pop("part", part),
        "platform": extra.pop("platform", plat),
        "tickgate_version": tickgate_version(),
        "commit": commit,
        "dirty": dirty,
        "regmap": {"file": regmap_placed.name, **words},
        "built": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tools": tools,
        "files": {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                  for p in sorted(placed, key=lambda p: p.name)},
        "extra": extra,
    }
    path = folder / MANIFEST_FILE
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def load_manifest(folder_or_file: Path) -> Manifest:
    """Read a manifest from its file or its image folder; :class:`ManifestError` if unusable."""
    path = Path(folder_or_file)
    if path.is_dir():
        path = path / MANIFEST_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest (not a built image?)") from None
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: unreadable manifest ({exc})") from exc
    try:
        if data.get("format") != FORMAT:
            raise ManifestError(f"{path}: manifest format {data.get('format')!r}, "
                                f"this tickgate reads {FORMAT}")
        regmap = data["regmap"]
        files = {str(name): {"sha256": str(info["sha256"]), "bytes": int(info["bytes"])}
                 for name, info in data["files"].items()}
        return Manifest(
            board=str(data["board"]), tickgate_version=str(data["tickgate_version"]),
            commit=str(data["commit"]), regmap_ident=int(regmap["ident"]),
            regmap_version=int(regmap["version"]), regmap_hash=int(regmap["hash"]),
            files=files, path=path, dirty=bool(data.get("dirty", False)),
            part=data.get("part"), platform=data.get("platform"),
            built=str(data.get("built", "")), regmap_file=str(regmap.get("file",
                                                                          "regmap.json")),
            tools=dict(data.get("tools", {})), extra=dict(data.get("extra", {})))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ManifestError(f"{path}: malformed manifest (field {exc})") from exc


def verify_manifest(manifest: Manifest) -> None:
    """Raise :class:`ManifestError` if a listed file is missing or differs from its entry."""
    for name, entry in sorted(manifest.files.items()):
        path = manifest.folder / name
        if not path.is_file():
            raise ManifestError(f"{path}: missing (listed in {manifest.path})")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise ManifestError(f"{path}: {size} bytes, the manifest says {entry['bytes']}: "
                                "the file was changed after the build")
        digest = sha256_file(path)
        if digest != entry["sha256"]:
            raise ManifestError(f"{path}: sha256 {digest[:16]}..., the manifest says "
                                f"{entry['sha256'][:16]}...: the file was changed after "
                                "the build")
    if manifest.regmap_file not in manifest.files:
        raise ManifestError(f"{manifest.path}: its register map {manifest.regmap_file} is "
                            "not among its files")
    words = _read_regmap(manifest.regmap_path)
    recorded = {"ident": manifest.regmap_ident, "version": manifest.regmap_version,
                "hash": manifest.regmap_hash}
    if words != recorded:
        raise ManifestError(f"{manifest.regmap_path}: ident/version/hash {words} differ "
                            f"from the manifest's {recorded}")
