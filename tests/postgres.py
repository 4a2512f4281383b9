"""A throwaway PostgreSQL cluster from Debian's `postgresql` package, for the records-database tests.

`initdb` into a temporary directory, `pg_ctl start` on a free loopback port
(no Unix socket), password authentication (SCRAM) for the one role `duban`, so
the tests go through the same login a production URL does. PostgreSQL refuses
to run as root: as root the binaries run as the package's `postgres` user
(`runuser`), which owns the temporary directory. `make test` installs the
package (Makefile TEST_DEBIAN_PACKAGES); without it the fixture fails, naming it.
"""

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import asyncpg

ROLE = "duban"


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: `make test` installs Debian's postgresql package")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    root: Path
    port: int
    password: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{database}"

    async def new_database(self) -> str:
        """A fresh, empty database on the cluster; its URL (one per test keeps tests independent)."""
        name = f"t_{secrets.token_hex(6)}"
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    def stop(self) -> None:
        _run(self.root, "pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _as_owner() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(root: Path, tool: str, *args: str) -> None:
    done = subprocess.run(
        [*_as_owner(), str(pg_bin() / tool), *args], capture_output=True, text=True, cwd=root, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def start_cluster(durable: bool = False) -> PostgresCluster:
    """Start a cluster; `durable` keeps fsync on (bench/ledger.py measures with it, tests need not)."""
    root = Path(tempfile.mkdtemp(prefix="duban-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    password = secrets.token_urlsafe(16)
    pwfile = root / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    data = root / "data"
    _run(root, "initdb", "-D", str(data), "-U", ROLE, f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
         "--no-sync")  # fmt: skip
    pwfile.unlink()
    port = _free_port()
    # Loopback only and no Unix socket; a test cluster needs no fsync.
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''"
    if not durable:
        options += " -c fsync=off"
    _run(root, "pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "-t", "60", "start")
    # -w: pg_ctl returns once the server accepts connections.
    return PostgresCluster(root=root, port=port, password=password)
