"""Reading an evidence bundle someone handed over, without trusting it: names that could escape a folder
(absolute, ``..``, backslashes, drive letters), links, encrypted or duplicate members, and members or totals too big
(a zip bomb) are refused before anything is used; members are read into memory with a hard size cap, whatever the
zip's headers claim."""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from consentkit.errors import InputError, SourceLocation

MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")


def _refuse(path: Path, message: str) -> InputError:
    return InputError(f"not a safe evidence bundle: {message}", location=SourceLocation(path))


def check_name(path: Path, name: str) -> None:
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\\" in name or "\0" in name:
        raise _refuse(path, f"member {name!r} has an absolute or non-portable path")
    if any(p in ("..", ".") for p in name.split("/")) or not parts:
        raise _refuse(path, f"member {name!r} would escape the bundle folder")
    if not _NAME.fullmatch(name) or "//" in name:
        raise _refuse(path, f"member {name!r} has a name a bundle never uses")


def read_bundle(path: Path) -> dict[str, bytes]:
    """Every file member of the zip at ``path``, by name; :class:`InputError` (exit 3) for anything unsafe."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as exc:
        raise InputError("no such file", location=SourceLocation(path)) from exc
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"not a zip file ({exc})", location=SourceLocation(path)) from exc
    files: dict[str, bytes] = {}
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _refuse(path, f"{len(infos)} members (at most {MAX_MEMBERS})")
        for info in infos:
            name = info.filename
            if name.endswith("/"):
                check_name(path, name.rstrip("/"))
                continue
            check_name(path, name)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _refuse(path, f"member {name!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise _refuse(path, f"member {name!r} is encrypted")
            if name in files:
                raise _refuse(path, f"member {name!r} appears twice")
            if info.file_size > MAX_MEMBER_BYTES:
                raise _refuse(path, f"member {name!r} is {info.file_size} bytes (at most {MAX_MEMBER_BYTES})")
            try:
                with zf.open(info) as fh:
                    data = fh.read(MAX_MEMBER_BYTES + 1)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
                raise _refuse(path, f"member {name!r} cannot be read ({exc})") from exc
            if len(data) > MAX_MEMBER_BYTES:
                raise _refuse(path, f"member {name!r} unpacks to more than {MAX_MEMBER_BYTES} bytes")
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                raise _refuse(path, f"the members unpack to more than {MAX_TOTAL_BYTES} bytes")
            files[name] = data
    return files
