"""Found by the OpenAPI fuzz: an integer beyond what the database column holds (2**31 on PostgreSQL, 2**63 on SQLite)
was a 500. It is the client's input: an id in a path names no row (404 on both databases), and one in a body is a
clear 422."""
import pytest


@pytest.mark.parametrize("path", ["/lots/2147483648", "/lots/9223372036854775808/trace",
                                  "/subjects/340282366920938463463374607431768211456"])
def test_an_id_beyond_the_database_range_is_refused_clearly(api, path):
    r = api.get(path, as_="tech")
    assert r.status_code == 404, r.get_data(as_text=True)
    assert r.get_json()["error"]["code"] == "not_found"


def test_a_body_id_beyond_the_database_range_is_refused_clearly(api):
    r = api.post("/doses", {"subject_id": 2 ** 70, "lot_id": 2 ** 31}, as_="pharm1")
    assert r.status_code == 422, r.get_data(as_text=True)
    assert r.get_json()["error"]["code"] == "value_out_of_range"
