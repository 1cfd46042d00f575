"""The bag label as Zebra ZPL (issue 5): the QR as ^BQ with the scan payload, the DIN as ^BC, user text escaped,
printed and counted by the same rules as the PDF."""
from sqlalchemy import select

from lims.audit.models import AuditEntry
from lims.extensions import db
from lims.labels import zpl
from lims.studies.models import Subject


def zpl_label(api, code, reason=None):
    return api.get(f"/bags/{code}/label.zpl" + (f"?reprint_reason={reason}" if reason else ""), as_="pharm1")


def commands(text):
    """ZPL split into its ^/~ commands: [(name, rest)], e.g. ("FD", "MA,MSC1:...")."""
    out = []
    for chunk in text.replace("\n", "").split("^")[1:]:
        out.append((chunk[:2], chunk[2:]))
    return out


def fields(text):
    """Each field's (barcode command or None, decoded data), reading ^FH hex escapes as a printer would."""
    found, kind, hex_escaped = [], None, False
    for name, rest in commands(text):
        if name in ("BQ", "BC"):
            kind = name
        elif name == "FH":
            hex_escaped = True
        elif name == "FD":
            found.append((kind, zpl.unescape(rest) if hex_escaped else rest))
        elif name == "FS":
            kind, hex_escaped = None, False
    return found


def test_zpl_label_is_served_as_one_zpl_label(api, bag):
    r = zpl_label(api, bag["code"])
    assert r.status_code == 200, r.get_json(silent=True)
    assert r.mimetype == "application/zpl"
    text = r.get_data(as_text=True)
    assert text.startswith("^XA") and text.rstrip().endswith("^XZ") and text.count("^XA") == 1


def test_zpl_qr_field_carries_the_scan_payload(api, bag):
    qr = [data for kind, data in fields(zpl_label(api, bag["code"]).get_data(as_text=True)) if kind == "BQ"]
    assert qr == ["MA," + bag["scan"]]


def test_zpl_code128_fields_carry_the_isbt_din_and_product_code_data(api, bag):
    c128 = [data for kind, data in fields(zpl_label(api, bag["code"]).get_data(as_text=True)) if kind == "BC"]
    assert c128 == ["=" + bag["din"] + "00", "=<S1234V00"]


def test_zpl_text_fields_carry_the_spec_9_items(api, bag):
    texts = [data for kind, data in fields(zpl_label(api, bag["code"]).get_data(as_text=True)) if kind is None]
    joined = "\n".join(texts)
    for item in ("itMSC, cryopreserved", "Product code S1234", bag["check_character"], "MRN-S-001", "S-001",
                 "Final volume", "10.1 mL", "109 million cells", "1.5 million cells/kg", "Protocol EXP-1",
                 "Thawed: keep at room temperature 15–25 °C, do not refreeze, use by",
                 "Caution: New Drug—Limited by Federal (or United States) law to "
                 "investigational use.", "For intravenous use only. Do not irradiate. Do not use a leukocyte "
                 "reduction filter."):
        assert item in joined, item
    assert "REPRINT" not in joined


def test_zpl_escapes_command_characters_in_user_text(api, bag):
    hostile = "^XZ^XA~JA_x"
    subject = db.session.scalar(select(Subject).where(Subject.code == bag["subject_code"]))
    subject.code = hostile
    db.session.commit()
    text = zpl_label(api, bag["code"]).get_data(as_text=True)
    assert text.count("^XA") == 1 and text.count("^XZ") == 1 and "~" not in text
    assert "_5EXZ_5EXA_7EJA_5Fx" in text
    assert any(hostile in data for kind, data in fields(text) if kind is None)


def test_zpl_and_pdf_share_one_print_count(api, bag):
    assert zpl_label(api, bag["code"]).status_code == 200
    assert zpl_label(api, bag["code"]).status_code == 422
    r = api.get(f"/bags/{bag['code']}/label.pdf?reprint_reason=jammed", as_="pharm1")
    assert r.status_code == 200
    assert api.get(f"/bags/{bag['code']}", as_="pharm1").get_json()["label_prints"] == 2
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("label.%"))
                                 .order_by(AuditEntry.seq)).all()
    assert actions == ["label.printed", "label.reprinted", "label.voided"]


def test_zpl_reprint_says_reprint(api, bag):
    zpl_label(api, bag["code"])
    text = zpl_label(api, bag["code"], reason="faded").get_data(as_text=True)
    joined = " ".join(data for kind, data in fields(text) if kind is None)
    assert "REPRINT" in joined and "faded" in joined


def test_escape_round_trips_unicode_and_command_characters():
    value = "a^b~c_d — ≤ −150 °C\n"
    escaped = zpl.escape(value)
    assert not set("^~\n") & set(escaped)
    assert zpl.unescape(escaped) == value
