"""A real PostgreSQL server for the tests, started once per session.

Where the server comes from, first match wins:

1. ``$PIPELINE_TEST_DATABASE_URL`` (``postgresql+psycopg://user:pw@host:port/db``):
   a server someone already runs. The session works in a throwaway database
   created on it (kept in the given database if the role may not create one).
2. PostgreSQL binaries on this machine (``/usr/lib/postgresql/<ver>/bin`` or
   ``pg_ctl`` on ``PATH``): ``initdb`` a throwaway cluster in a temp folder and
   start it on a free loopback port (about 2 s), as the ``postgres`` system
   user when the tests run as root (``initdb`` refuses root). Stopped and
   deleted at session end.

With neither, the tests that need the server fail with a message that says
how to provide one: a suite that silently skips its PostgreSQL half would
pass while production's database was never exercised.

Fixtures:

- ``postgres_url`` (session): URL of the session's database.
- ``postgres_database_url`` (function): URL of a fresh, empty database for one
  test, dropped afterwards (``WITH (FORCE)``, so a leaked connection does not
  block the drop).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

__all__ = ["postgres_url", "postgres_database_url"]

ENV_VAR = "PIPELINE_TEST_DATABASE_URL"
DRIVER = "postgresql+psycopg"

HOW_TO_PROVIDE = (
    f"Provide a PostgreSQL server for the tests, either:\n"
    f"  - export {ENV_VAR}=postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB "
    f"(a role allowed to CREATE DATABASE), or\n"
    f"  - install the server binaries (Debian/Ubuntu: apt-get install postgresql; "
    f"they land in /usr/lib/postgresql/<version>/bin) so the tests can start "
    f"a throwaway server themselves."
)


# --------------------------------------------------------------------------- #
# Admin access to a server: create and drop databases.                         #
# --------------------------------------------------------------------------- #


def _connect(url: URL) -> psycopg.Connection:
    return psycopg.connect(**_psycopg_kwargs(url), autocommit=True)


@dataclass
class _Server:
    """A reachable server plus the URL used for CREATE/DROP DATABASE."""

    admin_url: URL

    def create_database(self, prefix: str) -> URL:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with _connect(self.admin_url) as conn:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if conn.info.server_version >= 150000:
                # copying template1's files beats the default WAL_LOG strategy
                # on a throwaway cluster (fsync off): about 0.05 s against 0.2 s
                create += sql.SQL(" STRATEGY FILE_COPY")
            conn.execute(create)
        return self.admin_url.set(database=name)

    def drop_database(self, url: URL) -> None:
        with _connect(self.admin_url) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(url.database)))

    def create_schema(self, base: URL, prefix: str) -> URL:
        """Fallback isolation when the role may not create databases."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with _connect(base) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        return base.update_query_dict({"options": f"-csearch_path={name}"})

    def drop_schema(self, url: URL) -> None:
        name = url.query["options"].removeprefix("-csearch_path=")
        with _connect(url.difference_update_query(["options"])) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _psycopg_kwargs(url: URL) -> dict:
    kwargs = {
        "host": url.host,
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database or "postgres",
        "connect_timeout": 10,
    }
    kwargs.update({k: v for k, v in url.query.items() if isinstance(v, str)})
    return {k: v for k, v in kwargs.items() if v is not None}


# --------------------------------------------------------------------------- #
# A throwaway local cluster.                                                   #
# --------------------------------------------------------------------------- #


def _find_bindir() -> Path | None:
    """Newest ``/usr/lib/postgresql/<ver>/bin``, else the folder of ``pg_ctl`` on PATH."""

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=version, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        found.append(os.path.realpath(on_path))
    for pg_ctl in found:
        bindir = Path(pg_ctl).parent
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_CLUSTER_PREFIX = "pipeline-pg-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _LocalCluster:
    """initdb + pg_ctl in a temp folder; as ``postgres`` when we are root.

    The folder records the pytest process that owns it, so a session killed
    before its teardown (SIGKILL, a cancelled CI job) leaves a server that the
    next session stops and deletes (``reap_orphans``).
    """

    def __init__(self, bindir: Path, root: Path | None = None):
        self.bindir = bindir
        self.root = root or Path(tempfile.mkdtemp(prefix=_CLUSTER_PREFIX))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port: int | None = None
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root but `runuser` is missing to drop to `postgres`")
            try:
                import pwd

                pw = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError(
                    "running as root and there is no `postgres` system user to run the server"
                ) from exc
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = [runuser, "-u", "postgres", "--"]
        if root is None:
            (self.root / "owner.pid").write_text(str(os.getpid()))

    @classmethod
    def reap_orphans(cls, bindir: Path) -> None:
        """Stop and delete clusters whose owning pytest process is gone."""
        for root in Path(tempfile.gettempdir()).glob(f"{_CLUSTER_PREFIX}*"):
            try:
                owner = int((root / "owner.pid").read_text())
            except (OSError, ValueError):
                continue
            if not _alive(owner):
                cls(bindir, root=root).stop()

    def _run(self, *args: str, timeout: float = 60) -> None:
        proc = subprocess.run(
            [*self.as_user, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} exited with {proc.returncode}:\n"
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}{self._log_tail()}"
            )

    def _log_tail(self) -> str:
        try:
            return "\nserver log:\n" + self.log.read_text()[-2000:]
        except OSError:
            return ""

    def start(self) -> URL:
        self._run(
            str(self.bindir / "initdb"),
            "-D", str(self.data),
            "-U", "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        last_error: Exception | None = None
        for _ in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            options = " ".join(
                [
                    f"-p {self.port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories={self.root}",
                    # a throwaway cluster: durability buys nothing, speed does
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                ]
            )
            try:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D", str(self.data),
                    "-l", str(self.log),
                    "-o", options,
                    "-w", "-t", "30",
                    "start",
                )
                return URL.create(DRIVER, username="postgres", host="127.0.0.1", port=self.port)
            except RuntimeError as exc:
                last_error = exc
        raise RuntimeError(f"pg_ctl start failed three times: {last_error}")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)


# --------------------------------------------------------------------------- #
# Fixtures.                                                                    #
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="session")
def _postgres_server() -> Iterator[tuple[_Server, URL, bool]]:
    """(server, session database URL, whether per-test databases can be created)."""
    given = os.environ.get(ENV_VAR)
    if given:
        url = make_url(given)
        if not url.drivername.startswith("postgresql"):
            pytest.fail(
                f"{ENV_VAR} must be a postgresql URL, got driver {url.drivername!r}.\n{HOW_TO_PROVIDE}",
                pytrace=False,
            )
        url = url.set(drivername=DRIVER)
        server = _Server(admin_url=url)
        try:
            session_url = server.create_database("pipeline_test")
        except psycopg.OperationalError as exc:
            pytest.fail(f"cannot connect to {ENV_VAR} ({url!r}): {exc}\n{HOW_TO_PROVIDE}", pytrace=False)
        except psycopg.Error:  # e.g. no CREATEDB privilege: isolate tests by schema instead
            yield server, url, False
            return
        try:
            yield server, session_url, True
        finally:
            server.drop_database(session_url)
        return

    bindir = _find_bindir()
    if bindir is None:
        pytest.fail(
            f"No PostgreSQL server binaries found and {ENV_VAR} is not set.\n{HOW_TO_PROVIDE}", pytrace=False
        )
    try:
        _LocalCluster.reap_orphans(bindir)
        cluster = _LocalCluster(bindir)
    except RuntimeError as exc:
        pytest.fail(f"cannot start PostgreSQL from {bindir}: {exc}\n{HOW_TO_PROVIDE}", pytrace=False)
    try:
        started = time.monotonic()
        admin_url = cluster.start()
        server = _Server(admin_url=admin_url.set(database="postgres"))
        session_url = server.create_database("pipeline_test")
        print(f"[postgres_server] {bindir} on port {cluster.port} in {time.monotonic() - started:.1f}s")
    except Exception as exc:  # noqa: BLE001 - report any start failure the same way
        cluster.stop()
        pytest.fail(f"cannot start PostgreSQL from {bindir}: {exc}\n{HOW_TO_PROVIDE}", pytrace=False)
    try:
        yield server, session_url, True
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(_postgres_server) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://...``) of the session's database."""
    _, url, _ = _postgres_server
    return url.render_as_string(hide_password=False)


@pytest.fixture
def postgres_database_url(_postgres_server) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database for one test, dropped afterwards."""
    server, session_url, can_create = _postgres_server
    if can_create:
        url = server.create_database("pipeline_case")
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            server.drop_database(url)
    else:
        url = server.create_schema(session_url, "pipeline_case")
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            server.drop_schema(url)
