"""A throwaway PostgreSQL cluster for the test suite (`--backend postgres`).

`initdb` into a fresh temporary folder (`-A trust -U postgres`: only this machine's loopback
and the cluster's own socket folder can reach it), `pg_ctl start` on a free port of
127.0.0.1, `pg_ctl stop -m immediate` at the end. PostgreSQL refuses to run as root, so as
root (CI) the binaries run as the `postgres` system user when there is one, else `nobody`,
through `runuser`, and the folder is theirs. Durability is switched off (`fsync=off`): the
cluster lives for one test session, so its folder is in memory (/dev/shm) where there is one.

Each test gets its own database: `CREATE DATABASE … TEMPLATE` a migrated and seeded one
(PostgreSQL's analogue of the SQLite backup copy), dropped again after the test. `Databases`
makes each test's database ahead, while the test before it runs, and drops it after in the
background, on one admin connection; with pytest-xdist each worker has a cluster of its own."""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

BIN_DIRS = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/usr/pgsql-*/bin")


def find_bin() -> str | None:
    """The folder holding initdb and pg_ctl: $APPOINTER_TEST_PG_BIN alone when set, else
    PATH, else the usual system folders (the newest version first)."""
    explicit = os.environ.get("APPOINTER_TEST_PG_BIN")
    candidates = [explicit] if explicit else []
    on_path = None if explicit else shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for pattern in () if explicit else BIN_DIRS:
        candidates += sorted(glob.glob(pattern), reverse=True)
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _scratch_dir() -> str | None:
    """Where the cluster's folder goes: /dev/shm (a tmpfs) when writable, else the usual
    temporary folder. CREATE DATABASE writes a few hundred small files, which on this
    project's disks cost the server far more system time than in memory; a cluster's folder
    is small."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


def _run_as() -> str | None:
    """The user to run the server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


class Cluster:
    def __init__(self, bin_dir: str):
        self.bin_dir = bin_dir
        self.user = _run_as()
        self.root = Path(tempfile.mkdtemp(prefix="appointer-pg-", dir=_scratch_dir()))
        self.data = self.root / "data"
        self.port = _free_port()
        self.started = False

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(Path(self.bin_dir) / args[0]), *args[1:]]
        return ["runuser", "-u", self.user, "--", *cmd] if self.user else cmd

    def start(self) -> Cluster:
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(self._cmd("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"),
                       check=True, capture_output=True, text=True)
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                   "-c max_connections=200")
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"),
                                 "-w", "-t", "60", "-o", options, "start"),
                       check=True, capture_output=True, text=True)
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"),
                           capture_output=True)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self):
        """An admin connection (to `postgres`, autocommit: CREATE/DROP DATABASE)."""
        import psycopg

        return psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                               autocommit=True)

    def admin(self, statement: str) -> None:
        """Run one statement (CREATE/DROP DATABASE) outside a transaction."""
        with self.connect() as con:
            con.execute(statement)


class Databases:
    """Each test's own database, made ahead: a background thread on one admin connection keeps
    one spare copy of each template asked for (or of an empty database) ready while a test
    runs, and drops a finished test's database in the background. Nothing is shared: a spare
    is handed to one test and dropped after it. A copy uses FILE_COPY (`fsync=off` makes its
    checkpoint cheap; the default WAL_LOG writes every page to the WAL); a drop waits for the
    test's connections to end. Made ahead, a test waits for none of it."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self._numbers = itertools.count(1)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._ready: dict[str | None, queue.SimpleQueue] = {}
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._work, name="pg-databases", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        with self.cluster.connect() as con:
            while (job := self._jobs.get()) is not None:
                what, arg = job
                try:
                    if what == "drop":
                        con.execute(f"DROP DATABASE IF EXISTS {arg} WITH (FORCE)")
                        continue
                    name = f"t{next(self._numbers)}"
                    con.execute(f"CREATE DATABASE {name} TEMPLATE {arg} STRATEGY FILE_COPY"
                                if arg else f"CREATE DATABASE {name}")
                    self._ready[arg].put(name)
                except Exception as exc:  # the next test to take a database fails, saying why
                    self.error = exc
                    if what == "make":
                        self._ready[arg].put(exc)

    def take(self, template: str | None = None) -> str:
        """The name of a new database: a copy of `template`, or empty. The first ask for a
        template makes two (this test's and the next one's); later asks take the spare and
        order the next."""
        if template not in self._ready:
            self._ready[template] = queue.SimpleQueue()
            self._jobs.put(("make", template))
        self._jobs.put(("make", template))
        got = self._ready[template].get(timeout=120)
        if isinstance(got, Exception) or self.error:
            raise RuntimeError("making or dropping a test database failed") from self.error
        return got

    def drop(self, name: str) -> None:
        """Drop the database `name` in the background (WITH (FORCE): connections left open by
        the test are ended)."""
        self._jobs.put(("drop", name))

    def close(self) -> None:
        """Finish the queued drops and stop the thread (the spares go with the cluster)."""
        self._jobs.put(None)
        self._thread.join(timeout=60)
