"""The home page: what each of the user's roles has to do now.

Each domain's views module builds its own role's sections (it knows its pages and services); this module only
orders them by the user's roles. A section is a dict: role, title, empty (the sentence shown when there is nothing
to do), rows ([{text, detail, href}]) and, optionally, template (a partial that draws the section itself).
"""
from importlib import import_module

SECTIONS = {
    "technician": ["lims.lots.views:technician_dashboard"],
    "qa": ["lims.safety.views:qa_dashboard", "lims.lots.views:qa_dashboard",
           "lims.chainofcustody.views:qa_dashboard"],
    "investigator": ["lims.safety.views:investigator_dashboard", "lims.studies.views:follow_up_dashboard",
                     "lims.studies.views:investigator_dashboard"],
    "pharmacist": ["lims.chainofcustody.views:pharmacist_dashboard", "lims.doses.views:pharmacist_dashboard"],
    "nurse": ["lims.chainofcustody.views:nurse_dashboard"],
    "admin": ["lims.auth.views:locked_accounts_dashboard", "lims.audit.views:admin_dashboard"],
}


def _builder(path):
    module, _, name = path.partition(":")
    return getattr(import_module(module), name, None)


def work_for(user):
    sections = []
    for role in user.roles:
        for path in SECTIONS.get(role, ()):
            build = _builder(path)
            if build is None:  # a domain whose dashboard is not written yet shows nothing rather than failing
                continue
            built = build(user)
            sections.extend(built if isinstance(built, list) else [built])
    return sections
