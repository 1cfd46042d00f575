"""The pharmacist's pages (issue 4): the dose worklist and the plan page with its arithmetic, preparation,
verification, label and dispensing. Thin handlers over lims.doses.services; the rules live there."""
from flask import Blueprint, current_app, flash, redirect, render_template, request

from lims import units
from lims.auth.access import current_user, roles_required
from lims.doses import schemas, services
from lims.errors import Conflict, LimsError, invalid
from lims.labels.services import label_history, why_no_label
from lims.pages import load_form, refused, site_time
from lims.scanning import read_scans
from lims.timeutil import aware, local, site_zone, utcnow

bp = Blueprint("doses_pages", __name__, template_folder="templates")


# --- figures as a pharmacist reads them ------------------------------------------------------------------------

def _trimmed(value, places):
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


_FORMATS = {
    "cells": units.scientific, "dose": units.scientific, "concentration": units.scientific,
    "mass": lambda v: _trimmed(v, 4), "volume": lambda v: f"{v:.1f}", "percent": lambda v: f"{v:g}",
    "endotoxin_concentration": lambda v: f"{v:g}", "dmso_dose": lambda v: f"{v:.3g}",
    "endotoxin_dose": lambda v: f"{v:.3g}", "mass_g": lambda v: f"{v:g}", "duration": lambda v: f"{v:g}",
}


def figure(q, kind):
    """A quantity in its canonical unit, to the precision its step needs: 72.5748 kg, 10.1 mL, 1.08 × 10⁷ cell/mL."""
    if q is None:
        return "—"
    return f"{_FORMATS[kind](units.magnitude(q, kind))} {units.CANONICAL[kind]}"


# --- the plan, step by step (SPEC §7) --------------------------------------------------------------------------

def _step(name, formula, working, result, limit=None, met=None):
    return {"name": name, "formula": formula, "working": working, "result": result, "limit": limit, "met": met}


def plan_steps(dose, inputs):
    """Each step of SPEC §7 with its formula, the numbers put into it and its result, and each limit with whether it
    is met. Results are the plan's stored figures (what preparation will be checked against), as Pint quantities;
    only the volume before rounding is computed here, to show the rounding step."""
    of = units.of
    cfg, limits, weight = current_app.config, inputs["limits"], inputs["weight"]
    dosing_weight, cohort_dose = of(dose.dosing_weight_kg, "mass"), of(dose.cohort_dose_cells_per_kg, "dose")
    target, viable = of(dose.target_cells, "cells"), of(dose.viable_concentration_cells_per_ml, "concentration")
    volume, delivered = of(dose.volume_ml, "volume"), of(dose.delivered_cells, "cells")
    unrounded = (target / viable).to("mL")
    max_age = cfg["LIMS_WEIGHT_MAX_AGE_DAYS"]
    planned_on = aware(dose.planned_at).astimezone(site_zone()).date()
    age = (planned_on - weight.weighed_on).days
    entered = f"{weight.entered} weighed on {weight.weighed_on.isoformat()} = {figure(weight.weight, 'mass')}"
    if abs(units.magnitude(weight.weight, "mass") - dose.dosing_weight_kg) > 1e-9:
        entered += f", capped by the study at {figure(dosing_weight, 'mass')}"
    fill = inputs["fill_volume"]
    density = f"{limits.dmso_density.to('g/mL').magnitude:g} g/mL"
    dmso, endotoxin = of(dose.dmso_g_per_kg, "dmso_dose"), of(dose.endotoxin_eu_per_kg, "endotoxin_dose")
    return [
        _step("Dosing weight", "the latest weight", entered, figure(dosing_weight, "mass"),
              f"weighed at most {max_age} days before the plan ({age} day(s))", age <= max_age),
        _step("Target cells", "cohort dose × dosing weight",
              f"{figure(cohort_dose, 'dose')} × {figure(dosing_weight, 'mass')}", figure(target, "cells")),
        _step("Viable concentration", "cell concentration × viability",
              f"{figure(inputs['cell_concentration'], 'concentration')} × {figure(inputs['viability'], 'percent')}",
              figure(viable, "concentration")),
        _step("Volume", f"target ÷ viable concentration, rounded half-up to {figure(limits.volume_step, 'volume')}",
              f"{figure(target, 'cells')} ÷ {figure(viable, 'concentration')} = {unrounded.magnitude:.4f} mL",
              figure(volume, "volume")),
        _step("Delivered cells", "volume × viable concentration",
              f"{figure(volume, 'volume')} × {figure(viable, 'concentration')}", figure(delivered, "cells")),
        _step("Deviation", "100 × (delivered − target) ÷ target",
              f"100 × ({figure(delivered, 'cells')} − {figure(target, 'cells')}) ÷ {figure(target, 'cells')}",
              f"{dose.deviation_percent:+.2f} %", f"within ±{limits.max_deviation_percent:g} %",
              abs(dose.deviation_percent) <= limits.max_deviation_percent),
        _step("Containers needed", "⌈volume ÷ fill volume⌉",
              f"⌈{figure(volume, 'volume')} ÷ {figure(fill, 'volume')}⌉", str(dose.containers_needed)),
        _step("DMSO per kg", f"volume × DMSO fraction × DMSO density {density} ÷ dosing weight",
              f"{figure(volume, 'volume')} × {figure(inputs['dmso_fraction'], 'percent')} × "
              f"{density} ÷ {figure(dosing_weight, 'mass')}",
              figure(dmso, "dmso_dose"), f"at most {figure(limits.max_dmso, 'dmso_dose')}", dmso <= limits.max_dmso),
        _step("Endotoxin per kg", "endotoxin result × volume ÷ dosing weight",
              f"{figure(inputs['endotoxin'], 'endotoxin_concentration')} × {figure(volume, 'volume')} ÷ "
              f"{figure(dosing_weight, 'mass')}", figure(endotoxin, "endotoxin_dose"),
              f"at most {figure(limits.max_endotoxin, 'endotoxin_dose')}", endotoxin <= limits.max_endotoxin),
    ]


# --- pages -----------------------------------------------------------------------------------------------------

def _worklist_context():
    return {"steps": services.doses_by_step(), "lots": services.plannable_lots(), "figure": figure}


def _local_now():
    return utcnow().astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M")


def _dose_context(dose_id):
    from lims.chainofcustody.services import ward_names
    dose = services.get_dose(dose_id)
    # The second pharmacist checks the bag before reading the plan (SPEC §8): while the dose waits for its
    # verification, a pharmacist who did not prepare it is not shown the planned volume.
    blind = dose.status == "prepared" and dose.prepared_by_id != current_user().id
    return {"dose": dose, "subject": dose.subject, "lot": dose.lot, "bag": dose.bag, "blind": blind,
            "steps": plan_steps(dose, services.plan_inputs(dose)),
            "allocations": services.allocated_containers(dose), "signatures": services.dose_signatures(dose),
            "current": services.current_dose_for(dose.subject) if dose.status == "superseded" else None,
            "lots": services.plannable_lots() if dose.status == "planned" else [],
            "plan_problem": services.plan_check(dose) if dose.status == "planned" else None,
            "thaw_default": _local_now(), "figure": figure,
            # Which printed label is the valid one and which were voided by a reprint (SPEC §9), read at the bench.
            "label_prints": label_history(dose.bag) if dose.bag is not None and dose.bag.label_prints else [],
            # Why the label would be refused now (the labels service's one rule), shown instead of a print form.
            "no_label": why_no_label(dose.bag) if dose.bag is not None and dose.status in ("prepared", "verified")
            else None,
            # Where bags were received before: suggestions for the destination, never a default (the custody
            # record must say where this bag went, not where bags usually go).
            "destinations": ward_names() if dose.bag is not None else []}


def _card_for(dose, action):
    """Whether the page shows the card of this action now (where its refusal is shown beside its form)."""
    bag = dose.bag
    return {"plan": dose.status == "planned", "prepare": dose.status == "planned",
            "verify": dose.status == "prepared", "label": dose.status in ("prepared", "verified"),
            "dispense": dose.status == "verified" and bag is not None and bag.status in ("verified", "returned"),
            }.get(action, False)


def refuse_on_dose_page(error, dose_id, action):
    def page():
        context = _dose_context(dose_id)
        # A refusal whose form is no longer on the page (the dose moved on) is shown at the top instead.
        return dict(context, refused_elsewhere=not _card_for(context["dose"], action))
    return refused("doses/dose.html", error, form=request.form, refused_action=action, context=page)


@bp.route("/doses", methods=["GET"])
@roles_required("pharmacist")
def worklist():
    return render_template("doses/worklist.html", refused_subject=None, **_worklist_context())


def _chosen_id(name):
    value = request.form.get(name, "").strip()
    if not value.isdigit():
        raise invalid(name, "choose one from the list")
    return int(value)


@bp.route("/doses/new", methods=["POST"])
@roles_required("pharmacist")
def plan():
    replan_of = request.form.get("replan_of", "").strip()
    try:
        body = load_form(schemas.DosePlanRequestSchema(), {}, subject_id=_chosen_id("subject_id"),
                         lot_id=_chosen_id("lot_id"))
        dose = services.plan_dose(current_user(), body["subject_id"], body["lot_id"])
    except LimsError as e:
        if replan_of.isdigit():
            return refuse_on_dose_page(e, int(replan_of), "plan")
        def page():
            context = _worklist_context()
            chosen = request.form.get("subject_id", "").strip()
            # The refusal is shown in the row of the subject it was for, when that row is on the page.
            in_row = chosen if chosen in {str(s.id) for s in context["steps"]["plan"]} else None
            return dict(context, refused_subject=in_row)
        return refused("doses/worklist.html", e, form=request.form, context=page)
    flash(f"Dose {dose.id} planned for {dose.subject.code}: {figure(units.of(dose.volume_ml, 'volume'), 'volume')} "
          f"from lot {dose.lot.printed_number}. Check the arithmetic, then prepare it.")
    return redirect(f"/doses/{dose.id}")


@bp.route("/doses/<int:dose_id>", methods=["GET"])
@roles_required("pharmacist")
def dose_page(dose_id):
    return render_template("doses/dose.html", refused_action=None, refused_elsewhere=False,
                           **_dose_context(dose_id))


@bp.route("/doses/<int:dose_id>/prepare", methods=["POST"])
@roles_required("pharmacist")
def prepare(dose_id):
    thawed_at = site_time(request.form.get("thawed_at", "").strip())
    try:
        body = load_form(schemas.PrepareRequestSchema(), request.form, **({"thawed_at": thawed_at} if thawed_at
                                                                          else {}))
        dose = services.prepare_dose(current_user(), dose_id, body["signature"], body["thawed_at"])
    except LimsError as e:
        return refuse_on_dose_page(e, dose_id, "prepare")
    flash(f"Dose {dose.id} prepared: bag {dose.bag.code}. A second pharmacist verifies it next.")
    return redirect(f"/doses/{dose_id}")


@bp.route("/doses/<int:dose_id>/verify", methods=["POST"])
@roles_required("pharmacist")
def verify(dose_id):
    try:
        form, entries = read_scans(request.form, "bag")
        body = load_form(schemas.VerifyRequestSchema(), form, **({"bag_entry": entries["bag"]} if entries["bag"]
                                                                 else {}))
        dose = services.verify_dose(current_user(), dose_id, body["signature"], body["bag"], body["measured_volume"],
                                    body["bag_entry"])
    except LimsError as e:
        return refuse_on_dose_page(e, dose_id, "verify")
    flash(f"Dose {dose.id} verified: the label on the bag names bag {dose.bag.code} and the volume measured matches "
          f"the plan. It may be dispensed.")
    return redirect(f"/doses/{dose_id}")


@bp.route("/doses/<int:dose_id>/dispense", methods=["POST"])
@roles_required("pharmacist")
def dispense(dose_id):
    from lims.chainofcustody import services as custody
    from lims.chainofcustody.schemas import CustodyEventRequestSchema
    try:
        dose = services.get_dose(dose_id)
        if dose.bag is None:
            raise Conflict(f"dose {dose.id} is {dose.status}: it has no bag to dispense yet", code="no_bag",
                           extra={"status": dose.status})
        form, entries = read_scans(request.form, "bag")
        body = load_form(CustodyEventRequestSchema(), form, event="dispensed",
                         **({"scan_entry": entries["bag"]} if entries["bag"] else {}))
        # Dispensing takes a scan of the bag in hand (SPEC §8), and it must be this page's bag.
        bag = custody.move_bag(current_user(), body["bag"], "dispensed", body["location"], body["scan_entry"],
                               expected_bag=dose.bag.code)
    except LimsError as e:
        return refuse_on_dose_page(e, dose_id, "dispense")
    flash(f"Bag {bag.code} dispensed to {bag.location}. A nurse there receives it by scanning its label.")
    return redirect(f"/doses/{dose_id}")


# --- the pharmacist's home section -----------------------------------------------------------------------------

STEP_TITLES = (("plan", "to plan"), ("prepare", "to prepare"), ("print", "to label"), ("verify", "to verify"),
               ("dispense", "to dispense"))


def _dashboard_rows(steps, user):
    rows = []
    for subject in steps["plan"]:
        rows.append({"step": "plan", "text": f"Plan a dose for {subject.code}",
                     "detail": f"{subject.study.code} · {subject.cohort.name} · "
                               f"{figure(subject.cohort.dose, 'dose')}", "href": "/doses"})
    for d in steps["prepare"]:
        rows.append({"step": "prepare", "text": f"Prepare dose {d.id} for {d.subject.code}",
                     "detail": f"{figure(units.of(d.volume_ml, 'volume'), 'volume')} from lot", "lot": d.lot,
                     "href": f"/doses/{d.id}"})
    for d in steps["print"]:
        rows.append({"step": "print", "text": f"Print the label of bag {d.bag.code}",
                     "detail": f"for {d.subject.code}; it goes on the bag before the second pharmacist's check",
                     "href": f"/doses/{d.id}"})
    for d in steps["verify"]:
        by = d.prepared_by.full_name if d.prepared_by else "another pharmacist"
        detail = ("you prepared it: another pharmacist must verify" if d.prepared_by_id == user.id
                  else f"prepared by {by}; verify as a second pharmacist")
        rows.append({"step": "verify", "text": f"Verify dose {d.id} for {d.subject.code}", "detail": detail,
                     "href": f"/doses/{d.id}"})
    for d in steps["dispense"]:
        rows.append({"step": "dispense", "text": f"Dispense bag {d.bag.code}",
                     "detail": f"for {d.subject.code}; post-thaw expiry {local(d.bag.expires_at)}",
                     "href": f"/doses/{d.id}"})
    return rows


HOME_ROWS = 5  # rows of each step on the home page; the counts and the Doses page give the rest


def pharmacist_dashboard(user):
    steps = services.doses_by_step(limit=HOME_ROWS)
    return {"role": "pharmacist", "title": "Doses to plan, prepare, label, verify and dispense",
            "empty": "No dose work waits: every enrolled subject has a plan and every bag has left the pharmacy.",
            "counts": [(title, steps[key].total) for key, title in STEP_TITLES],
            "more": sum(steps[key].more for key, _title in STEP_TITLES),
            "rows": _dashboard_rows(steps, user), "template": "doses/_dashboard.html"}
