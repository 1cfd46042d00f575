"""Users, passwords, lockout, tokens and electronic signatures (SPEC §4)."""
import datetime as dt
import functools
import hashlib
import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from lims.audit import services as audit
from lims.auth.models import ApiToken, Signature, User, UserRole, roles_problem
from lims.auth import security, sessions, throttle
from lims.auth.passwords import password_problem
from lims.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from lims.extensions import db, insert_record
from lims.timeutil import aware, iso, local, utcnow

MEANINGS = ("released", "rejected", "held", "recalled", "prepared", "verified", "witnessed", "administered",
            "reviewed", "approved", "eligibility_determined")


def _hasher():
    # OWASP's argon2id floor (19 MiB, 2 passes) in production; tests may lower it through config.
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg.get("LIMS_ARGON2_TIME_COST", 2),
                          memory_cost=cfg.get("LIMS_ARGON2_MEMORY_KIB", 19456), parallelism=1)


def hash_password(password):
    return _hasher().hash(password)


def validate_new_password(password, username=None):
    problem = password_problem(password, username)
    if problem:
        raise Invalid(f"password: {problem}", fields={"password": [problem]})


def validate_roles(roles):
    problem = roles_problem(roles)
    if problem:
        raise Invalid(f"roles: {problem}", fields={"roles": [problem]})


def create_user(username, full_name, roles, password, actor=None):
    validate_roles(roles)
    validate_new_password(password, username)
    if user_by_username(username) is not None:
        raise Conflict(f"username {username!r} is taken (usernames are the same whatever their case)",
                       code="username_taken", fields={"username": ["taken"]})
    user = User(username=username, full_name=full_name, password_hash=hash_password(password),
                role_rows=[UserRole(role=r) for r in sorted(set(roles))])
    db.session.add(user)
    audit.record("user.created", user, actor=actor)
    db.session.commit()
    return user


def users_by_name():
    """Every account, for the administrator's page: roles loaded with them, in username order."""
    return db.session.scalars(select(User).options(selectinload(User.role_rows)).order_by(User.username)).all()


def is_locked(user):
    return user.locked_until is not None and aware(user.locked_until) > utcnow()


def unlock_user(actor, user_id, reason):
    """An administrator ends a lockout before its time (a nurse locked out mid-shift, her identity checked): the
    failed entries are forgotten, and the unlock is audited with its reason and who gave it."""
    user = _account(actor, user_id)
    if not is_locked(user):
        raise Conflict(f"{user.username} is not locked", code="not_locked")
    before = {"failed_attempts": user.failed_attempts, "locked_until": user.locked_until}
    user.failed_attempts, user.locked_until = 0, None
    audit.record("user.unlocked", user, before=before, reason=reason, actor=actor)
    db.session.commit()
    return user


def _account(actor, user_id):
    require_role(actor, "admin")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", code="user_not_found")
    return user


def deactivate_user(actor, user_id, reason):
    """An administrator ends an account's access (someone left, a badge lost): from this commit on it cannot sign
    in, use a token or sign as a witness; its page sessions end and its tokens are revoked, on every app instance.
    Its records and signatures stay, as they were signed."""
    from lims.auth.sessions import end_sessions_of
    user = _account(actor, user_id)
    if user.id == actor.id:
        raise Conflict("you cannot deactivate your own account; ask another administrator", code="own_account")
    if not user.active:
        raise Conflict(f"{user.username} is already deactivated", code="already_deactivated")
    user.active = False
    ended = end_sessions_of(user.id, "deactivated")
    revoked = db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                                 .values(revoked=True)).rowcount
    audit.record("user.deactivated", user, before={"active": True}, reason=reason, actor=actor,
                 after={"active": False, "sessions_ended": ended, "tokens_revoked": revoked})
    db.session.commit()
    return user


def reactivate_user(actor, user_id, reason):
    """The account may sign in again, with its own password; the sessions and tokens it had stay ended."""
    user = _account(actor, user_id)
    if user.active:
        raise Conflict(f"{user.username} is active", code="already_active")
    user.active = True
    audit.record("user.reactivated", user, before={"active": False}, after={"active": True}, reason=reason,
                 actor=actor)
    db.session.commit()
    return user


class AccountLocked(NotAuthenticated):
    code = "account_locked"


class BadPassword(NotAuthenticated):
    code = "invalid_credentials"


def _verify(password_hash, password):
    try:
        return _hasher().verify(password_hash, password if isinstance(password, str) else "")
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash(time_cost, memory_kib):
    # What an unknown username's password is checked against: a hash of the same parameters as every account's,
    # so a wrong password costs the same whether or not the account exists (SPEC §4).
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1).hash(secrets.token_urlsafe(24))


def _check_against_nothing(password):
    cfg = current_app.config
    _verify(_dummy_hash(cfg.get("LIMS_ARGON2_TIME_COST", 2), cfg.get("LIMS_ARGON2_MEMORY_KIB", 19456)), password)


def check_password(user, password, purpose, client_address=None, username_ok=True):
    """Checks a password entry, counting failures across logins and signatures alike.

    The hash is verified whatever the account's state, so a deactivated or locked account answers in the same time
    as any other. A refusal is committed on its own — the operation the password was for is rolled back first, and
    the attempt stays on record as a security event — and raises 401. Five failures in a row lock the account for
    the configured minutes. `username_ok=False` (a signature's username that is not the signer's) is refused and
    counted as a wrong password is: both are a failed proof of who is at the keyboard.
    """
    cfg = current_app.config
    ok = _verify(user.password_hash, password)
    locked_before = is_locked(user)
    if ok and username_ok and user.active and not locked_before:
        if user.failed_attempts or user.locked_until:
            user.failed_attempts, user.locked_until = 0, None
        return
    reason = ("inactive" if not user.active else "locked" if locked_before else
              "wrong_username" if not username_ok else "wrong_password")
    account, by, until = security.actor_of(user), security.submitter(), user.locked_until
    db.session.rollback()  # the operation this password was for changes nothing
    locked = False
    if reason in ("wrong_password", "wrong_username"):
        db.session.execute(update(User).where(User.id == account.id)
                           .values(failed_attempts=User.failed_attempts + 1))
        user = db.session.get(User, account.id)
        db.session.refresh(user)
        locked = user.failed_attempts >= cfg["LIMS_LOCKOUT_THRESHOLD"]
        if locked:
            user.locked_until = utcnow() + dt.timedelta(minutes=cfg["LIMS_LOCKOUT_MINUTES"])
            user.failed_attempts = 0
    if purpose == "login":
        _sign_in_failed(account, account.username, reason, client_address, locked=locked)
    else:
        security.queue(security.SIGNATURE_REFUSED, by or account, entity_id=account.id,
                       after={"signer": account.username, "reason": reason, "locked": locked})
    db.session.commit()
    if reason == "inactive":
        if ok:
            raise NotAuthenticated(f"account {account.username} is deactivated; ask an administrator",
                                   code="account_inactive")
    elif reason == "locked":
        raise AccountLocked(f"this account is locked until {local(until, '%H:%M %Z')} after repeated failed password "
                            f"entries; wait, or ask an administrator")
    elif locked:
        raise AccountLocked(f"{_wrong(reason)}; after {cfg['LIMS_LOCKOUT_THRESHOLD']} failed entries this account is "
                            f"locked for {cfg['LIMS_LOCKOUT_MINUTES']} minutes")
    if reason == "wrong_username":
        raise BadPassword(f"{_wrong(reason)}: sign with your own username ({account.username}) and password")
    raise BadPassword("wrong password" if purpose == "signature" else "invalid username or password")


def _wrong(reason):
    return "the username is not that of the signed-in user" if reason == "wrong_username" else "wrong password"


def _sign_in_failed(actor, username, reason, client_address, locked=False):
    """A failed sign-in: its security event and one more failure of its address, in the current transaction."""
    security.queue(security.SIGN_IN_FAILED, actor, entity_id=actor.id,
                   after={"username": username, "reason": reason, "locked": locked,
                          "client_address": throttle.address_key(client_address)})
    mine, everyone = throttle.count_failure(client_address, username)
    limits, address = throttle.limits(), throttle.address_key(client_address)
    minutes = current_app.config["LIMS_SIGN_IN_THROTTLE_MINUTES"]
    if mine == limits.failures:  # this username from this address, until the window ends
        security.queue(security.SIGN_IN_THROTTLED, security.ANONYMOUS, entity="sign_in_throttle",
                       entity_id=address, after={"client_address": address, "username": username,
                                                 "failures": limits.failures, "minutes": minutes})
    if everyone == limits.address_failures:  # every username from this address
        security.queue(security.SIGN_IN_THROTTLED, security.ANONYMOUS, entity="sign_in_throttle",
                       entity_id=address, after={"client_address": address, "failures": limits.address_failures,
                                                 "minutes": minutes})


def refuse_unknown_signer(username, password):
    """A signer (the bedside witness) whose username names no account: the same cost and the same 401 as a wrong
    password, and a security event with the submitting user as actor."""
    _check_against_nothing(password)
    by = security.submitter() or security.ANONYMOUS
    db.session.rollback()
    security.queue(security.SIGNATURE_REFUSED, by, after={"signer": str(username)[:64], "reason": "unknown_username",
                                                          "locked": False})
    db.session.commit()
    raise BadPassword("the witness's username or password is wrong")


@functools.cache
def _user_statements():
    # A user is read on every request (the token's) and at every signature: with its roles, in one statement. Both
    # statements are built once, on first use (the mappers are configured by then): building one, and its cache key,
    # would cost as much as running it.
    # lower(username) is the unique index's expression, so the look-up is one index probe on both databases.
    by_username = (select(User).where(func.lower(User.username) == bindparam("username"))
                   .options(joinedload(User.role_rows)))
    by_token = (select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))
                .options(joinedload(ApiToken.user).joinedload(User.role_rows)))
    return by_username, by_token


def user_by_username(username):
    """The account of this username, whatever case it is typed in (SPEC §4)."""
    if not isinstance(username, str):
        return None
    by_username, _ = _user_statements()
    return db.session.execute(by_username, {"username": username.lower()}).unique().scalar_one_or_none()


def authenticate(username, password, client_address=None):
    """Sign-in. A username past its failed sign-ins from this address, or an address past its failed sign-ins for all
    usernames, is refused (429) before any password is checked; an unknown username costs what a wrong password
    costs, and both are security events."""
    throttle.refuse_if_throttled(client_address, username)
    user = user_by_username(username)
    if user is None:
        _check_against_nothing(password)
        db.session.rollback()
        _sign_in_failed(security.ANONYMOUS, str(username)[:64], "unknown_username", client_address)
        db.session.commit()
        raise BadPassword("invalid username or password")
    check_password(user, password, "login", client_address)
    return user


def issue_token(user):
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + dt.timedelta(minutes=current_app.config["LIMS_TOKEN_TTL_MINUTES"])
    db.session.add(ApiToken(token_hash=_token_hash(token), user_id=user.id, expires_at=expires_at))
    db.session.commit()
    return token, expires_at


def user_for_token(token):
    _, by_token = _user_statements()
    row = db.session.execute(by_token, {"token_hash": _token_hash(token)}).unique().scalar_one_or_none()
    if row is None or row.revoked:
        raise NotAuthenticated("the token is not valid", code="invalid_token")
    if aware(row.expires_at) <= utcnow():
        raise NotAuthenticated("the token has expired; sign in again", code="token_expired")
    if not row.user.active:
        raise NotAuthenticated("the account is deactivated", code="account_inactive")
    return row.user


def revoke_token(token):
    """`DELETE /auth/token`: the token is refused from this commit on, by every app instance."""
    db.session.execute(update(ApiToken).where(ApiToken.token_hash == _token_hash(token)).values(revoked=True))
    db.session.commit()


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def require_role(user, *roles):
    if user is None:
        raise NotAuthenticated("sign in first")
    if not user.has_role(*roles):
        raise Forbidden(f"this needs the role {' or '.join(roles)}", code="role_required")


# --- electronic signatures -------------------------------------------------------------------------------------

def password_from(signature, field="signature"):
    if not isinstance(signature, dict) or not isinstance(signature.get("password"), str):
        raise Invalid(f"{field}: a signature is the signer's password: {{\"password\": \"...\"}}",
                      fields={field: ["required: {\"password\": \"...\"}"]})
    return signature["password"]


def same_username(typed, username):
    """Usernames compare as accounts do (SPEC §4, §18): NFC-normalised, without regard to case."""
    return unicodedata.normalize("NFC", typed).lower() == unicodedata.normalize("NFC", username).lower()


def authenticate_signer(user, signature, field="signature"):
    """The re-entry of the password at the moment of signing. Call before changing anything.

    The first signature of a page session also asks for the username (21 CFR 11.200(a)(1): a series of signings in
    one continuous session starts with both components; the later ones need the password alone). Without it: 422,
    nothing checked or counted. A username, whenever one is given (API or page), must name the signer: otherwise
    401, counted and recorded as a wrong password is. The session is marked as signed by the signed record that
    follows, in its transaction (sessions.record_first_signature)."""
    password = password_from(signature, field)
    typed = signature.get("username")
    if typed is not None and not isinstance(typed, str):
        raise Invalid(f"{field}.username: the signer's username, as text",
                      fields={f"{field}.username": ["must be text"]})
    page = sessions.unsigned_page_session(user)
    if page is not None and not (typed and typed.strip()):
        raise Invalid(f"{field}.username: the first signature of a session asks for your username and password",
                      fields={f"{field}.username": ["required for the first signature of this session"]})
    check_password(user, password, "signature", username_ok=typed is None or same_username(typed, user.username))
    if page is not None:
        sessions.expect_first_signature(page)


def record_signature(user, meaning, record, record_type=None):
    """Store the signature over the record as it now stands; the caller commits with the change itself."""
    db.session.flush()
    content = audit.canonical_json(record.audit_dict())
    sig = insert_record(Signature(user_id=user.id, printed_name=user.full_name, meaning=meaning, signed_at=utcnow(),
                                  record_type=record_type or record.__tablename__,
                                  record_id=str(db.inspect(record).identity[0]),
                                  record_hash=hashlib.sha256(content.encode()).hexdigest()))
    audit.record(f"signature.{meaning}", sig, actor=user)
    sessions.record_first_signature(user)
    return sig


def signature_view(sig):
    if sig is None:
        return None
    return {"printed_name": sig.printed_name, "username": sig.user.username, "meaning": sig.meaning,
            "signed_at": iso(sig.signed_at), "record_hash": sig.record_hash}


def signatures_for(record_type, record_id):
    return db.session.scalars(select(Signature).where(Signature.record_type == record_type,
                                                      Signature.record_id == str(record_id))
                              .order_by(Signature.signed_at, Signature.id)).all()
