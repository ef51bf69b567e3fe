"""A throwaway PostgreSQL cluster for the tests and benchmarks (Debian's server binaries).

:class:`PgServer` runs ``initdb`` into a temporary directory, starts ``postgres`` on 127.0.0.1 on
a free port with password authentication, and stops and deletes it on :meth:`stop`. As root (CI
containers) the cluster runs as the unprivileged ``postgres`` system user the Debian package
creates, since the server refuses to run as root. Nothing listens beyond loopback.

Databases are cheap copies: :meth:`create_database` takes ``template=`` (PostgreSQL copies the
template's files), so a test gets a private copy of a loaded market in well under a second.

Run as a script to start a cluster by hand (``python -m tests.pgserver``): it prints the URL and
waits for Ctrl-C.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

USER = "allocator"


class PgUnavailable(RuntimeError):
    """No PostgreSQL server binaries, or the cluster would not start."""


def find_bindir() -> Path:
    """The directory of ``initdb``/``pg_ctl``: ``$PG_BINDIR``, else the newest Debian install."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    if which:
        return Path(which).parent
    raise PgUnavailable("PostgreSQL server binaries not found (install the Debian package `postgresql`, "
                        "or set PG_BINDIR); `make test` installs it when run as root")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """One running cluster; ``url(db)`` gives a SQLAlchemy URL (psycopg 3) for database ``db``."""

    root: Path
    port: int
    password: str
    bindir: Path
    run_as: str | None
    _stopped: bool = field(default=False, repr=False)

    # -- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def start(cls, *, durable: bool = False) -> PgServer:
        """Start a new cluster. ``durable=False`` (tests) turns fsync off: a crash test kills
        clients, never the server, so durability against power loss is not what is tested."""
        bindir = find_bindir()
        run_as = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PgUnavailable("running as root and there is no `postgres` user to run the server as") from exc
            run_as = "postgres"
        root = Path(tempfile.mkdtemp(prefix="allocator-pg-"))
        password = secrets.token_urlsafe(12)
        server = cls(root=root, port=free_port(), password=password, bindir=bindir, run_as=run_as)
        try:
            server._init(durable)
        except BaseException:
            server.stop()
            raise
        return server

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
        if proc.returncode != 0:
            raise PgUnavailable(f"{Path(args[0]).name} failed ({proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip()[-800:]}")
        return proc

    def _init(self, durable: bool) -> None:
        data, sock = self.root / "data", self.root / "sock"
        sock.mkdir()
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            for p in (self.root, sock, pwfile):
                os.chown(p, entry.pw_uid, entry.pw_gid)
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(pwfile),
                  "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8" if _has_c_utf8() else "--locale=C")
        opts = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={sock}",
                "-c max_connections=200", "-c shared_buffers=256MB"]
        if not durable:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.root / "server.log"),
                  "-o", " ".join(opts), "-w", "-t", "60", "start")
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PgUnavailable(f"server on port {self.port} does not answer: {exc}") from exc
                time.sleep(0.2)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        data = self.root / "data"
        if (data / "postmaster.pid").exists():
            try:
                self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", timeout=60)
            except (PgUnavailable, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    # -- addresses ----------------------------------------------------------------------------
    def dsn(self, db: str) -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{db}"

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/{db}"

    # -- databases ----------------------------------------------------------------------------
    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), autocommit=True) as con:
            con.execute(sql)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` if given); returns its URL."""
        tmpl = f" TEMPLATE {template}" if template else ""
        self._admin(f'CREATE DATABASE "{name}"{tmpl}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _has_c_utf8() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(x.lower() in ("c.utf8", "c.utf-8") for x in out.split())


if __name__ == "__main__":  # pragma: no cover - manual use
    import signal

    def _interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C, `kill` and a background job's SIGINT (ignored by default there) all stop and delete it.
    for _sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_sig, _interrupt)
    server = PgServer.start(durable=True)
    server.create_database("allocator")
    print(server.url("allocator"), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
