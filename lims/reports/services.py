"""The reports a site sends its sponsor (SPEC §17), each one read in a few grouped queries, whatever the history.

- A study's infusion log: every infusion of its subjects, with the bag, the lot, the dose as planned and as given,
  the nurse who signed it and the witness of the bedside check.
- Each lot's accountability: its registered containers, each in exactly one place: in storage (or retrieved and not
  yet thawed), thawed into a dose, or discarded; the thawed ones further by what became of their bag: infused, still
  in circulation, returned to pharmacy, discarded. The columns sum to the containers registered, and a lot whose
  columns do not is shown as not balanced rather than rounded away.
- Near misses (failed bedside checks) by month, in the site's time zone, and by the check that failed.
"""
import collections
import json

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from lims.auth.models import User
from lims.chainofcustody.models import BedsideCheck, Infusion
from lims.doses.models import Bag, Dose, DoseContainer
from lims.errors import NotFound
from lims.extensions import db
from lims.lots.isbt import printed
from lims.lots.models import Container, Lot, Product
from lims.studies.models import Cohort, Study, Subject
from lims.timeutil import aware, site_zone

IN_CIRCULATION = ("prepared", "verified", "dispensed", "received", "bedside_verified", "infusing")


def get_study(study_id):
    study = db.session.get(Study, study_id)
    if study is None:
        raise NotFound(f"no study {study_id}")
    return study


def infusion_log(study_id):
    study = get_study(study_id)
    nurse, witness = aliased(User), aliased(User)
    rows = db.session.execute(
        select(Infusion, Subject.code, Cohort.name, Bag.code, Bag.volume_ml, Lot.din, Lot.check_character,
               Dose.delivered_cells, Dose.cohort_dose_cells_per_kg, Dose.dosing_weight_kg,
               nurse.full_name, witness.full_name)
        .join(Subject, Subject.id == Infusion.subject_id).join(Cohort, Cohort.id == Subject.cohort_id)
        .join(Bag, Bag.id == Infusion.bag_id).join(Lot, Lot.id == Bag.lot_id).join(Dose, Dose.id == Bag.dose_id)
        .join(nurse, nurse.id == Infusion.nurse_id)
        .join(BedsideCheck, BedsideCheck.id == Infusion.bedside_check_id)
        .join(witness, witness.id == BedsideCheck.witness_id)
        .where(Subject.study_id == study.id).order_by(Infusion.started_at, Infusion.id)).all()
    log = []
    for (infusion, subject, cohort, bag, bag_ml, din, check, delivered, dose_per_kg, weight, nurse_name,
         witness_name) in rows:
        log.append({"subject": subject, "cohort": cohort, "bag": bag, "lot": printed(din, check),
                    "cohort_dose_cells_per_kg": dose_per_kg, "dosing_weight_kg": weight,
                    "planned_volume_ml": bag_ml, "volume_infused_ml": infusion.volume_infused_ml,
                    "delivered_cells": delivered, "started_at": aware(infusion.started_at),
                    "completed_at": aware(infusion.completed_at), "nurse": nurse_name, "witness": witness_name,
                    "signed_at": aware(infusion.signature.signed_at) if infusion.signature else None,
                    "reactions": json.loads(infusion.reactions or "[]")})
    return study, log


def accountability():
    """Each lot's containers by where they are; [{lot, product, registered, in_storage, …, balanced}]."""
    by_status = collections.defaultdict(dict)
    for lot_id, status, n in db.session.execute(select(Container.lot_id, Container.status, func.count())
                                                .group_by(Container.lot_id, Container.status)):
        by_status[lot_id][status] = n
    by_bag = collections.defaultdict(dict)
    for lot_id, bag_status, n in db.session.execute(
            select(Container.lot_id, Bag.status, func.count())
            .select_from(DoseContainer).join(Container, Container.id == DoseContainer.container_id)
            .join(Bag, Bag.dose_id == DoseContainer.dose_id).group_by(Container.lot_id, Bag.status)):
        by_bag[lot_id][bag_status] = n
    lots = db.session.execute(select(Lot.id, Lot.din, Lot.check_character, Lot.status, Lot.container_count,
                                     Product.code).join(Product, Product.id == Lot.product_id).order_by(Lot.id)).all()
    report = []
    for lot_id, din, check, status, registered, product in lots:
        counts, bags = by_status.get(lot_id, {}), by_bag.get(lot_id, {})
        row = {"lot_id": lot_id, "lot": printed(din, check), "product": product, "status": status,
               "registered": registered, "in_storage": counts.get("in_storage", 0),
               "retrieved": counts.get("retrieved", 0), "thawed": counts.get("thawed", 0),
               "discarded": counts.get("discarded", 0),
               "thawed_infused": bags.get("infused", 0),
               "thawed_in_circulation": sum(bags.get(s, 0) for s in IN_CIRCULATION),
               "thawed_returned": bags.get("returned", 0), "thawed_bag_discarded": bags.get("discarded", 0)}
        row["accounted"] = row["in_storage"] + row["retrieved"] + row["thawed"] + row["discarded"]
        row["balanced"] = row["accounted"] == registered and row["thawed"] == (
            row["thawed_infused"] + row["thawed_in_circulation"] + row["thawed_returned"]
            + row["thawed_bag_discarded"])
        report.append(row)
    return report


def near_misses_by_month():
    """[{month, total, by_check: {check: n}}], newest month first, and the checks that appear, in order."""
    zone = site_zone()
    months = collections.OrderedDict()
    checks = collections.Counter()
    query = (select(BedsideCheck.at, BedsideCheck.failures).where(BedsideCheck.ok.is_(False))
             .order_by(BedsideCheck.at.desc()).execution_options(yield_per=2000))
    for at, failures in db.session.execute(query):
        month = aware(at).astimezone(zone).strftime("%Y-%m")
        entry = months.setdefault(month, {"month": month, "total": 0, "by_check": collections.Counter()})
        entry["total"] += 1
        try:
            names = {f.get("name", "unknown") for f in json.loads(failures or "[]") if isinstance(f, dict)}
        except ValueError:
            names = {"unreadable"}
        for name in names or {"unknown"}:
            entry["by_check"][name] += 1
            checks[name] += 1
    return list(months.values()), [name for name, _n in checks.most_common()]
