"""Copies of the audit trail for inspection (21 CFR 11.10(b)): CSV, the electronic copy, every column in UTC; PDF,
the human-readable copy in the site's time. Both take the filters of the page and the API, state them, who made
the copy and when, and whether the hash chain verified over the rows the copy holds.

"Verified over its rows" means, for every row in the copy: its hash is sha256(prev_hash + its canonical text), its
prev_hash is the hash of the row before it in the whole trail, and the row after it (or the chain head, for the
last row) carries its hash on. A row edited afterwards fails the first test; one edited with its hash recomputed
fails the last. Rows the filters leave out are read only for their hashes.

The CSV streams: rows are read, named, checked and written a batch at a time, so a copy of a million rows costs one
batch of memory (bench/audit_export.py). Its statement of verification is therefore its last line, after the rows
it speaks for. The PDF holds at most PDF_ROW_LIMIT rows, and says so when the filters match more: WeasyPrint lays
out some 30-100 rows a second on this machine, so a longer PDF would hold a request for minutes; the CSV holds any
number.
"""
import csv
import io

from sqlalchemy import bindparam, select

from lims import spreadsheet
from lims.audit import query
from lims.audit.models import GENESIS_HASH, AuditEntry, AuditHead
from lims.audit.naming import Namer
from lims.audit.services import canonical_row, chain_hash
from lims.extensions import db
from lims.timeutil import iso, utcnow

PDF_ROW_LIMIT = 500
CSV_COLUMNS = ("seq", "at_utc", "actor", "actor_name", "action", "action_text", "entity", "entity_id", "record",
               "changes", "reason", "before", "after", "prev_hash", "hash")

_NEIGHBOURS = (select(AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.hash)
               .where(AuditEntry.seq.in_(bindparam("seqs", expanding=True))))


class ChainCheck:
    """Accumulates the verification of the rows of one copy, batch by batch."""

    def __init__(self, head_seq, head_hash):
        self.head_seq, self.head_hash = head_seq, head_hash
        self.checked, self.first_broken, self.reason = 0, None, None

    @property
    def ok(self):
        return self.first_broken is None

    def _broken(self, seq, reason):
        if self.first_broken is None:
            self.first_broken, self.reason = seq, f"row {seq}: {reason}"

    def check(self, rows):
        by_seq = {row.seq: row for row in rows}
        wanted = sorted({s for row in rows for s in (row.seq - 1, row.seq + 1)
                         if s not in by_seq and 0 < s <= self.head_seq})
        known = {seq: (prev, digest) for seq, prev, digest in
                 (db.session.execute(_NEIGHBOURS, {"seqs": wanted}).all() if wanted else ())}
        for row in rows:
            self.checked += 1
            if self.first_broken is not None:
                continue
            text = canonical_row(row.seq, row.at, row.actor, row.action, row.entity, row.entity_id, row.before,
                                 row.after, row.reason)
            if chain_hash(row.prev_hash, text) != row.hash:
                self._broken(row.seq, "its content does not match its hash")
                continue
            before = GENESIS_HASH if row.seq == 1 else (
                by_seq[row.seq - 1].hash if row.seq - 1 in by_seq else known.get(row.seq - 1, (None, None))[1])
            if row.prev_hash != before:
                self._broken(row.seq, "its prev_hash is not the hash of the row before it (a row is missing or "
                                      "was changed)")
                continue
            if row.seq == self.head_seq:
                after = self.head_hash
            else:
                after = (by_seq[row.seq + 1].prev_hash if row.seq + 1 in by_seq
                         else known.get(row.seq + 1, (None, None))[0])
            if after != row.hash:
                self._broken(row.seq, "the row after it does not carry its hash on (it was rewritten)")

    def statement(self):
        if self.checked == 0:
            return "no rows: nothing to verify"
        if self.ok:
            return (f"verified: each of the {self.checked:,} rows matches its hash and links to the rows before and "
                    f"after it in the chain")
        return f"BROKEN: {self.reason} ({self.checked:,} rows in this copy)"


def _head():
    head = db.session.get(AuditHead, 1)
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


def _described(audit_filter):
    name = (Namer().present_record(audit_filter.entity, audit_filter.entity_id)
            if audit_filter.entity and audit_filter.entity_id else None)
    return audit_filter.described(name)


def _maker(user):
    return f"{user.full_name} ({user.username})"


# before, after, prev_hash and hash are written exactly as stored and hashed, so that a reader can check the chain:
# before/after are JSON text, which begins with {, [, " or a digit, never a formula character, and the hashes are
# hex, so leaving them verbatim costs nothing; they are named here so that no rule of cells can ever alter them.
VERBATIM = frozenset(CSV_COLUMNS.index(name) for name in ("before", "after", "prev_hash", "hash"))


def csv_cells(row):
    """One presented row as the CSV writes it: times in UTC, before/after as the exact text the hash covers, every
    other text cell neutralised against spreadsheet formulas (lims.spreadsheet: a reason typed as "=1+1")."""
    return spreadsheet.row([row["seq"], iso(row["at"]), row["actor"], row["actor_name"], row["action"],
                            row["action_text"], row["entity"], row["entity_id"] or "", row["record"],
                            row["changes_text"], row["reason"] or "", row["before"] or "", row["after"] or "",
                            row["prev_hash"], row["hash"]], verbatim=VERBATIM)


def csv_lines(audit_filter, user):
    """The CSV copy as an iterator of text chunks: head lines, the column names, the rows, then the row count and
    the statement of verification. Lines of the head and the tail begin with "#"; a row begins with its seq.

    The head is read now, while the request's session still holds the user who asked: a streamed body runs after
    the view has returned and the request's transaction has ended, so it reads nothing but its own batches."""
    head_seq, head_hash = _head()  # the copy is of the trail as it stood when it was asked for
    head = [["# itMSC LIMS audit trail", "electronic copy (21 CFR 11.10(b)); every time is UTC"],
            ["# filters", _described(audit_filter)],
            ["# made by", _maker(user)],
            ["# made at", iso(utcnow())],
            ["# rows up to", head_seq],
            ["# hashes", "hash = sha256(prev_hash + JSON [seq, at_utc, actor, action, entity, entity_id, "
                         "before, after, reason]); before and after are given exactly as hashed; any other text "
                         "cell beginning with = + - @ ' or a tab or carriage return is written after one added ' "
                         "(so that no spreadsheet runs it): the hashed text is the cell without it"],
            CSV_COLUMNS]
    return _csv_body(audit_filter, head, head_seq, head_hash)


def _csv_body(audit_filter, head, head_seq, head_hash):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush():
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerows(spreadsheet.row(line) for line in head)
    yield flush()
    namer, chain = Namer(), ChainCheck(head_seq, head_hash)
    for rows in query.batches(audit_filter, head_seq):
        chain.check(rows)
        for row in namer.present(rows):
            writer.writerow(csv_cells(row))
        yield flush()
    writer.writerow(["# rows", chain.checked])
    writer.writerow(["# chain", chain.statement()])
    yield flush()


def pdf_document(audit_filter, user):
    """The PDF copy: (bytes, rows shown, rows matching)."""
    from flask import render_template

    from lims.reports.render import render_pdf
    head_seq, head_hash = _head()
    total = query.count(audit_filter, head_seq)
    namer, chain, shown = Namer(), ChainCheck(head_seq, head_hash), []
    for rows in query.batches(audit_filter, head_seq, size=500):
        rows = rows[:PDF_ROW_LIMIT - len(shown)]
        chain.check(rows)
        shown.extend(namer.present(rows))
        if len(shown) >= PDF_ROW_LIMIT:
            break
    html = render_template("audit/export.html", rows=shown, total=total, limit=PDF_ROW_LIMIT,
                           filters=_described(audit_filter), maker=_maker(user), made_at=utcnow(), chain=chain,
                           head_seq=head_seq)
    return render_pdf(html), len(shown), total
