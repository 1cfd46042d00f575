import click
from flask.cli import AppGroup

labels_cli = AppGroup("labels", help="Bag and container labels.")
