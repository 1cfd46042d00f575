"""the default itMSC release specification, version 1 (SPEC §5)

Revision ID: 0002
Revises: 0001
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# test, units kind, rule, limit, expected text
REQUIREMENTS = [
    ("viability", "percent", "min", 70.0, None),
    ("cell_concentration", "concentration", "positive", 0.0, None),
    ("cd73", "percent", "min", 95.0, None),
    ("cd90", "percent", "min", 95.0, None),
    ("cd105", "percent", "min", 95.0, None),
    ("cd45", "percent", "max", 2.0, None),
    ("cd34", "percent", "max", 2.0, None),
    ("cd14", "percent", "max", 2.0, None),
    ("cd19", "percent", "max", 2.0, None),
    ("hla_dr", "percent", "max", 2.0, None),
    ("sterility", "categorical", "equals", None, "negative"),
    ("mycoplasma", "categorical", "equals", None, "negative"),
    ("endotoxin", "endotoxin_concentration", "max", 0.5, None),
    ("gram_stain", "categorical", "equals", None, "negative"),
]


def upgrade():
    specs = sa.table("release_specs", sa.column("id", sa.Integer), sa.column("name", sa.String),
                     sa.column("version", sa.Integer), sa.column("effective_from", sa.DateTime(timezone=True)))
    reqs = sa.table("spec_requirements", sa.column("spec_id", sa.Integer), sa.column("position", sa.Integer),
                    sa.column("test", sa.String), sa.column("kind", sa.String), sa.column("rule", sa.String),
                    sa.column("limit_value", sa.Float), sa.column("expected_text", sa.String))
    op.bulk_insert(specs, [{"id": 1, "name": "itMSC", "version": 1,
                            "effective_from": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}])
    op.bulk_insert(reqs, [{"spec_id": 1, "position": i, "test": t, "kind": k, "rule": r, "limit_value": lim,
                           "expected_text": e} for i, (t, k, r, lim, e) in enumerate(REQUIREMENTS, start=1)])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('release_specs', 'id'), 1)")


def downgrade():
    op.execute("DELETE FROM spec_requirements WHERE spec_id = 1")
    op.execute("DELETE FROM release_specs WHERE id = 1")
