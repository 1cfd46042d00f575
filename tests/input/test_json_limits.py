"""SPEC §18: a JSON body that is not UTF-8, holds a lone surrogate, nests deeper than 32 levels or holds a number
longer than 50 digits is a 400 with the JSON error shape, before any view runs: before sign-in too."""
import pytest

from tests.input.helpers import refused, row_counts

HOSTILE_BODIES = {
    "not UTF-8": b'{"username": "\xff\xfe", "password": "x"}',
    "UTF-16": '{"username": "tech", "password": "x"}'.encode("utf-16"),
    "lone surrogate": b'{"username": "\\ud800", "password": "x"}',
    "lone surrogate in a key": b'{"\\udc00": 1}',
    "1000 levels deep": b'{"username": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "33 levels deep": b"[" * 33 + b"]" * 33,
    "a 5000-digit number": b'{"username": "tech", "password": ' + b"9" * 5000 + b"}",
    "a 51-digit number": b'{"username": ' + b"1" * 51 + b"}",
    "a 51-digit decimal": b'{"username": 0.' + b"1" * 51 + b"}",
    "an infinite number": b'{"username": 1e999}',
    "NaN": b'{"username": NaN}',
    "Infinity": b'{"username": -Infinity}',
    "truncated": b'{"username": "tech"',
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_a_hostile_body_is_refused_before_sign_in(client, name):
    r = client.post("/api/v1/auth/token", data=HOSTILE_BODIES[name], content_type="application/json")
    assert refused(r, 400)
    assert r.get_json()["error"]["code"] == "malformed_request"


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_a_hostile_body_is_refused_before_any_view_and_writes_nothing(api, name):
    token = api.token("tech")
    before = row_counts()
    r = api.client.post("/api/v1/donors", data=HOSTILE_BODIES[name], content_type="application/json",
                        headers={"Authorization": f"Bearer {token}"})
    refused(r, 400)
    assert r.get_json()["error"]["code"] == "malformed_request"
    assert row_counts() == before


def test_a_hostile_body_to_a_page_is_answered_in_the_json_shape(client):
    r = client.post("/login", data=HOSTILE_BODIES["lone surrogate"], content_type="application/json")
    refused(r, 400)


@pytest.mark.parametrize("body", [b"[" * 32 + b"]" * 32, b'{"code": "D-1", "eligibility": "eligible", "n": ' +
                                  b"1" * 50 + b"}", b'{"code": "\\ud83d\\ude00"}', b'{"code": "[[[[[[[[[[[[[[[[[['
                                  b'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}'])
def test_what_is_within_the_limits_reaches_the_schema(api, body):
    token = api.token("tech")
    r = api.client.post("/api/v1/donors", data=body, content_type="application/json",
                        headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422, r.get_json()  # the schema's refusal, not the body's


def test_an_unknown_api_route_and_a_wrong_method_answer_in_the_json_shape(client):
    refused(client.get("/api/v1/no-such-thing"), 404)
    refused(client.put("/api/v1/auth/token", json={}), 405)


def test_a_body_over_the_size_limit_is_refused_in_the_json_shape(client):
    r = client.post("/api/v1/auth/token", data=b'{"username": "' + b"a" * (2 * 1024 * 1024) + b'"}',
                    content_type="application/json")
    refused(r, 413)


def test_a_form_body_to_the_api_is_refused_in_the_json_shape(client):
    r = client.post("/api/v1/auth/token", data={"username": "tech", "password": "x"})
    refused(r, 400)
