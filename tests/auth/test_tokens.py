import datetime as dt

from lims.auth.models import ApiToken
from lims.extensions import db
from tests.support import PASSWORD


def test_token_issued_for_right_password_and_accepted(api):
    r = api.client.post("/api/v1/auth/token", json={"username": "tech", "password": PASSWORD})
    assert r.status_code == 200
    body = r.get_json()
    assert len(body["token"]) >= 40 and body["expires_at"].endswith("Z")
    r = api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status_code == 200 and r.get_json() == []


def test_wrong_password_is_401_json(api):
    r = api.client.post("/api/v1/auth/token", json={"username": "tech", "password": "nope-nope-nope"})
    assert r.status_code == 401
    assert r.get_json()["error"]["code"] == "invalid_credentials"


def test_forged_token_is_401(api):
    r = api.client.get("/api/v1/studies", headers={"Authorization": "Bearer forged-token-value"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_token"


def test_expired_token_is_401(api):
    token = api.token("tech")
    db.session.execute(db.update(ApiToken).values(expires_at=dt.datetime.now(dt.timezone.utc)
                                                  - dt.timedelta(seconds=1)))
    db.session.commit()
    r = api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_expired"


def test_read_without_token_is_401(api):
    r = api.get("/lots/1")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "not_authenticated"
