"""extensions.insert_record: a write-once record (custody event, bedside check, signature) written by one INSERT …
RETURNING and attached to the session as the persistent row it is, on SQLite and PostgreSQL alike."""
import datetime as dt

from sqlalchemy import func, select

from lims.auth.models import Signature
from lims.extensions import db, insert_record
from lims.timeutil import UTC


def _user_id(username):
    from lims.auth.models import User
    return db.session.scalar(select(User.id).where(User.username == username))


def _signature(**extra):
    return Signature(user_id=_user_id("nurse2"), printed_name="Nurse2 Person", meaning="witnessed",
                     record_type="bedside_checks", record_id="7", record_hash="a" * 64, **extra)


def test_a_record_gets_its_key_and_is_persistent_in_the_session(app, users):
    sig = insert_record(_signature(signed_at=dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)))
    assert isinstance(sig.id, int) and sig.id > 0
    assert db.inspect(sig).persistent and sig in db.session
    assert not db.session.dirty and not db.session.new
    assert sig.user.username == "nurse2"  # its relationships load like any row's


def test_a_record_is_written_once_and_reads_back_as_given(app, users):
    signed_at = dt.datetime(2026, 11, 24, 9, 0, 0, 123456, tzinfo=UTC)
    sig_id = insert_record(_signature(signed_at=signed_at)).id
    db.session.commit()  # the unit of work has nothing left to insert
    db.session.expunge_all()
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
    stored = db.session.get(Signature, sig_id)
    assert (stored.meaning, stored.record_id, stored.signed_at) == ("witnessed", "7", signed_at)


def test_column_defaults_are_filled_in_by_the_insert_and_carried_back(app, users):
    from lims.auth.models import ApiToken
    before = dt.datetime.now(UTC)
    token = insert_record(ApiToken(token_hash="b" * 64, user_id=_user_id("nurse1"),
                                   expires_at=before + dt.timedelta(hours=8)))
    after = dt.datetime.now(UTC)
    # created_at (utcnow) and revoked (False) were not given: the INSERT filled them and the object has them.
    assert before <= token.created_at <= after and token.revoked is False
    token_id, created_at = token.id, token.created_at
    db.session.commit()
    db.session.expunge_all()
    stored = db.session.get(ApiToken, token_id)
    assert (stored.created_at, stored.revoked, stored.user_id) == (created_at, False, _user_id("nurse1"))


def test_a_record_of_a_rolled_back_transaction_leaves_the_session(app, users):
    # It never existed; and SQLite gives its key out again, which the next record must be free to take.
    first = insert_record(_signature(signed_at=dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)))
    db.session.rollback()
    assert first not in db.session
    second = insert_record(_signature(signed_at=dt.datetime(2026, 11, 24, 9, 1, tzinfo=UTC)))
    db.session.commit()
    assert second in db.session
    assert db.session.scalar(select(func.count()).select_from(Signature)) == 1
