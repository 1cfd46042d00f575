"""Reading a typed or scanned text as the record it names.

A scan is exact, so it finds one record and the page goes straight to it. What people type is often less: a DIN
without its check character, a DIN with the spaces it is printed with, the first digits of a lot number, a subject
code used in two studies. Those answer a short list. Every lookup is an index read (exact, or a prefix on an index
that serves prefixes), so a search costs the same whatever the size of the site's history.
"""
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select

from lims import barcodes
from lims.doses.models import Bag
from lims.extensions import db
from lims.lots import isbt
from lims.lots.models import Container, Lot
from lims.studies.models import Study, Subject

LIMIT = 20          # a short list: more than this and the text should be longer
MIN_PREFIX = 4      # shorter than this, a prefix names half the site
MAX_LENGTH = 128
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-_.:/=<*]*$")
_ISBT_DIN_STRUCTURE = re.compile(r"^=([A-Z][0-9A-Z]{4}[0-9]{8})[0-9A-Z]{2}$")  # "=W12342600012300" (SPEC §9)


@dataclass
class Found:
    kind: str       # lot, bag, container, subject
    label: str      # as people read it
    detail: str
    href: str


@dataclass
class Answer:
    query: str
    found: list
    exact: bool = False     # a scan or a full code that named one record: go to it
    note: str | None = None  # what the text was read as, or why it names nothing

    @property
    def only(self):
        return self.found[0] if self.exact and len(self.found) == 1 else None


def _normalised(text):
    return unicodedata.normalize("NFC", text or "").strip()[:MAX_LENGTH]


def _lot(lot, detail=None):
    return Found("lot", f"Lot {lot.printed_number}", detail or f"{lot.product.code} · {lot.status.replace('_', ' ')}",
                 f"/lots/{lot.id}")


def _bag(bag):
    return Found("bag", f"Bag {bag.code}", f"subject {bag.subject.code} · {bag.status.replace('_', ' ')}",
                 f"/bags/{bag.code}")


def _subject(subject, study_code):
    return Found("subject", f"Subject {subject.code}", f"{study_code} · wristband {subject.wristband}",
                 f"/subjects/{subject.id}")


def _prefix(column, prefix):
    """`column` starts with `prefix`, as an index range: LIKE on PostgreSQL (the pattern indexes of migration 0007),
    GLOB on SQLite (case-sensitive, so the column's own index serves it). The prefix holds no wildcard (_CODE)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return column.op("GLOB")(prefix + "*")
    return column.like(prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", escape="\\")


def find(text):
    """What `text` names: an Answer with one record (exact) or a short list, never more than LIMIT of a kind."""
    query = _normalised(text)
    if not query:
        return Answer(query, [], note="Type or scan a DIN, a bag or container code, a subject code or a wristband.")
    if query.startswith(barcodes.PREFIX + ":"):
        return _from_payload(query)
    compact = query.replace(" ", "")
    upper = compact.upper()
    structure = _ISBT_DIN_STRUCTURE.match(upper)
    if structure:  # an ISBT 128 scanner reading the label's DIN barcode
        return _exact_lot(query, structure.group(1), "the ISBT 128 DIN barcode")
    if not _CODE.match(compact):
        return Answer(query, [], note="Nothing is named like that: codes are letters, digits and dashes.")
    answer = _by_code(query, compact, upper)
    if answer is not None:
        return answer
    return _short_list(query, compact, upper)


def _from_payload(query):
    try:
        code = barcodes.bag_code_from_scan(query)
    except barcodes.ScanError as e:
        return Answer(query, [], note=f"This label text cannot be read: {e}.")
    bag = db.session.scalar(select(Bag).where(Bag.code == code))
    if bag is None:
        return Answer(query, [], note=f"The label names bag {code}, which is not recorded here.")
    return Answer(query, [_bag(bag)], exact=True)


def _exact_lot(query, din, read_as):
    lot = db.session.scalar(select(Lot).where(Lot.din == din))
    if lot is None:
        return Answer(query, [], note=f"Read as {read_as} {isbt.display(din, '')[0]}: no lot has this DIN.")
    return Answer(query, [_lot(lot)], exact=True)


def _by_code(query, compact, upper):
    """A whole code of one kind: a bag or container code, a DIN with or without its check character, a wristband."""
    if re.match(r"^[A-Z][0-9A-Z]{4}[0-9]{8}-", upper):
        bag = db.session.scalar(select(Bag).where(Bag.code == upper))
        if bag is not None:
            return Answer(query, [_bag(bag)], exact=True)
        container = db.session.scalar(select(Container).where(Container.code == upper))
        if container is not None:
            lot = db.session.get(Lot, container.lot_id)
            return Answer(query, [Found("container", f"Container {container.code}",
                                        f"{container.status.replace('_', ' ')} · lot {lot.printed_number}",
                                        f"/lots/{lot.id}#containers")], exact=True)
    if len(upper) == 14 and isbt.DIN_PATTERN.match(upper[:13]):
        try:
            din = isbt.split_checked(upper)
        except isbt.DinError as e:
            return Answer(query, [], note=f"Not a lot number: {e}. Check the digits, or scan the label.")
        return _exact_lot(query, din, "DIN")
    if len(upper) == 13 and isbt.DIN_PATTERN.match(upper):
        return _exact_lot(query, upper, "DIN")
    subject = db.session.scalar(select(Subject).where(Subject.wristband == query))
    if subject is not None:
        return Answer(query, [_subject(subject, db.session.get(Study, subject.study_id).code)], exact=True)
    return None


def _subjects(criterion, order):
    rows = db.session.execute(select(Subject, Study.code).join(Study, Study.id == Subject.study_id)
                              .where(criterion).order_by(*order).limit(LIMIT)).all()
    return [_subject(s, code) for s, code in rows]


def _short_list(query, compact, upper):
    """A subject code (unique within a study only: one subject goes straight to it, several are listed), else what
    starts with the text: lots by DIN, bags by code, subjects by code or wristband."""
    same_code = _subjects(Subject.code == compact, (Subject.id,))
    if same_code:
        return Answer(query, same_code, exact=len(same_code) == 1,
                      note=None if len(same_code) == 1 else f"{len(same_code)} studies have a subject {compact}.")
    if len(compact) < MIN_PREFIX:
        return Answer(query, [], note=f"Nothing is named “{query}”; type at least {MIN_PREFIX} characters to list "
                                      f"what starts with them.")
    found = []
    if upper[:1].isalpha():  # DINs and bag codes start with the facility's letter
        found += [_lot(lot) for lot in db.session.scalars(
            select(Lot).where(_prefix(Lot.din, upper)).order_by(Lot.din).limit(LIMIT))]
        found += [_bag(b) for b in db.session.scalars(
            select(Bag).where(_prefix(Bag.code, upper)).order_by(Bag.code).limit(LIMIT))]
    subjects = _subjects(_prefix(Subject.code, compact), (Subject.code, Subject.id))
    subjects += _subjects(_prefix(Subject.wristband, query), (Subject.wristband, Subject.id))
    seen = set()
    found += [f for f in subjects if not (f.href in seen or seen.add(f.href))]
    return Answer(query, found, note=None if found else f"Nothing is named “{query}” or starts with it.")
