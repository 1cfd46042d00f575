"""What the input tests share: the number of rows in every table, so a refusal can be shown to have written nothing."""
from sqlalchemy import func, select

from lims.extensions import db


def row_counts():
    """Rows per table; a test client's first call as a user issues its token, which is no record of the refusal."""
    counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
              for table in db.metadata.sorted_tables if table.name != "api_tokens"}
    db.session.rollback()
    return counts


def refused(response, status, field=None):
    """The JSON error shape, the status, and the field named; returns the field's messages as one string."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert {"code", "message", "fields"} <= set(body["error"]), body
    if field is None:
        return body["error"]["message"]
    assert field in body["error"]["fields"], body
    return " ".join(map(str, body["error"]["fields"][field]))
