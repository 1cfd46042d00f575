"""SPEC §16: an OpenAPI-driven fuzz (schemathesis) of every API route yields no 500 and no response that breaks
the documented schema.

Every operation of /api/v1/openapi.json gets generated requests, valid and invalid, as a user holding every
operational role, or as the administrator where the route is the administrator's (an admin account holds no other
role, SPEC §4); `DELETE /auth/token` gets a token of its own, since each call revokes the one it is given.
Path ids are either generated or those of real records (a released lot, a study, a planned dose, a bag on the ward),
and a generated signature carries the right password, so the fuzz reaches the services rather than stopping at 404
or 401. Bounded: LIMS_FUZZ_EXAMPLES per operation and mode (default 20), derandomised so CI is repeatable;
LIMS_FUZZ_EXAMPLES=500 LIMS_FUZZ_RANDOM=1 runs a longer, fresh campaign by hand.

The stateful phase (issue 14) chains the calls through the links schemathesis infers between operations (a created
lot's id into its QC, evaluation and trace): LIMS_FUZZ_SCENARIOS scenarios (default 10) of at most 8 steps each.
"""
import logging
import os
import shutil
import re
from contextlib import contextmanager

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from lims.auth import services as auth
from lims.extensions import db
from tests.support import PASSWORD, enrol, expansion_study, make_study, planned_dose, received_bag, released_lot

EXAMPLES = int(os.environ.get("LIMS_FUZZ_EXAMPLES", "20"))
SCENARIOS = int(os.environ.get("LIMS_FUZZ_SCENARIOS", "10"))
RANDOM = os.environ.get("LIMS_FUZZ_RANDOM") == "1"
EVERY_ROLE = ["technician", "qa", "investigator", "pharmacist", "nurse"]


def seed_records(api):
    """Real records for the fuzz to hit, by the ids its path parameters may take."""
    lot = released_lot(api)
    study = make_study(api)
    expansion = expansion_study(api)
    subject = enrol(api, study["id"], code="S-001", wristband="MRN-0001")
    dosed = enrol(api, expansion["id"], code="S-002", wristband="MRN-0002", cohort="Expansion")
    waiting = enrol(api, expansion["id"], code="S-003", wristband="MRN-0003", cohort="Expansion")
    bag = received_bag(api, dosed["id"], lot["id"])
    dose = planned_dose(api, waiting["id"], lot["id"])
    return {"lot_id": lot["id"], "study_id": study["id"], "subject_id": subject["id"], "dose_id": dose["id"],
            "code": bag["code"], "cohort_name": "Tier 1"}


def signed(case):
    """A generated signature (or bedside witness) with the right password, so the request passes the signing step."""
    if isinstance(case.body, dict):
        if isinstance(case.body.get("signature"), dict):
            case.body["signature"]["password"] = PASSWORD
        if isinstance(case.body.get("witness"), dict):
            case.body["witness"].update(username="nurse2", password=PASSWORD)
    return case


@contextmanager
def server_tracebacks():
    """The tracebacks lims.errors logs for a 500, kept for the failure report (Alembic's logging setup in the test
    session disables existing loggers, so they would otherwise vanish)."""
    logger = logging.getLogger("lims.errors")
    records = []
    handler = logging.Handler(level=logging.ERROR)
    handler.emit = lambda record: records.append(logging.Formatter().format(record))
    disabled, logger.disabled = logger.disabled, False
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.disabled = disabled


def fuzz(operation, mode, known, token):
    """Runs one operation's generated requests in one mode; raises what schemathesis found."""
    strategy = operation.as_strategy(generation_mode=mode)
    fixed = {name: value for name, value in known.items() if name in {p.name for p in operation.path_parameters}}
    if fixed:
        strategy = st.one_of(strategy, operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    if mode.is_positive:
        strategy = strategy.map(signed)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                               checks=[not_a_server_error, response_schema_conformance])

    run()


def _route_roles(app):
    """(method, OpenAPI path) -> the roles the route's view requires."""
    roles = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods:
            roles[(method.lower(), path)] = getattr(app.view_functions[rule.endpoint], "required_roles", ())
    return roles


def _token_for(operation, route_roles, api, token):
    if (operation.method, operation.path) == ("delete", "/api/v1/auth/token"):
        return api.client.post("/api/v1/auth/token", json={"username": "every", "password": PASSWORD}
                               ).get_json()["token"]
    if "admin" in route_roles.get((operation.method, operation.path), ()):
        return api.token("admin")
    return token


def test_fuzzing_every_api_route_finds_no_server_error_and_no_schema_violation(app, api):
    known = seed_records(api)
    auth.create_user("every", "Every Role", EVERY_ROLE, PASSWORD)
    token = api.token("every")
    db.session.remove()
    # A fuzzed signature with a wrong password counts toward lockout; the fuzz must not lock itself out.
    app.config["LIMS_LOCKOUT_THRESHOLD"] = 10 ** 6
    app.config["LIMS_SIGN_IN_THROTTLE_FAILURES"] = 10 ** 6  # nor may its failed sign-ins throttle its own address
    app.config["LIMS_SIGN_IN_THROTTLE_ADDRESS_FAILURES"] = 10 ** 6

    route_roles = _route_roles(app)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30, [op.label for op in operations]  # the document lists every contract route

    found = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with server_tracebacks() as tracebacks:
                try:
                    fuzz(operation, mode, known, _token_for(operation, route_roles, api, token))
                except (AssertionError, BaseExceptionGroup) as failure:
                    found.append(f"== {operation.label} ({mode.value})\n{failure}\n" + "\n".join(tracebacks[:1]))
                finally:
                    db.session.remove()
    assert not found, f"{len(found)} operation(s) misbehaved under fuzzing:\n\n" + "\n\n".join(found)


class SeededDatabase:
    """The seeded records, put back before every stateful scenario: a scenario's steps depend on what the database
    answers, and Hypothesis requires the same steps to meet the same answers each time it draws them."""

    def __init__(self, database):
        self.database = database
        db.session.remove()
        db.engine.dispose()
        if database.is_postgresql:
            from tests.conftest import _pg_admin
            self.copy = f"{database._cleanup}_seeded"
            with _pg_admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.copy}" TEMPLATE "{database._cleanup}"')
        else:
            self.path = database.url[len("sqlite:///"):]
            self.copy = self.path + ".seeded"
            shutil.copyfile(self.path, self.copy)

    def restore(self):
        db.session.remove()
        db.engine.dispose()
        if self.database.is_postgresql:
            from tests.conftest import _pg_admin
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database._cleanup}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{self.database._cleanup}" TEMPLATE "{self.copy}"')
        else:
            for suffix in ("-wal", "-shm"):
                if os.path.exists(self.path + suffix):
                    os.remove(self.path + suffix)
            shutil.copyfile(self.copy, self.path)

    def drop(self):
        if self.database.is_postgresql:
            from tests.conftest import _pg_admin
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.copy}" WITH (FORCE)')


def test_stateful_fuzzing_of_chained_api_calls_finds_no_server_error(app, api):
    """Sequences of calls, each fed the ids the previous ones returned: no 500 anywhere along them."""
    seed_records(api)
    auth.create_user("every", "Every Role", EVERY_ROLE, PASSWORD)
    token = api.token("every")
    app.config["LIMS_LOCKOUT_THRESHOLD"] = 10 ** 6
    seeded = SeededDatabase(app.database)

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    machine = schema.as_state_machine()
    assert machine.bundles or machine.rules(), "no links between operations: the stateful phase would test nothing"

    calls = []

    class Workflow(machine):
        def setup(self):
            seeded.restore()

        def before_call(self, case):
            signed(case)

        def after_call(self, response, case):
            calls.append((case.operation.label, response.status_code))

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[not_a_server_error])

        def teardown(self):
            db.session.remove()

    with server_tracebacks() as tracebacks:
        try:
            # No shrinking: the database keeps what earlier scenarios wrote, so a replay never draws the same
            # steps again (Hypothesis calls that a flaky strategy); the first failing scenario is reported as found.
            Workflow.run(settings=settings(max_examples=SCENARIOS, stateful_step_count=8, deadline=None,
                                           database=None, derandomize=not RANDOM, phases=[Phase.generate],
                                           report_multiple_bugs=False, suppress_health_check=list(HealthCheck)))
        except Exception as failure:
            raise AssertionError(f"{failure}\n" + "\n".join(tracebacks[:1])) from None
        finally:
            db.session.remove()
            db.engine.dispose()
            seeded.drop()
    chained = {label for label, _status in calls}
    print(f"stateful: {len(calls)} calls over {len(chained)} operations")
    assert len(calls) > SCENARIOS and len(chained) >= 5, calls  # the scenarios really chained several operations
