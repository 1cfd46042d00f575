"""Backups of the one store of the regulated record, and their restore: `flask --app wsgi db backup|restore`.

A backup is a consistent snapshot taken while the site serves: SQLite's online backup API copies the database as one
read transaction (writers carry on in the WAL), PostgreSQL's `pg_dump -Fc` reads one repeatable-read snapshot. A
restore goes into a new, empty database only, never over a live one: the operator checks the copy (`audit verify`,
which `db restore` runs itself) and then points DATABASE_URL at it.
"""
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import current_app
from flask_migrate.cli import db as db_group
from sqlalchemy import inspect as schema_of
from sqlalchemy.engine import make_url

from lims.audit.services import verify_chain
from lims.extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(click.ClickException):
    pass


def _database():
    """(dialect, what the tools are given): a SQLite file path, or a libpq URL for pg_dump/pg_restore."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        return "sqlite", url.database
    if url.get_backend_name() == "postgresql":
        return "postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False)
    raise BackupError(f"no backup method for {url.get_backend_name()}")


def _tool(name):
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install PostgreSQL's client tools (Debian: postgresql-client)")
    return path


def _run(command):
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed (exit {done.returncode}): {done.stderr.strip()}")


def backup_database(out):
    """Writes a snapshot of the app's database to `out` (atomically: a partial file never carries the name)."""
    kind, target = _database()
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    if kind == "sqlite":
        source, copy = sqlite3.connect(target), sqlite3.connect(partial)
        try:
            with copy:
                source.backup(copy)  # all pages in one step: one read transaction, a consistent snapshot
        finally:
            source.close()
            copy.close()
    else:
        _run([_tool("pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={target}"])
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    partial.replace(out)
    return kind, out.stat().st_size


def _is_empty():
    return not schema_of(db.engine).get_table_names()


def restore_database(source):
    """Loads the backup `source` into the app's database, which must be empty (a new database)."""
    kind, target = _database()
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    with open(source, "rb") as f:
        head = f.read(16)
    found = "sqlite" if head.startswith(SQLITE_MAGIC) else "postgresql" if head.startswith(PG_DUMP_MAGIC) else None
    if found is None:
        raise BackupError(f"{source} is neither a SQLite database nor a pg_dump -Fc archive")
    if found != kind:
        raise BackupError(f"{source} is a {found} backup and DATABASE_URL names a {kind} database")
    if not _is_empty():
        raise BackupError("the target database is not empty: restore into a new database, check it, then point "
                          "DATABASE_URL at it (a restore never overwrites a database)")
    db.engine.dispose()  # nothing of ours holds the target open while it is written
    if kind == "sqlite":
        backup, copy = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(target)
        try:
            with copy:
                backup.backup(copy)
        finally:
            backup.close()
            copy.close()
    else:
        # One transaction: a restore that fails half-way leaves the database empty, not half a record.
        _run([_tool("pg_restore"), "--exit-on-error", "--single-transaction", "--no-owner", "--no-privileges",
              f"--dbname={target}", str(source)])
    db.engine.dispose()


def schema_revision():
    with db.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


@db_group.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="file to write the backup to")
def backup_command(out):
    """Back up the database while the site serves: SQLite's online backup, or pg_dump -Fc on PostgreSQL."""
    kind, size = backup_database(out)
    click.echo(f"backup written: {out} ({kind}, {size} bytes, schema revision {schema_revision()})")


@db_group.command("restore")
@click.option("--from", "source", required=True, type=click.Path(dir_okay=False, exists=True),
              help="a file written by `db backup`")
def restore_command(source):
    """Restore a backup into the (new, empty) database DATABASE_URL names, then verify its audit chain."""
    restore_database(source)
    click.echo(f"restored {source} (schema revision {schema_revision()})")
    result = verify_chain()
    db.session.remove()
    if not result["ok"]:
        click.echo(f"audit chain BROKEN at row {result['first_broken']}: {result['reason']}", err=True)
        raise SystemExit(1)
    click.echo(f"audit chain intact: {result['checked']} rows verified")
