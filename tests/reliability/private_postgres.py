"""A throw-away PostgreSQL cluster of the test's own, so a test can stop and restart "the database" without
disturbing the machine's cluster, which other tests (and other xdist workers) are using at the same moment.
"""
import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.reliability.servers import free_port

SUPERUSER = "lims"


def postgres_bin():
    """The server binaries: the version of LIMS_PG_CLUSTER (e.g. "15 main", set by scripts/test.sh), else the newest."""
    version = (os.environ.get("LIMS_PG_CLUSTER") or "").split(" ")[0]
    candidates = [f"/usr/lib/postgresql/{version}/bin"] if version else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    for directory in candidates:
        if os.access(f"{directory}/initdb", os.X_OK) and os.access(f"{directory}/pg_ctl", os.X_OK):
            return directory
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb and shutil.which("pg_ctl") else None


def unavailable_reason():
    if postgres_bin() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: initdb refuses root and cannot be run as postgres"
    if os.geteuid() == 0:
        try:
            subprocess.run(["id", "postgres"], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            return "running as root and there is no postgres account to own a private cluster"
    return None


class PrivatePostgres:
    """initdb into a temporary directory, served on a free loopback port; stop(), start(), destroy()."""

    def __init__(self):
        self.bin = postgres_bin()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="lims-pg-"))
        self.data = self.dir / "data"
        if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to postgres, as the machine's does
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool, *args):
        command = [f"{self.bin}/{tool}", *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self):
        # fsync off: this cluster proves the app's behaviour, not the disk's; a stop still writes everything out.
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                   "-c fsync=off -c max_connections=40")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", options, "-w", "-t", "60",
                  "start")

    def stop(self, mode="immediate"):
        """Immediate mode is a crash as the clients see it: every connection drops, recovery replays the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self, name):
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def url(self, name):
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def destroy(self):
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError):
                self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
