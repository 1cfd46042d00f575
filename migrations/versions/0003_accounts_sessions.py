"""accounts and sessions: case-insensitive usernames, admin alone, server-side sessions, sign-in throttle (SPEC §4)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# An admin account holds no operational role (SPEC §1, §4): the service refuses it with 422; the database refuses it
# too, so no other path (a script, a later role change, a second app instance) can give an administrator `qa`.
_ADMIN_ALONE_PG = """
CREATE FUNCTION user_roles_admin_alone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM user_roles r
               WHERE r.user_id = NEW.user_id
                 AND (TG_OP = 'INSERT' OR NOT (r.user_id = OLD.user_id AND r.role = OLD.role))
                 AND (r.role = 'admin') <> (NEW.role = 'admin')) THEN
        RAISE EXCEPTION 'an admin account holds no operational role' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER user_roles_admin_alone BEFORE INSERT OR UPDATE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION user_roles_admin_alone();
"""
_ADMIN_ALONE_SQLITE = (
    """CREATE TRIGGER user_roles_admin_alone_insert BEFORE INSERT ON user_roles
       WHEN EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = NEW.user_id
                    AND (r.role = 'admin') <> (NEW.role = 'admin'))
       BEGIN SELECT RAISE(ABORT, 'an admin account holds no operational role'); END""",
    """CREATE TRIGGER user_roles_admin_alone_update BEFORE UPDATE ON user_roles
       WHEN EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = NEW.user_id
                    AND NOT (r.user_id = OLD.user_id AND r.role = OLD.role)
                    AND (r.role = 'admin') <> (NEW.role = 'admin'))
       BEGIN SELECT RAISE(ABORT, 'an admin account holds no operational role'); END""",
)


def upgrade():
    bind = op.get_bind()
    clashes = bind.execute(sa.text("SELECT lower(username) FROM users GROUP BY lower(username) "
                                   "HAVING count(*) > 1")).scalars().all()
    if clashes:
        raise RuntimeError("usernames that differ only in case must be merged or renamed before this upgrade: "
                           + ", ".join(sorted(clashes)))
    # Usernames are ASCII (the API's pattern), so lower() means the same on SQLite and PostgreSQL.
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)

    if bind.dialect.name == "postgresql":
        op.execute(_ADMIN_ALONE_PG)
    else:
        for statement in _ADMIN_ALONE_SQLITE:
            op.execute(statement)

    # A page session lives in the database, not in the cookie alone: signing out, an administrator's deactivation
    # and the idle limit end it on the server, for every app instance, and a copied cookie is dead afterwards.
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sid_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.CheckConstraint("end_reason IN ('signed_out', 'idle', 'deactivated')",
                           name=op.f("ck_user_sessions_known_end_reason")),
        sa.CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name=op.f("ck_user_sessions_ended_with_reason")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("sid_hash", name=op.f("uq_user_sessions_sid_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)

    # Failed sign-ins per client address in a fixed window, in the database so every app instance counts them.
    op.create_table(
        "sign_in_throttle",
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client_address", name=op.f("pk_sign_in_throttle")),
    )


def downgrade():
    op.drop_table("sign_in_throttle")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS user_roles_admin_alone ON user_roles")
        op.execute("DROP FUNCTION IF EXISTS user_roles_admin_alone()")
    else:
        op.execute("DROP TRIGGER IF EXISTS user_roles_admin_alone_insert")
        op.execute("DROP TRIGGER IF EXISTS user_roles_admin_alone_update")
    op.drop_index("uq_users_username_lower", table_name="users")
