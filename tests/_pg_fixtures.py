"""A real, throwaway PostgreSQL server for the audit-store tests, and the fixture that runs a test on both
databases.

The server comes from Debian's ``postgresql`` package (installed by bootstrap.sh): ``initdb`` and ``pg_ctl`` from
/usr/lib/postgresql/<major>/bin, a data directory in a private temporary folder, a Unix socket only (no TCP port).
PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the ``postgres`` user through
``runuser``. One server per test session; each test gets its own schema, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

PG_ROOT = Path("/usr/lib/postgresql")


def pg_bin() -> Path | None:
    for major in sorted(PG_ROOT.glob("*"), key=lambda p: p.name, reverse=True):
        if (major / "bin" / "initdb").is_file() and (major / "bin" / "pg_ctl").is_file():
            return major / "bin"
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and (Path(found).parent / "initdb").is_file() else None


@dataclass
class PgServer:
    folder: Path
    bin: Path
    user: str | None  # the OS user the server runs as, when we are root

    @property
    def socket_dir(self) -> Path:
        return self.folder

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self, *, durable: bool = False) -> None:
        data = self.folder / "data"
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = [f"-k {self.folder}", "-c listen_addresses=''", "-p 5433", "-c max_connections=60"]
        if not durable:  # tests: speed over crash safety (the server is thrown away)
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            " ".join(settings),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres", schema: str | None = None) -> str:
        url = f"postgresql://postgres@/{database}?host={quote(str(self.socket_dir), safe='/')}&port=5433"
        if schema:
            url += "&options=" + quote(f"-csearch_path={schema}")
        return url

    def new_schema(self) -> str:
        """A fresh, empty schema; its URL makes every table land there."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url(schema=name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_orphans(binaries: Path) -> None:
    """Stop servers this module started for a test session that was killed before it could stop them: each
    folder names its owner process; a folder whose owner is gone holds an orphan."""
    for folder in Path(tempfile.gettempdir()).glob("ck-pg-*"):
        try:
            owner = int((folder / "owner").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        server = PgServer(folder, binaries, "postgres" if os.geteuid() == 0 else None)
        try:
            server.stop()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            shutil.rmtree(folder, ignore_errors=True)


REQUIRE = "CONSENTKIT_REQUIRE_POSTGRES"  # set by `bootstrap.sh test`: CI must not go green without the PostgreSQL tests


def start_pg_server(*, durable: bool = False) -> PgServer:
    """Start a throwaway server (the caller stops it). When PostgreSQL is not installed the test is skipped — or
    fails, under CI (``CONSENTKIT_REQUIRE_POSTGRES=1``, which ``bootstrap.sh test`` sets, or ``CI``)."""
    binaries = pg_bin()
    if binaries is None:
        missing = "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (bootstrap.sh installs them)"
        if os.environ.get(REQUIRE, "") not in ("", "0") or os.environ.get("CI", "") not in ("", "0", "false"):
            pytest.fail(f"{missing}; CI requires them ({REQUIRE} or CI is set)")
        pytest.skip(missing)
    stop_orphans(binaries)
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and there is no 'postgres' user to run the PostgreSQL server as")
        user = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="ck-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    (folder / "owner").write_text(str(os.getpid()))
    server = PgServer(folder, binaries, user)
    try:
        server.start(durable=durable)
    except subprocess.CalledProcessError as exc:
        log = folder / "server.log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {exc.stderr}\n{detail}")
    return server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = start_pg_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for an empty audit log, on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.new_schema()


@pytest.fixture
def fresh_audit_url(audit_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes more empty logs on the same database kind as ``audit_url`` (for property tests: one per example)."""
    counter = iter(range(1_000_000))

    def make() -> str:
        if audit_url.startswith("sqlite:"):
            return f"sqlite:///{tmp_path / f'audit-{next(counter)}.sqlite3'}"
        server: PgServer = request.getfixturevalue("pg_server")
        return server.new_schema()

    return make
