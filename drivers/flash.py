"""``tickgate flash --board pynq-z2|alveo-u50|alveo-u250 bitstreams/<folder>``: load a built
image onto the card.

Before anything reaches the card, the image's ``manifest.json`` (:mod:`tickgate.hw.manifest`)
must be for ``--board``, every file must have its recorded size and SHA-256, and the
``id``/``version``/``hash`` words recorded in the manifest must be those of the image's
``regmap.json``. Then the image is loaded (PYNQ: ``Overlay(..., download=True)`` of
``tickgate.bit``; Alveo: XRT's ``device.load_xclbin`` of ``tickgate.xclbin``, which leaves a
card already holding that image's UUID as it is) and the card's ``id``, ``version`` and
``map_hash`` registers are read back and compared with the register map: a card that answers
other words was not programmed with this image (:class:`~.board.BoardMismatch`).

Exit status of :func:`main`: 0 loaded and verified, 1 refused (manifest or identity), 2 the
board could not be reached (:class:`~.board.BoardError`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .board import Board, BoardError, Identity

__all__ = ["flash", "main", "FlashError", "BITFILES"]

#: The file each board kind loads, as the image names it.
BITFILES = {"pynq": "tickgate.bit", "alveo": "tickgate.xclbin"}


class FlashError(BoardError):
    """The image was refused before loading (its manifest does not match)."""


def flash(folder: str | Path, *, board: str = "pynq-z2", **options: Any) -> Identity:
    """Check the image in ``folder``, load it onto the ``board`` card, verify its identity;
    return it. ``options`` go to the board (e.g. ``device`` for PYNQ, ``device_index`` for
    Alveo, ``timeout``)."""
    from tickgate.hw.boards import get_board
    from tickgate.hw.manifest import ManifestError, load_manifest, verify_manifest

    try:
        spec = get_board(board)
    except KeyError as exc:
        raise FlashError(str(exc.args[0])) from None
    if spec.kind not in BITFILES:
        raise FlashError(f"flashing a {spec.kind} board ({board}) is not supported yet")
    try:
        manifest = load_manifest(Path(folder))
        manifest.check_board(board)
        verify_manifest(manifest)
        bitfile = manifest.file(BITFILES[spec.kind])
    except ManifestError as exc:
        raise FlashError(f"refused: {exc}") from None
    card: Board
    if spec.kind == "alveo":
        from .alveo_board import AlveoBoard
        card = AlveoBoard.create(regmap=manifest.regmap_path, bitfile=bitfile, **options)
    else:
        from .pynq_board import PynqBoard
        card = PynqBoard.create(regmap=manifest.regmap_path, bitfile=bitfile, download=True,
                                **options)
    ident = card.open()                    # loads, then BoardMismatch on other id words
    card.close()
    return ident


def main(args: Any) -> int:
    """``tickgate flash --board BOARD FOLDER``."""
    from .board import BoardMismatch

    try:
        ident = flash(args.folder, board=args.board)
    except (FlashError, BoardMismatch) as exc:
        print(f"tickgate flash: {exc}", file=sys.stderr)
        return 1
    except BoardError as exc:
        print(f"tickgate flash: {exc}", file=sys.stderr)
        return 2
    print(f"{args.board}: loaded {args.folder}; card id {ident.ident:#010x}, register map "
          f"{ident.version_text} ({ident.map_hash:#010x})")
    return 0
