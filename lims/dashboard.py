"""What each role has to do now, for the home page. Each section reads through the domain services."""


def work_for(user):
    sections = []
    for role in user.roles:
        builder = SECTIONS.get(role)
        if builder is not None:
            sections.append(builder(user))
    return sections


def _technician(user):
    from lims.lots import services as lots
    quarantined = lots.lots_in_status("quarantine")
    return {"role": "technician", "title": "Lots in quarantine",
            "empty": "No lot is waiting in quarantine.",
            "rows": [{"text": f"{lot.din} {lot.check_character} — {lot.product.name}",
                      "detail": f"{len(lots.missing_tests(lot))} QC result(s) missing",
                      "href": f"/lots/{lot.id}"} for lot in quarantined]}


def _qa(user):
    from lims.lots import services as lots
    rows = []
    for lot in lots.lots_in_status("quarantine", "on_hold"):
        rows.append({"text": f"{lot.din} {lot.check_character} — {lot.status}",
                     "detail": lots.evaluate(lot)["status"], "href": f"/lots/{lot.id}"})
    return {"role": "qa", "title": "Release queue and holds", "empty": "Nothing waits for QA.", "rows": rows}


SECTIONS = {"technician": _technician, "qa": _qa}
