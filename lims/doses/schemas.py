from marshmallow import Schema, fields, validate

from lims import units
from lims.schemas import AwareDateTime, SignedSchema, StrictSchema, identifier


class DosePlanRequestSchema(StrictSchema):
    subject_id = fields.Integer(required=True, strict=True)
    lot_id = fields.Integer(required=True, strict=True)


class PrepareRequestSchema(SignedSchema):
    thawed_at = AwareDateTime(load_default=None)


def entry_field():
    return fields.String(load_default=None, validate=validate.OneOf(("scanned", "typed")),
                         metadata={"description": "how the code was entered: scanned (a scanner) or typed by a "
                                                  "person; recorded with the scan"})


class VerifyRequestSchema(SignedSchema):
    """SPEC §8: the label on the bag scanned, and the volume measured in the bag."""
    bag = identifier(128, required=True,
                     metadata={"description": "the label's QR payload as scanned from the bag, or the bag code"})
    measured_volume = units.Quantity("volume", required=True, minimum=0.01, maximum=1000)  # before the plan is shown
    bag_entry = entry_field()


def _q(attr, kind):
    return fields.Function(lambda d: units.dump(units.of(getattr(d, attr), kind), kind))


class DoseSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    subject_id = fields.Integer()
    subject_code = fields.Function(lambda d: d.subject.code)
    lot_id = fields.Integer()
    din = fields.Function(lambda d: d.lot.din)
    cohort_dose = _q("cohort_dose_cells_per_kg", "dose")
    dosing_weight = _q("dosing_weight_kg", "mass")
    target_cells = _q("target_cells", "cells")
    viable_concentration = _q("viable_concentration_cells_per_ml", "concentration")
    volume = _q("volume_ml", "volume")
    delivered_cells = _q("delivered_cells", "cells")
    deviation_percent = fields.Float()
    containers_needed = fields.Integer()
    dmso_per_kg = _q("dmso_g_per_kg", "dmso_dose")
    endotoxin_per_kg = _q("endotoxin_eu_per_kg", "endotoxin_dose")
    thawed_at = fields.AwareDateTime(format="iso", allow_none=True)
    bag = fields.Method("_bag")
    containers = fields.Method("_containers")

    def _bag(self, dose):
        from lims.doses.services import bag_view
        return bag_view(dose.bag) if dose.bag is not None else None

    def _containers(self, dose):
        from lims.doses.services import allocated_containers
        return [{"code": a.container.code, "volume_used": {"value": a.volume_used_ml, "unit": "mL"},
                 "volume_discarded": {"value": a.volume_discarded_ml, "unit": "mL"}}
                for a in allocated_containers(dose)]
