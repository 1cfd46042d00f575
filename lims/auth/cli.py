import sys

import click
from flask.cli import AppGroup

from lims.auth import services
from lims.auth.models import ROLES
from lims.errors import LimsError

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--full-name", required=True, help="The printed name shown on signatures.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for several.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
def create(username, full_name, roles, password_stdin):
    """Create a user; the password is read from stdin so it never shows in the process list."""
    password = sys.stdin.readline().rstrip("\n")
    try:
        user = services.create_user(username, full_name, list(roles), password)
    except LimsError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"created user {user.username} ({', '.join(user.roles)})")
