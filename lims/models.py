"""Imports every domain's models so that Alembic and the ORM see the whole schema."""
from lims.audit.models import AuditEntry, AuditHead  # noqa: F401
from lims.auth.models import ApiToken, Signature, SignInThrottle, User, UserRole, UserSession  # noqa: F401
from lims.chainofcustody.models import BedsideCheck, ContainerEvent, CustodyEvent, Infusion  # noqa: F401
from lims.doses.models import Bag, Dose, DoseContainer, DoseVerification  # noqa: F401
from lims.labels.models import LabelPrint  # noqa: F401
from lims.lots.models import (Container, DinSequence, Donor, Lot, LotDisposition, Product, QcResult,  # noqa: F401
                              ReleaseSpec, SpecRequirement)
from lims.studies.models import Cohort, SafetyReview, Study, Subject, SubjectWeight  # noqa: F401
from lims.safety.models import AdverseEvent  # noqa: F401
