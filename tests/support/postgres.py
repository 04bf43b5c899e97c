"""A throwaway PostgreSQL cluster for the tests, from the Debian binaries `.ci/run` installs.

Why a cluster of our own instead of the system service: it lives under the test run's temp
folder on a free port, so runs never share state, and nothing needs to be running beforehand.
PostgreSQL refuses to run as root; as root the cluster is run as the ``postgres`` user.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from caudal.broker.process import free_port


@dataclass
class PostgresCluster:
    bin_dir: Path
    data: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of the ``postgres`` database."""
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args])

    def stop(self) -> None:
        self.pg_ctl("stop", "-m", "fast", "-w")

    def start(self) -> None:
        self.pg_ctl(
            "start",
            "-w",
            "-l",
            str(self.data.parent / "postgres.log"),
            "-o",
            f"-p {self.port} -h 127.0.0.1 -k {self.data.parent}",
        )


def find_bin_dir() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/<version>/bin``, if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def start_cluster(root: Path) -> PostgresCluster:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql (.ci/run installs it)")
    root.mkdir(parents=True, exist_ok=True)
    cluster = PostgresCluster(bin_dir, root / "data", free_port(), secrets.token_hex(16))
    pwfile = root / "pw"
    pwfile.write_text(cluster.password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(pwfile, "postgres")
    _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(cluster.data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
        ]
    )
    pwfile.unlink()
    cluster.start()
    return cluster


def _run(cmd: list[str]) -> None:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd="/", timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip() or done.stdout.strip()}")
