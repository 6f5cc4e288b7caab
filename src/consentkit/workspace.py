"""A clinic's workspace: ``consentkit.toml``, its own ``procedures/`` and ``templates/`` layered over the built-in
ones, and the git-ignored state directory ``.consentkit/`` (database, keys, secrets)."""

from __future__ import annotations

import difflib
import json
import os
import re
import secrets
import shutil
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from consentkit.errors import ConfigError, MultiInputError, SourceLocation, WorkspaceError
from consentkit.files import write_atomically
from consentkit.resources import builtin_dir
from consentkit.spec.library import POLICY_DIR
from consentkit.spec.models import Locale, Text
from consentkit.spec.validate import clean_loc, describe
from consentkit.spec.yamlfile import MAX_FILE_BYTES, format_path

CONFIG_FILE = "consentkit.toml"
STATE_DIR = ".consentkit"
ENV_WORKSPACE = "CONSENTKIT_WORKSPACE"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ClinicConfig(_Strict):
    name: Text
    address: Text | None = None
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)]
    urgent_phone: Annotated[str, StringConstraints(min_length=3, max_length=40)]
    licence: str | None = None
    timezone: str = "Asia/Shanghai"
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")] = "cn"
    locales: list[Locale] = Field(default_factory=lambda: ["zh-CN"], min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)


def check_timezone(value: str) -> str:
    """``value`` if it names an IANA time zone, else a ValueError saying so."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)") from None
    return value


class StorageConfig(_Strict):
    database_url: str = f"sqlite:///{STATE_DIR}/audit.sqlite3"


class TimestampingConfig(_Strict):
    tsa_urls: list[str] = Field(default_factory=list, description="empty: the embedded TSA")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class TokenKeyConfig(_Strict):
    """A clinic key kept on a PKCS#11 token (docs/signing.md): a ``pkcs11:`` URI, or the module, token label and
    key label (or id, hex); the PIN only from the environment variable ``pin_env``."""

    pkcs11: str | None = None
    module: str | None = None
    token_label: str | None = None
    key_label: str | None = None
    key_id: str | None = None
    pin_env: str = "CONSENTKIT_PKCS11_PIN"


class SigningConfig(_Strict):
    profile: str = "default"
    passphrase_env: str = "CONSENTKIT_PASSPHRASE"  # noqa: S105 - the name of a variable, not a secret
    # clinic keys on a token instead of the workspace's encrypted files
    keys: dict[Literal["clinic-certify", "clinic-seal", "tsa"], TokenKeyConfig] = Field(default_factory=dict)


class ReviewConfig(_Strict):
    required_roles: list[Literal["clinical", "legal"]] | None = None


class WorkspaceConfig(_Strict):
    clinic: ClinicConfig
    storage: StorageConfig = Field(default_factory=StorageConfig)
    timestamping: TimestampingConfig = Field(default_factory=TimestampingConfig)
    signing: SigningConfig = Field(default_factory=SigningConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)


@dataclass(frozen=True)
class Workspace:
    root: Path
    config: WorkspaceConfig

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def procedures_dir(self) -> Path:
        return self.root / "procedures"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def signatures_dir(self) -> Path:
        return self.root / "signatures"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.clinic.timezone)

    def procedure_roots(self) -> tuple[Path, ...]:
        """Workspace procedures first (they override the built-ins by id), then the built-in library."""
        roots = [self.procedures_dir] if self.procedures_dir.is_dir() else []
        return (*roots, builtin_dir("procedures"))

    def template_roots(self) -> tuple[Path, ...]:
        roots = [self.templates_dir] if self.templates_dir.is_dir() else []
        return (*roots, builtin_dir("templates"))

    def signature_roots(self) -> tuple[Path, ...]:
        roots = [self.signatures_dir] if self.signatures_dir.is_dir() else []
        return (*roots, builtin_dir("signatures"))

    def database_url(self) -> str:
        """The configured URL with a relative SQLite path made absolute against the workspace root."""
        url = self.config.storage.database_url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            return "sqlite:///" + str(self.root / url.removeprefix("sqlite:///"))
        return url

    def secret(self, name: str) -> bytes:
        """A workspace secret kept in the state directory (created on first use, mode 0600)."""
        if not re.fullmatch(r"[a-z0-9-]+", name):
            raise ValueError(name)
        path = self.state_dir / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private(path, secrets.token_bytes(32))
        return path.read_bytes()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 from the first byte, atomically."""
    write_atomically(path, data, mode=0o600)


def _toml_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Best-effort line of a key path in a TOML text (tomllib keeps no positions)."""
    lines = text.splitlines()
    section = ""
    best: int | None = None
    keys = [str(p) for p in loc if isinstance(p, str)]
    for i, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        header = re.fullmatch(r"\[([^\[\]]+)\]", stripped)
        if header:
            section = header.group(1).strip()
            if keys and section == ".".join(keys[:-1]) and best is None:
                best = i
            if section == ".".join(keys):
                return i
            continue
        m = re.match(r"([A-Za-z0-9_\-\"]+)\s*=", stripped)
        if m and keys:
            key = m.group(1).strip('"')
            full = ".".join(filter(None, [section, key]))
            if full == ".".join(keys) or full == ".".join(keys[:2]):
                return i
    return best


def load_config(path: Path) -> WorkspaceConfig:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # the specs' limit; a real consentkit.toml is about 1 KB
            raise ConfigError(
                f"file is {size / 1024 / 1024:.1f} MiB, larger than the {MAX_FILE_BYTES // 1024} KiB limit; "
                "is it the right file?",
                location=SourceLocation(path),
            )
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("not UTF-8 text (save the file as UTF-8)", location=SourceLocation(path)) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", location=SourceLocation(path)) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            f"not valid TOML: {exc}", location=SourceLocation(path, int(m.group(1)) if m else None)
        ) from exc
    try:
        return WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = clean_loc(err["loc"])
            problems.append(
                ConfigError(
                    describe(err, WorkspaceConfig),
                    location=SourceLocation(path, _toml_line(text, loc), format_path(loc)),
                )
            )
        raise MultiInputError(problems) from None


def find_workspace(start: Path | None = None, explicit: Path | None = None) -> Workspace | None:
    """``explicit`` (``--workspace``), else ``$CONSENTKIT_WORKSPACE``, else walk up from ``start`` (cwd)."""
    chosen = explicit or (Path(os.environ[ENV_WORKSPACE]) if os.environ.get(ENV_WORKSPACE) else None)
    if chosen is not None:
        config = chosen / CONFIG_FILE
        if not config.is_file():
            raise WorkspaceError(
                f"{chosen} is not a consentkit workspace (no {CONFIG_FILE}); create one with: consentkit init {chosen}"
            )
        return Workspace(chosen.resolve(), load_config(config))
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return Workspace(folder, load_config(folder / CONFIG_FILE))
    return None


def require_workspace(start: Path | None = None, explicit: Path | None = None) -> Workspace:
    ws = find_workspace(start, explicit)
    if ws is None:
        raise WorkspaceError(
            f"no {CONFIG_FILE} here or in any parent folder; run 'consentkit init DIR' first, or pass --workspace DIR"
        )
    return ws


DOCS_URL = "https://github.com/consentkit/consentkit/blob/main/docs/workspace.md"

DEFAULT_CONFIG = """\
# consentkit workspace configuration: every key, its default and meaning: {docs_url}
[clinic]
name = {{ "zh-CN" = {name_cn}, "zh-TW" = {name_tw}, en = {name_en} }}
address = {{ "zh-CN" = "上海市示例路 1 号", "zh-TW" = "上海市示例路 1 號", en = "1 Example Road, Shanghai" }}
phone = "+86 21 5555 0100"
urgent_phone = "+86 21 5555 0199"   # answered day and night; printed on every red-flag list
timezone = "{timezone}"
jurisdiction = "{jurisdiction}"     # policy in procedures/policies/<jurisdiction>.yaml
locales = ["zh-CN", "en"]

[storage]
database_url = "sqlite:///.consentkit/audit.sqlite3"   # or postgresql://user@host/db

[timestamping]
tsa_urls = []          # empty: the embedded TSA in .consentkit/; or a list of RFC 3161 URLs tried in order

[signing]
profile = "default"    # signatures/<profile>.yaml, the workspace's own or the built-in one
passphrase_env = "CONSENTKIT_PASSPHRASE"
"""

GITIGNORE = f"# consentkit state: database, private keys and secrets. Never commit it.\n{STATE_DIR}/\n"
SCHEMA_DIR = "schema"


def known_jurisdictions(target: Path | None = None) -> list[str]:
    """Policy codes available to a workspace in ``target``: its own ``procedures/policies/`` and the built-ins."""
    roots = [target / "procedures"] if target is not None else []
    roots.append(builtin_dir("procedures"))
    return sorted({p.stem for root in roots for p in (root / POLICY_DIR).glob("*.yaml")})


def config_text(
    target: Path, *, jurisdiction: str = "cn", timezone: str = "Asia/Shanghai", clinic_name: str | None = None
) -> str:
    """The ``consentkit.toml`` that ``init`` writes, checked: an unknown zone or jurisdiction is a ConfigError."""
    try:
        check_timezone(timezone)
    except ValueError as exc:
        raise ConfigError(f"--timezone: {exc}") from None
    known = known_jurisdictions(target)
    if jurisdiction not in known:
        close = difflib.get_close_matches(jurisdiction, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            f"--jurisdiction: no policy '{jurisdiction}' ({hint}known: {', '.join(known)}; "
            f"a workspace adds its own as procedures/policies/<code>.yaml)"
        )
    text = DEFAULT_CONFIG.format(
        docs_url=DOCS_URL,
        name_cn=_toml_string(clinic_name or "示例医疗美容诊所"),
        name_tw=_toml_string(clinic_name or "示例醫療美容診所"),
        name_en=_toml_string(clinic_name or "Example Aesthetic Clinic"),
        timezone=timezone,
        jurisdiction=jurisdiction,
    )
    try:
        WorkspaceConfig.model_validate(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        first = exc.errors(include_url=False)[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(f"--clinic-name: cannot be used as the clinic's name ({first})") from None
    return text


def _toml_string(value: str) -> str:
    # JSON's escapes (\", \\, \n, \uXXXX) are all valid in a TOML basic string
    return json.dumps(value, ensure_ascii=False)


def init_workspace(
    target: Path,
    *,
    jurisdiction: str = "cn",
    timezone: str = "Asia/Shanghai",
    clinic_name: str | None = None,
    populate: Callable[[Workspace], None] | None = None,
) -> Workspace:
    """Create a workspace in ``target`` (which may exist but must not already be a workspace).

    Everything is checked before the first file is written, and ``consentkit.toml`` is written last. If anything
    fails, ``populate`` (e.g. creating the workspace PKI) included, every file and folder this call created is
    removed again and ``.gitignore`` is restored, so the command can simply be run again."""
    if (target / CONFIG_FILE).exists():
        raise WorkspaceError(f"{target} is already a workspace ({CONFIG_FILE} exists); nothing changed")
    if target.exists() and not target.is_dir():
        raise WorkspaceError(f"{target} exists and is not a folder")
    text = config_text(target, jurisdiction=jurisdiction, timezone=timezone, clinic_name=clinic_name)
    config = WorkspaceConfig.model_validate(tomllib.loads(text))
    with _undone_on_failure(target):
        _write_skeleton(target)
        ws = Workspace(target.resolve(), config)
        ws.secret("subject-hmac")  # pseudonymises patients in the audit log
        if populate is not None:
            populate(ws)
        write_atomically(target / CONFIG_FILE, text)
    return ws


def _write_skeleton(target: Path) -> None:
    from consentkit.spec.schema import SCHEMA_FILES, json_schema_text

    target.mkdir(parents=True, exist_ok=True)
    for sub in ("procedures", "procedures/policies", "templates", "signatures", SCHEMA_DIR):
        (target / sub).mkdir(exist_ok=True)
    state = target / STATE_DIR
    state.mkdir(exist_ok=True, mode=0o700)
    state.chmod(0o700)
    gitignore = target / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    if f"{STATE_DIR}/" not in existing.splitlines():
        gitignore.write_text(
            existing + ("\n" if existing and not existing.endswith("\n") else "") + GITIGNORE, encoding="utf-8"
        )
    for sub, note in (
        ("procedures", PROCEDURES_README),
        ("templates", "Your own templates override the built-in ones by file name.\n"),
    ):
        readme = target / sub / "README.md"
        if not readme.exists():
            readme.write_text(note, encoding="utf-8")
    # the schemas the files' modelines point to (# yaml-language-server: $schema=../schema/procedure.json); one
    # already there is kept (see schemas_kept)
    for kind, name in SCHEMA_FILES.items():
        path = target / SCHEMA_DIR / name
        if not path.exists() and not path.is_symlink():
            write_atomically(path, json_schema_text(kind))


def schemas_kept(target: Path) -> list[Path]:
    """The files in ``target/schema/`` that ``init`` keeps although they are not this version's schemas (a clinic's
    edit, another consentkit's): init never overwrites them; ``consentkit schema --all -o schema`` does."""
    from consentkit.spec.schema import SCHEMA_FILES, json_schema_text

    kept = []
    for kind, name in SCHEMA_FILES.items():
        path = target / SCHEMA_DIR / name
        try:
            same = path.read_text(encoding="utf-8") == json_schema_text(kind)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            kept.append(path)
    return kept


PROCEDURES_README = """\
Your own procedure specs (<id>.yaml) override the built-in ones by id.

Start each file with this line so that editors with a YAML language server complete and check it:

    # yaml-language-server: $schema=../schema/procedure.json

(policies/<code>.yaml: $schema=../../schema/policy.json; intake.yaml: $schema=../schema/intake.json).
The schemas in ../schema/ were written by `consentkit init`; after upgrading consentkit, refresh them with
`consentkit schema --all -o schema/`.
"""


@contextmanager
def _undone_on_failure(target: Path) -> Iterator[None]:
    """On any exception, remove every path under ``target`` that did not exist before, and restore .gitignore."""
    existed = target.exists()
    before = _init_paths(target) if existed else set()
    gitignore = target / ".gitignore"
    old_gitignore = gitignore.read_bytes() if gitignore.is_file() else None
    try:
        yield
    except BaseException:
        if not existed:
            shutil.rmtree(target, ignore_errors=True)
            raise
        for path in sorted(_init_paths(target) - before, key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if old_gitignore is not None:
            gitignore.write_bytes(old_gitignore)
        raise


def _init_paths(target: Path) -> set[Path]:
    """The paths ``init`` may add to: the top level and the folders it writes into (not, say, ``.git``)."""
    paths = set(target.iterdir())
    for sub in ("procedures", "templates", "signatures", SCHEMA_DIR, STATE_DIR):
        folder = target / sub
        if folder.is_dir() and not folder.is_symlink():
            paths.update(folder.rglob("*"))
    return paths
