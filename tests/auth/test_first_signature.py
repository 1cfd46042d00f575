"""The first signature of a page session asks for the username and the password; later ones in the same session the
password alone (SPEC §4, 21 CFR 11.200(a)(1)). Enforced by the service every signature passes, on both databases;
the API's signatures are unchanged ({"password"}; a username, when sent, must name the signer)."""
import json
import unicodedata

from sqlalchemy import func, select

from lims.audit.models import AuditEntry
from lims.auth import services as auth
from lims.auth.models import User
from lims.doses.models import DoseVerification
from lims.extensions import db
from tests.lots.helpers import count, qc_with
from tests.support import (PASSWORD, PageClient, enrol, expansion_study, labelled_dose, make_lot, make_product,
                           record_qc, released_lot, sig, signed_in, text_of)

USERNAME_FIELD = 'name="signature.username"'


def _ready_lot(api, **kw):
    make_product(api)
    lot = make_lot(api, **kw)
    record_qc(api, lot["id"], qc_with())
    return lot


def _status(api, lot_id):
    return api.get(f"/lots/{lot_id}", as_="qa").get_json()["status"]


def _audit_rows():
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def _failed_attempts(username):
    db.session.rollback()
    return db.session.scalar(select(User.failed_attempts).where(User.username == username))


def _release(page, lot_id, **signature):
    form = {f"signature.{k}": v for k, v in {"password": PASSWORD, **signature}.items()}
    return page.post(f"/lots/{lot_id}/release", form, first_signature_username=False)


def test_the_first_signature_form_asks_the_username_and_says_why(api, app, users):
    lot = _ready_lot(api)
    page = signed_in(app, "qa").get(f"/lots/{lot['id']}").get_data(as_text=True)
    assert USERNAME_FIELD in page and 'autocomplete="username"' in page
    assert "Your first signature of this session: enter your username and password." in text_of(page)


def test_a_first_page_signature_without_username_is_422_naming_it_and_writes_nothing(api, app, users):
    lot = _ready_lot(api)
    qa = signed_in(app, "qa")
    rows = _audit_rows()
    r = _release(qa, lot["id"])
    assert r.status_code == 422
    assert "the first signature of a session asks for your username and password" in text_of(r.get_data(as_text=True))
    assert _audit_rows() == rows
    assert _status(api, lot["id"]) == "quarantine"
    assert _failed_attempts("qa") == 0  # nothing was checked, so nothing is counted
    assert not qa.session_has_signed()


def test_a_first_page_signature_without_username_names_the_field_in_the_error(api, app, users):
    lot = _ready_lot(api)
    qa = signed_in(app, "qa")
    r = qa.post(f"/lots/{lot['id']}/release", {"signature.password": PASSWORD, "signature.username": ""},
                first_signature_username=False)  # the field left blank: the browser sends it empty
    assert r.status_code == 422
    assert "<strong>Username</strong>: required for the first signature of this session" in r.get_data(as_text=True)


def test_a_first_page_signature_with_another_username_is_401_counted_and_a_security_event(api, app, users):
    lot = _ready_lot(api)
    qa = signed_in(app, "qa")
    r = _release(qa, lot["id"], username="qa2")
    assert r.status_code == 401
    assert "the username is not that of the signed-in user" in text_of(r.get_data(as_text=True))
    assert _failed_attempts("qa") == 1 and _failed_attempts("qa2") == 0
    assert _status(api, lot["id"]) == "quarantine"
    [event] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "security.signature_refused")).all()
    assert event.actor == "qa"
    assert json.loads(event.after) == {"signer": "qa", "reason": "wrong_username", "locked": False}
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action.like("signature.%"))).all()
    assert not qa.session_has_signed()
    assert api.get("/audit/verify", as_="qa").get_json()["ok"] is True


def test_wrong_usernames_count_toward_lockout_with_wrong_passwords(api, app, users):
    app.config["LIMS_LOCKOUT_THRESHOLD"] = 2
    lot = _ready_lot(api)
    qa = signed_in(app, "qa")
    assert _release(qa, lot["id"], username="qa", password="not-my-password-9").status_code == 401
    r = _release(qa, lot["id"], username="tech")
    assert r.status_code == 401 and "locked for" in text_of(r.get_data(as_text=True))
    assert _release(qa, lot["id"], username="qa").status_code == 401  # locked: even the right pair is refused
    assert api.get(f"/lots/{lot['id']}", as_="qa2").get_json()["status"] == "quarantine"


def test_a_first_page_signature_with_the_own_username_in_any_case_signs(api, app, users):
    lot = _ready_lot(api)
    qa = signed_in(app, "qa")
    r = _release(qa, lot["id"], username="QA")
    assert r.status_code == 302
    assert _status(api, lot["id"]) == "released"
    assert qa.session_has_signed()


def test_after_the_first_signature_the_form_and_the_service_ask_only_the_password(api, app, users):
    first, second = _ready_lot(api), make_lot(api)
    record_qc(api, second["id"], qc_with())
    qa = signed_in(app, "qa")
    assert _release(qa, first["id"], username="qa").status_code == 302
    page = qa.get(f"/lots/{second['id']}").get_data(as_text=True)
    assert USERNAME_FIELD not in page and 'name="signature.password"' in page
    assert "Re-enter your password to sign." in text_of(page)
    assert _release(qa, second["id"]).status_code == 302
    assert _status(api, second["id"]) == "released"


def test_a_username_sent_after_the_first_signature_must_still_name_the_signer(api, app, users):
    """A form drawn before the session signed (another tab) still sends the username: checked, not ignored."""
    first, second = _ready_lot(api), make_lot(api)
    record_qc(api, second["id"], qc_with())
    qa = signed_in(app, "qa")
    assert _release(qa, first["id"], username="qa").status_code == 302
    assert _release(qa, second["id"], username="qa2").status_code == 401
    assert _status(api, second["id"]) == "quarantine"
    assert _release(qa, second["id"], username="qa").status_code == 302


def test_a_refused_first_signature_leaves_the_session_asking(api, app, users):
    make_product(api)
    lot = make_lot(api)  # no QC results: the release is refused (409) after the signer was proven
    qa = signed_in(app, "qa")
    r = _release(qa, lot["id"], username="qa")
    assert r.status_code == 409
    assert not qa.session_has_signed()
    assert USERNAME_FIELD in qa.get(f"/lots/{lot['id']}").get_data(as_text=True)


def test_a_refusal_that_is_recorded_does_not_count_as_the_first_signature(api, app, users):
    """A verification refused on its scan or volume keeps the attempt (committed) but signs nothing."""
    subject = enrol(api, expansion_study(api)["id"], code="S-001", cohort="Expansion", weight="160 lb")
    dose = labelled_dose(api, subject["id"], released_lot(api)["id"])
    pharm2 = signed_in(app, "pharm2")
    form = {"bag": dose["bag"]["scan"], "measured_volume": "14 mL", "signature.password": PASSWORD,
            "signature.username": "pharm2"}
    assert pharm2.post(f"/doses/{dose['id']}/verify", form).status_code == 409
    assert count(DoseVerification) == 1
    assert not pharm2.session_has_signed()
    assert pharm2.post(f"/doses/{dose['id']}/verify", {**form, "measured_volume": "10.1 mL"}).status_code == 302
    assert pharm2.session_has_signed()


def test_a_new_session_asks_for_the_username_again(api, app, users):
    first, second = _ready_lot(api), make_lot(api)
    record_qc(api, second["id"], qc_with())
    qa = signed_in(app, "qa")
    assert _release(qa, first["id"], username="qa").status_code == 302
    qa.post("/logout")
    qa.sign_in("qa")
    assert not qa.session_has_signed()
    assert USERNAME_FIELD in qa.get(f"/lots/{second['id']}").get_data(as_text=True)
    assert _release(qa, second["id"]).status_code == 422
    assert _release(qa, second["id"], username="qa").status_code == 302


def test_each_session_of_one_user_asks_on_its_own(api, app, users):
    first, second = _ready_lot(api), make_lot(api)
    record_qc(api, second["id"], qc_with())
    desk, ward = signed_in(app, "qa"), signed_in(app, "qa")
    assert _release(desk, first["id"], username="qa").status_code == 302
    assert _release(ward, second["id"]).status_code == 422
    assert not ward.session_has_signed()


def test_usernames_compare_nfc_normalised_and_without_regard_to_case(api, app, users):
    auth.create_user("jos\u00e9", "José Person", ["qa"], PASSWORD)
    lot = _ready_lot(api)
    jose = PageClient(app).sign_in("jos\u00e9")
    typed = unicodedata.normalize("NFD", "JOS\u00c9")  # E + combining acute, as another keyboard types it
    assert typed != "JOS\u00c9"
    assert _release(jose, lot["id"], username=typed).status_code == 302
    assert _status(api, lot["id"]) == "released"


def test_api_signatures_need_only_the_password(api, users):
    lot = _ready_lot(api)
    r = api.post(f"/lots/{lot['id']}/release", {"signature": sig()}, as_="qa")
    assert r.status_code == 200 and r.get_json()["status"] == "released"


def test_an_api_signature_with_a_username_must_name_the_signer(api, users):
    first, second = _ready_lot(api), make_lot(api)
    record_qc(api, second["id"], qc_with())
    r = api.post(f"/lots/{first['id']}/release", {"signature": {**sig(), "username": "qa2"}}, as_="qa")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_credentials"
    assert _status(api, first["id"]) == "quarantine" and _failed_attempts("qa") == 1
    r = api.post(f"/lots/{second['id']}/release", {"signature": {**sig(), "username": "Qa"}}, as_="qa")
    assert r.status_code == 200 and r.get_json()["status"] == "released"


def test_an_api_signature_username_follows_the_text_rules(api, users):
    lot = _ready_lot(api)
    r = api.post(f"/lots/{lot['id']}/release", {"signature": {**sig(), "username": "qa\u202e"}}, as_="qa")
    assert r.status_code == 422 and "username" in r.get_json()["error"]["fields"]["signature"]
    assert _status(api, lot["id"]) == "quarantine"
