"""One JSON line per request and per refusal on stdout, with the request id the answer carries in X-Request-ID and
in every JSON error body."""
import json

import pytest

from tests.support import PASSWORD, bedside, enrol, expansion_study, received_bag, released_lot


def log_lines(capsys, event=None):
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if event is None or line["event"] == event]


def test_each_request_is_one_json_line_naming_who_asked_for_which_route(api, capsys):
    token = api.token("tech")
    capsys.readouterr()
    r = api.client.get("/api/v1/studies", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    [line] = log_lines(capsys)
    assert set(line) == {"time", "event", "request_id", "user", "method", "route", "status", "ms"}
    assert (line["event"], line["user"], line["method"], line["route"], line["status"]) == (
        "request", "tech", "GET", "/api/v1/studies", 200)
    assert line["request_id"] == r.headers["X-Request-ID"]
    assert line["time"].endswith("Z") and 0 <= line["ms"] < 10_000


def test_the_route_is_the_rule_not_the_path_so_no_identifier_is_logged(api, capsys):
    api.get("/lots/987654", as_="tech")
    line = log_lines(capsys, "request")[-1]
    assert line["route"] == "/api/v1/lots/<int:lot_id>" and "987654" not in json.dumps(line)


def test_a_refusal_is_a_second_line_with_its_code_and_the_id_is_in_the_error_body(api, capsys):
    r = api.post("/donors", {"code": "D-0001", "eligibility": "maybe"}, as_="tech")
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"]["request_id"] == r.headers["X-Request-ID"]
    request_line, refusal = log_lines(capsys)[-2:]
    assert (request_line["event"], refusal["event"]) == ("request", "refusal")
    assert (refusal["request_id"], refusal["status"], refusal["code"], refusal["user"]) == (
        r.headers["X-Request-ID"], 422, "validation_failed", "tech")
    assert "eligibility" in refusal["fields"]


def test_an_unauthenticated_api_call_is_refused_with_its_id(client, capsys):
    r = client.get("/api/v1/studies", headers={"X-Request-ID": "lb-7f3a9c"})
    assert (r.status_code, r.headers["X-Request-ID"], r.get_json()["error"]["request_id"]) == (
        401, "lb-7f3a9c", "lb-7f3a9c")
    refusal = log_lines(capsys, "refusal")[-1]
    assert (refusal["request_id"], refusal["code"], refusal["user"]) == ("lb-7f3a9c", "not_authenticated", None)


@pytest.mark.parametrize("offered", ["", "has space", "x" * 65, "<script>", "id;drop", "-starts-with-dash"])
def test_an_insane_incoming_request_id_is_replaced(client, offered):
    r = client.get("/healthz", headers={"X-Request-ID": offered})
    assert r.headers["X-Request-ID"] != offered
    assert len(r.headers["X-Request-ID"]) == 16 and int(r.headers["X-Request-ID"], 16) >= 0


def test_each_request_without_an_id_gets_its_own(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_a_csrf_refusal_on_a_page_form_is_logged_with_its_id(client, users, capsys):
    r = client.post("/login", data={"username": "tech", "password": PASSWORD})
    assert r.status_code == 400
    refusal = log_lines(capsys, "refusal")[-1]
    assert (refusal["code"], refusal["route"], refusal["request_id"]) == ("csrf_failed", "/login",
                                                                          r.headers["X-Request-ID"])


def test_a_bedside_stop_carries_the_request_id_and_is_logged_as_a_refusal(api, capsys):
    lot, study = released_lot(api), expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", wristband="MRN-0001", cohort="Expansion")
    enrol(api, study["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
    bag = received_bag(api, subject["id"], lot["id"])
    capsys.readouterr()
    r = bedside(api, bag["scan"], "MRN-0002")
    assert r.status_code == 409
    body = r.get_json()
    assert (body["ok"], body["error"]["code"], body["error"]["request_id"]) == (
        False, "bedside_check_failed", r.headers["X-Request-ID"])
    refusal = log_lines(capsys, "refusal")[-1]
    assert (refusal["code"], refusal["user"], refusal["route"]) == ("bedside_check_failed", "nurse1",
                                                                    "/api/v1/bedside/verify")


def test_a_refusal_on_a_page_names_its_request_id_for_the_help_desk(client, users):
    r = client.get("/no-such-page", headers={"X-Request-ID": "ward4-3am"})
    assert (r.status_code, r.headers["X-Request-ID"]) == (404, "ward4-3am")
    assert "Reference for the help desk: <code>ward4-3am</code>" in r.get_data(as_text=True)
