"""Audit rows as people read records (SPEC §17): the record by the name the product prints (lot
`W1234 26 000123 3`, subject `S-001`, a bag code), the actor's printed name, the action in words, and each changed
field as old → new.

Names are resolved a batch at a time, one query per kind of record present in the batch, and kept in a bounded
cache, so neither a page nor a million-row export asks the database once per row.
"""
import json

from sqlalchemy import select

from lims.extensions import db

ACTION_WORDS = {
    "user.created": "User account created", "user.unlocked": "Account unlocked by an administrator",
    "auth.login_failed": "Sign-in refused: wrong password",
    "auth.signature_failed": "Signature refused: wrong password",
    "user.deactivated": "Account deactivated by an administrator",
    "user.reactivated": "Account reactivated by an administrator",
    "security.sign_in_failed": "Security event: sign-in refused",
    "security.sign_in_throttled": "Security event: sign-ins from one address refused for a while",
    "security.signature_refused": "Security event: signature refused",
    "security.permission_refused": "Security event: refused, a role the user lacks",
    "security.segregation_refused": "Security event: refused, segregation of duties",
    "product.created": "Product created", "donor.created": "Donor registered",
    "donor.eligibility_changed": "Donor eligibility changed",
    "lot.registered": "Lot registered", "lot.released": "Lot released", "lot.rejected": "Lot rejected",
    "lot.on_hold": "Lot put on hold", "lot.recalled": "Lot recalled", "lot.reviewed": "Late QC result reviewed",
    "qc.recorded": "QC result recorded", "qc.corrected": "QC result corrected",
    "subject.notified": "Subject notified of a hold, recall or look-back",
    "study.created": "Study created", "subject.enrolled": "Subject enrolled", "subject.weighed": "Weight recorded",
    "cohort.reviewed": "Cohort safety review signed",
    "dose.planned": "Dose planned", "dose.superseded": "Dose plan superseded", "dose.prepared": "Dose prepared",
    "dose.verified": "Dose verified by a second pharmacist", "container.thawed": "Container thawed for a dose",
    "bag.created": "Bag made", "label.printed": "Label printed", "label.reprinted": "Label reprinted",
    "custody.dispensed": "Bag dispensed", "custody.received": "Bag received on the ward",
    "custody.returned": "Bag returned to pharmacy", "custody.discarded": "Bag discarded",
    "bedside.verified": "Bedside check passed", "bedside.near_miss": "Bedside check failed: near miss",
    "infusion.recorded": "Infusion recorded",
    "adverse_event.recorded": "Adverse event recorded",
    "adverse_event.superseded": "Adverse event superseded by a correction",
}
# The groups a filter offers (`security.*` matches every action of the group).
ACTION_GROUPS = {"security.*": "Security events", "auth.*": "Refused passwords", "lot.*": "Lot dispositions",
                 "qc.*": "QC results", "dose.*": "Doses", "custody.*": "Bag custody", "bedside.*": "Bedside checks",
                 "signature.*": "Signatures", "label.*": "Labels", "user.*": "User accounts",
                 "adverse_event.*": "Adverse events"}


def action_words(action):
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    group, _, rest = action.partition(".")
    if group == "signature":
        return f"Signed: {rest.replace('_', ' ')}"
    if group == "security":  # written by the sign-in and permission checks (issue 14b)
        return f"Security event: {rest.replace('_', ' ').replace('.', ' ')}"
    return action.replace(".", ": ", 1).replace("_", " ").capitalize()


# --- changes: old → new -------------------------------------------------------------------------------------------

def _value_text(value):
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _loaded(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def changes(before_text, after_text):
    """[{field, old, new}] as text: only the fields that differ when both sides are known; every field set on a new
    record; every field of a record's state that was removed."""
    before, after = _loaded(before_text), _loaded(after_text)
    if not isinstance(before, dict) and not isinstance(after, dict):
        return [] if before is None and after is None else [
            {"field": "value", "old": _value_text(before), "new": _value_text(after)}]
    before, after = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
    out = []
    for field in list(after) + [k for k in before if k not in after]:
        old, new = before.get(field), after.get(field)
        if field in before and field in after and old == new:
            continue
        if field not in before and new is None:
            continue
        out.append({"field": field, "old": _value_text(old) if field in before else "", "new": _value_text(new)})
    return out


def changes_text(items):
    return "; ".join(f"{c['field']}: {c['old']} → {c['new']}" if c["old"] else f"{c['field']}: {c['new']}"
                     for c in items)


# --- record names ---------------------------------------------------------------------------------------------

def _printed_lot(din, check):
    from lims.lots.isbt import printed
    return printed(din, check)


def _models():
    from lims.auth.models import User
    from lims.chainofcustody.models import BedsideCheck, ContainerEvent, CustodyEvent, Infusion
    from lims.doses.models import Bag, Dose
    from lims.labels.models import LabelPrint
    from lims.lots.models import Container, Donor, Lot, LotDisposition, Product, QcResult
    from lims.safety.models import AdverseEvent
    from lims.studies.models import Cohort, SafetyReview, Study, Subject, SubjectWeight
    return {model.__name__: model for model in (
        AdverseEvent,
        User, BedsideCheck, ContainerEvent, CustodyEvent, Infusion, Bag, Dose, LabelPrint, Container, Donor, Lot,
        LotDisposition, Product, QcResult, Cohort, SafetyReview, Study, Subject, SubjectWeight)}


def _resolvers():
    """entity → (ids → {id: (name, href)}), each one query."""
    m = _models()
    Lot, Subject, Bag, Dose, Container = m["Lot"], m["Subject"], m["Bag"], m["Dose"], m["Container"]

    def rows(query):
        return db.session.execute(query).all()

    def lots(ids):
        return {str(i): (f"lot {_printed_lot(d, c)}", f"/lots/{i}")
                for i, d, c in rows(select(Lot.id, Lot.din, Lot.check_character).where(Lot.id.in_(ids)))}

    def by_lot(model, what):
        def resolve(ids):
            q = select(model.id, Lot.id, Lot.din, Lot.check_character).join(Lot, Lot.id == model.lot_id)
            return {str(i): (f"{what} of lot {_printed_lot(d, c)}", f"/lots/{lot}")
                    for i, lot, d, c in rows(q.where(model.id.in_(ids)))}
        return resolve

    def qc(ids):
        q = (select(m["QcResult"].id, m["QcResult"].test, Lot.id, Lot.din, Lot.check_character)
             .join(Lot, Lot.id == m["QcResult"].lot_id).where(m["QcResult"].id.in_(ids)))
        return {str(i): (f"QC {test} of lot {_printed_lot(d, c)}", f"/lots/{lot}") for i, test, lot, d, c in rows(q)}

    def containers(ids):
        q = select(Container.id, Container.code, Container.lot_id).where(Container.id.in_(ids))
        return {str(i): (f"container {code}", f"/lots/{lot}") for i, code, lot in rows(q)}

    def container_events(ids):
        ev = m["ContainerEvent"]
        q = select(ev.id, Container.code, Container.lot_id).join(Container, Container.id == ev.container_id)
        return {str(i): (f"container {code}", f"/lots/{lot}") for i, code, lot in rows(q.where(ev.id.in_(ids)))}

    def subjects(ids):
        q = select(Subject.id, Subject.code).where(Subject.id.in_(ids))
        return {str(i): (f"subject {code}", f"/subjects/{i}") for i, code in rows(q)}

    def by_subject(model, what):
        def resolve(ids):
            q = select(model.id, Subject.id, Subject.code).join(Subject, Subject.id == model.subject_id)
            return {str(i): (f"{what} of subject {code}", f"/subjects/{s}")
                    for i, s, code in rows(q.where(model.id.in_(ids)))}
        return resolve

    def bags(ids):
        return {str(i): (f"bag {code}", f"/bags/{code}")
                for i, code in rows(select(Bag.id, Bag.code).where(Bag.id.in_(ids)))}

    def by_bag(model, what):
        def resolve(ids):
            q = select(model.id, Bag.code).join(Bag, Bag.id == model.bag_id).where(model.id.in_(ids))
            return {str(i): (f"{what}bag {code}", f"/bags/{code}") for i, code in rows(q)}
        return resolve

    def bedside_checks(ids):
        bc = m["BedsideCheck"]
        q = (select(bc.id, bc.bag_scan, bc.wristband_scan, Bag.code).outerjoin(Bag, Bag.id == bc.bag_id)
             .where(bc.id.in_(ids)))
        return {str(i): (f"bedside check of bag {code or scan} at wristband {band}", f"/bedside/checks/{i}")
                for i, scan, band, code in rows(q)}

    def doses(ids):
        q = (select(Dose.id, Subject.code, Lot.din, Lot.check_character).join(Subject, Subject.id == Dose.subject_id)
             .join(Lot, Lot.id == Dose.lot_id).where(Dose.id.in_(ids)))
        return {str(i): (f"dose of subject {code} from lot {_printed_lot(d, c)}", f"/doses/{i}")
                for i, code, d, c in rows(q)}

    def simple(model, column, what, href=None):
        def resolve(ids):
            q = select(model.id, column).where(model.id.in_(ids))
            return {str(i): (f"{what} {name}", href(i, name) if href else None) for i, name in rows(q)}
        return resolve

    def users(ids):
        u = m["User"]
        q = select(u.id, u.username, u.full_name).where(u.id.in_(ids))
        return {str(i): (f"user {name} ({full})", "/users") for i, name, full in rows(q)}

    def cohorts(ids):
        c, s = m["Cohort"], m["Study"]
        q = select(c.id, c.name, s.code, s.id).join(s, s.id == c.study_id).where(c.id.in_(ids))
        return {str(i): (f"cohort {name} of study {code}", f"/studies/{sid}") for i, name, code, sid in rows(q)}

    def reviews(ids):
        r, c, s = m["SafetyReview"], m["Cohort"], m["Study"]
        q = (select(r.id, c.name, s.code, s.id).join(c, c.id == r.cohort_id).join(s, s.id == c.study_id)
             .where(r.id.in_(ids)))
        return {str(i): (f"safety review of cohort {name}, study {code}", f"/studies/{sid}")
                for i, name, code, sid in rows(q)}

    def adverse_events(ids):
        ae = m["AdverseEvent"]
        q = select(ae.id, ae.term, Subject.id, Subject.code).join(Subject, Subject.id == ae.subject_id)
        # As the subject page names it: the term the investigator wrote, under the subject's code.
        return {str(i): (f"adverse event {term} of subject {code}", f"/subjects/{s}")
                for i, term, s, code in rows(q.where(ae.id.in_(ids)))}

    return {
        "lots": lots, "qc_results": qc, "lot_dispositions": by_lot(m["LotDisposition"], "disposition"),
        "containers": containers, "container_events": container_events,
        "subjects": subjects, "subject_weights": by_subject(m["SubjectWeight"], "weight"),
        "bags": bags, "custody_events": by_bag(m["CustodyEvent"], ""),
        "label_prints": by_bag(m["LabelPrint"], "label of "), "infusions": by_bag(m["Infusion"], "infusion of "),
        "bedside_checks": bedside_checks, "doses": doses, "users": users,
        "products": simple(m["Product"], m["Product"].code, "product", lambda i, code: f"/products/{code}"),
        "donors": simple(m["Donor"], m["Donor"].code, "donor"),
        "studies": simple(m["Study"], m["Study"].code, "study", lambda i, code: f"/studies/{i}"),
        "cohorts": cohorts, "safety_reviews": reviews,
        "adverse_events": adverse_events,
    }


class Namer:
    """Names the records and actors of audit rows, batch by batch, remembering what it has resolved."""

    CACHE_LIMIT = 50_000

    def __init__(self):
        self._resolvers = _resolvers()
        self._names = {}   # (entity, id) → (name, href)
        self._people = {}  # user id → printed name

    def _fallback(self, entity, entity_id):
        return (f"{entity.replace('_', ' ')} {entity_id or ''}".strip(), None)

    def _resolve(self, pairs):
        wanted = {}
        for entity, entity_id in pairs:
            if entity_id is not None and (entity, entity_id) not in self._names and entity in self._resolvers:
                wanted.setdefault(entity, set()).add(entity_id)
        if len(self._names) > self.CACHE_LIMIT:
            self._names.clear()
        for entity, ids in wanted.items():
            numeric = [int(i) for i in ids if i.isdigit() and len(i) < 10]
            found = self._resolvers[entity](numeric) if numeric else {}
            for entity_id in ids:
                self._names[(entity, entity_id)] = found.get(entity_id) or self._fallback(entity, entity_id)

    def _people_of(self, ids):
        from lims.auth.models import User
        missing = {i for i in ids if i is not None and i not in self._people}
        if missing:
            for i, full_name in db.session.execute(select(User.id, User.full_name).where(User.id.in_(missing))):
                self._people[i] = full_name
            for i in missing:
                self._people.setdefault(i, None)

    def name(self, entity, entity_id):
        return self._names.get((entity, entity_id)) or self._fallback(entity, entity_id)

    def present_record(self, entity, entity_id):
        """The name of one record, for the heading of its history."""
        from lims.audit.query import RECORD_KINDS
        table = RECORD_KINDS.get(entity, entity)
        self._resolve([(table, str(entity_id))])
        return self.name(table, str(entity_id))[0]

    def present(self, rows):
        """Each audit row (a tuple of query.COLUMNS) as a dict people and CSV readers both read."""
        targets = []
        for row in rows:
            targets.append((row.entity, row.entity_id))
            if row.entity == "signatures":  # a signature is named by the record it signs
                signed = _loaded(row.after) or {}
                if isinstance(signed, dict) and signed.get("record_type"):
                    targets.append((signed["record_type"], str(signed.get("record_id"))))
        self._resolve(targets)
        self._people_of({row.actor_id for row in rows})
        return [self._row(row) for row in rows]

    def _row(self, row):
        name, href = self.name(row.entity, row.entity_id)
        if row.entity == "signatures":
            signed = _loaded(row.after) or {}
            if isinstance(signed, dict) and signed.get("record_type"):
                target, href = self.name(signed["record_type"], str(signed.get("record_id")))
                name = f"signature on {target}"
        items = changes(row.before, row.after)
        return {"seq": row.seq, "at": row.at, "actor": row.actor,
                "actor_name": self._people.get(row.actor_id) or ("the system" if row.actor == "system" else row.actor),
                "action": row.action, "action_text": action_words(row.action), "entity": row.entity,
                "entity_id": row.entity_id, "record": name, "record_href": href, "changes": items,
                "changes_text": changes_text(items), "reason": row.reason, "before": row.before,
                "after": row.after, "prev_hash": row.prev_hash, "hash": row.hash}
