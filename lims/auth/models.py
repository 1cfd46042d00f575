"""Users, their roles, API tokens and electronic signatures (SPEC §1, §4)."""
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.extensions import db
from lims.models_base import UTCDateTime
from lims.timeutil import utcnow

ROLES = ("technician", "qa", "investigator", "pharmacist", "nurse", "admin")
_ROLE_LIST = ", ".join(f"'{r}'" for r in ROLES)
ADMIN_ALONE = "an admin account holds no operational role: give the operational roles to a separate account"


def roles_problem(roles):
    """Why this set of roles cannot be one account's; None when it can. The database refuses the admin mix too
    (a trigger on user_roles, migration 0003)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        return f"choose from {', '.join(ROLES)}"
    # The administrator manages accounts and specifications; one who could also release or dose could approve
    # their own configuration (SPEC §1: no operational signatures).
    if "admin" in roles and len(set(roles)) > 1:
        return ADMIN_ALONE
    return None


class User(db.Model):
    __tablename__ = "users"
    # Unique without regard to case (SPEC §4): NURSE1 and nurse1 are one account, on both databases.
    __table_args__ = (Index("uq_users_username_lower", func.lower("username"), unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(String(128), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(256), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    role_rows = relationship("UserRole", cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role")

    @property
    def roles(self):
        return [r.role for r in self.role_rows]

    def has_role(self, *roles):
        return any(r.role in roles for r in self.role_rows)

    def audit_dict(self):
        return {"username": self.username, "full_name": self.full_name, "roles": self.roles, "active": self.active}

    def __repr__(self):
        return f"<User {self.username} {self.roles}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLE_LIST})", name="known_role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class ApiToken(db.Model):
    """Bearer tokens live in the database, so any app instance honours a token another one issued (SPEC §16)."""
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = mapped_column(UTCDateTime, nullable=False)
    revoked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    user = relationship("User", lazy="joined")


class UserSession(db.Model):
    """A signed-in page session. The cookie carries only a random id; this row says whether it still stands, so
    signing out, deactivation and the idle limit end it on the server for every app instance (SPEC §4, §16)."""
    __tablename__ = "user_sessions"
    __table_args__ = (
        CheckConstraint("end_reason IN ('signed_out', 'idle', 'deactivated')", name="known_end_reason"),
        CheckConstraint("(ended_at IS NULL) = (end_reason IS NULL)", name="ended_with_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    created_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # When the session's first signature was recorded: until then a page signature asks for the username as well as
    # the password (21 CFR 11.200(a)(1), SPEC §4). Set in the transaction of that signed record, so a refused or
    # rolled-back signature leaves it empty.
    first_signed_at = mapped_column(UTCDateTime, nullable=True)

    user = relationship("User", lazy="joined")


class SignInThrottle(db.Model):
    """Failed sign-ins in the current window (settings LIMS_SIGN_IN_THROTTLE_*): one row per client address and
    username (lowered), and one per address for all usernames together (`username` = ''), lims.auth.throttle."""
    __tablename__ = "sign_in_throttle"

    client_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at = mapped_column(UTCDateTime, nullable=False)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)


class Signature(db.Model):
    """A 21 CFR Part 11 electronic signature: who (printed name), when (UTC), what it means, and what was signed."""
    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("record_type", "record_id", "meaning", "signed_at", name="one_per_instant"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    printed_name: Mapped[str] = mapped_column(String(128), nullable=False)
    meaning: Mapped[str] = mapped_column(String(32), nullable=False)
    signed_at = mapped_column(UTCDateTime, nullable=False)
    record_type: Mapped[str] = mapped_column(String(32), nullable=False)
    record_id: Mapped[str] = mapped_column(String(64), nullable=False)
    record_hash: Mapped[str] = mapped_column(String(64), nullable=False)

    user = relationship("User", lazy="joined")

    def audit_dict(self):
        return {"printed_name": self.printed_name, "meaning": self.meaning, "record_type": self.record_type,
                "record_id": self.record_id, "record_hash": self.record_hash}
