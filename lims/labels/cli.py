from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from lims.auth import services as auth
from lims.auth.models import User
from lims.errors import LimsError
from lims.extensions import db
from lims.labels import services

labels_cli = AppGroup("labels", help="Bag and container labels.")


@labels_cli.command("print")
@click.option("--bag", "bags", multiple=True, required=True, metavar="CODE",
              help="A bag code or the label's QR text; repeat for a batch.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path), default="labels.pdf",
              show_default=True, help="Where to write the one PDF holding every label.")
@click.option("--reprint-reason", default=None, help="Required when any of the bags was printed before.")
@click.option("--user", "username", required=True, metavar="USERNAME",
              help="The pharmacist the prints are recorded (and audited) as.")
def print_batch(bags, out, reprint_reason, username):
    """Print the labels of verified bags into one PDF, recording each print as --user (SPEC §9)."""
    from lims.barcodes import ScanError, bag_code_from_scan

    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        raise click.ClickException(f"no active user {username!r}")
    try:
        auth.require_role(user, "pharmacist")
        codes = [bag_code_from_scan(b) for b in bags]
    except ScanError as e:
        raise click.ClickException(str(e)) from None
    except LimsError as e:
        raise click.ClickException(e.message) from None
    with click.progressbar(length=len(codes), label=f"Laying out {len(codes)} label(s)") as bar:
        try:
            pdf = services.print_labels(user, codes, reprint_reason, progress=lambda _code: bar.update(1))
        except LimsError as e:
            db.session.rollback()
            raise click.ClickException(e.message) from None
    out.write_bytes(pdf)
    click.echo(f"wrote {len(codes)} label(s) to {out} ({len(pdf)} bytes) as {user.username}")
