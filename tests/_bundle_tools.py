"""Reading, changing and rewriting evidence bundles in tests (a careful forger rewrites SHA256SUMS too)."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path


def read(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write(files: dict[str, bytes], target: Path, *, resum: bool = True) -> Path:
    files = dict(files)
    if resum:
        files["SHA256SUMS"] = "".join(
            f"{hashlib.sha256(data).hexdigest()}  {name}\n"
            for name, data in sorted(files.items())
            if name != "SHA256SUMS"
        ).encode()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return target


def flip_signed_byte(pdf: bytes) -> bytes:
    """Flip one byte inside the first signature's signed range (the page content of the packet as printed)."""
    data = bytearray(pdf)
    position = len(data) // 4
    data[position] ^= 0x01
    return bytes(data)


def event_file(files: dict[str, bytes], kind: str) -> str:
    return next(name for name in sorted(files) if name.startswith("log/events/") and name.endswith(f"-{kind}.json"))


def unpack(files: dict[str, bytes], folder: Path) -> Path:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return folder
