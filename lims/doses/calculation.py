"""The dose arithmetic of SPEC §7, on Pint quantities from inputs to outputs.

Pure: no database, no Flask. Every intermediate is returned so a pharmacist can check the plan by hand.
"""
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lims.units import Q_, ureg


class DoseRuleBroken(ValueError):
    """A plan that breaks a safety limit (422): field names the limit, message says by how much."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Limits:
    volume_step: Q_  # mL
    max_deviation_percent: float
    max_dmso: Q_  # g/kg
    max_endotoxin: Q_  # EU/kg
    dmso_density: Q_  # g/mL


@dataclass(frozen=True)
class DosePlan:
    cohort_dose: Q_
    dosing_weight: Q_
    target_cells: Q_
    viable_concentration: Q_
    volume: Q_
    delivered_cells: Q_
    deviation_percent: float
    containers_needed: int
    dmso_per_kg: Q_
    endotoxin_per_kg: Q_


def round_half_up(q, step):
    """Rounds to a multiple of step, halves upward, in decimal: float round() rounds half to even and
    binary fractions would turn 10.05 into 10.0."""
    unit = step.units
    value = Decimal(f"{q.to(unit).magnitude:.9f}")  # drop float noise below a nanolitre before deciding the half
    increment = Decimal(str(step.magnitude))
    steps = (value / increment).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return Q_(float(steps * increment), unit)


def plan(cohort_dose, weight, cell_concentration, viability, fill_volume, dmso_fraction, endotoxin, limits,
         weight_cap=None):
    dosing_weight = weight.to("kg")
    if weight_cap is not None and dosing_weight > weight_cap:
        dosing_weight = weight_cap.to("kg")
    target = (cohort_dose * dosing_weight).to("cell")
    viable = (cell_concentration * viability).to("cell/mL")
    if viable.magnitude <= 0:
        raise DoseRuleBroken("viable_concentration", "the lot has no viable cells to dose")
    volume = round_half_up((target / viable).to("mL"), limits.volume_step)
    if volume.magnitude <= 0:
        raise DoseRuleBroken("volume", "the rounded volume is zero: the dose is below one volume step")
    delivered = (volume * viable).to("cell")
    deviation = float(100 * ((delivered - target) / target).to("dimensionless").magnitude)
    if abs(deviation) > limits.max_deviation_percent:
        raise DoseRuleBroken("deviation_percent", f"the delivered dose is {deviation:+.2f} % from target "
                                                  f"(limit ±{limits.max_deviation_percent:g} %)")
    ratio = Decimal(str(volume.to("mL").magnitude)) / Decimal(str(fill_volume.to("mL").magnitude))
    containers = int(ratio.to_integral_value(rounding="ROUND_CEILING"))
    dmso = (volume * dmso_fraction * limits.dmso_density / dosing_weight).to("g/kg")
    if dmso > limits.max_dmso:
        raise DoseRuleBroken("dmso_per_kg", f"DMSO {dmso.magnitude:.3f} g/kg exceeds the limit of "
                                            f"{limits.max_dmso.magnitude:g} g/kg")
    endotoxin_per_kg = (endotoxin * volume / dosing_weight).to("EU/kg")
    if endotoxin_per_kg > limits.max_endotoxin:
        raise DoseRuleBroken("endotoxin_per_kg", f"endotoxin {endotoxin_per_kg.magnitude:.3f} EU/kg exceeds the "
                                                 f"limit of {limits.max_endotoxin.magnitude:g} EU/kg")
    return DosePlan(cohort_dose=cohort_dose.to("cell/kg"), dosing_weight=dosing_weight, target_cells=target,
                    viable_concentration=viable, volume=volume, delivered_cells=delivered,
                    deviation_percent=deviation, containers_needed=containers, dmso_per_kg=dmso,
                    endotoxin_per_kg=endotoxin_per_kg)


def limits_from_config(cfg):
    return Limits(volume_step=Q_(float(cfg["LIMS_VOLUME_STEP_ML"]), ureg.mL),
                  max_deviation_percent=float(cfg["LIMS_MAX_DEVIATION_PERCENT"]),
                  max_dmso=Q_(float(cfg["LIMS_MAX_DMSO_G_PER_KG"]), "g/kg"),
                  max_endotoxin=Q_(float(cfg["LIMS_MAX_ENDOTOXIN_EU_PER_KG"]), "EU/kg"),
                  dmso_density=Q_(float(cfg["LIMS_DMSO_DENSITY_G_PER_ML"]), "g/mL"))
