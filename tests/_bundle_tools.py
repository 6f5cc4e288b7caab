"""Reading, changing and rewriting evidence bundles in tests (a careful forger rewrites SHA256SUMS too)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
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


def blocks(verify_md: str) -> dict[int, str]:
    """Step number → its bash block (each step has at most one)."""
    found: dict[int, str] = {}
    for section in re.split(r"^## ", verify_md, flags=re.M)[1:]:
        number = re.match(r"(\d+)\.", section)
        code = re.search(r"```bash\n(.*?)```", section, re.S)
        if number and code:
            found[int(number.group(1))] = code.group(1)
    return found


def run_block(
    folder: Path, number: int, code: str, env: dict[str, str] | None = None, shell: str = "bash"
) -> subprocess.CompletedProcess[str]:
    """As a reader would: the block saved as a file and run with plain ``bash block.sh`` — no options added."""
    script = folder / f"block-{number}.sh"
    script.write_text(code, encoding="utf-8")
    return subprocess.run(
        [shell, script.name],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "STARTED"}, **(env or {})},
        timeout=120,
    )
