"""Races on purpose: run several calls at the same instant and collect what each returned (SPEC §16).

Each call gets its own thread; a Barrier holds them until all are ready, then releases them together, so the calls
really overlap inside the database rather than running one after the other.
"""
import threading

from lims.extensions import db


def run_at_once(*calls, timeout=60):
    """Start every call at the same instant; return their results in the order given.

    A call that raises fails the test here, naming the call, rather than leaving a hole in the results; a call still
    running after `timeout` seconds fails it too (a deadlock is a finding, not a hang).
    """
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = {}

    def run(i):
        try:
            barrier.wait(timeout=timeout)
            results[i] = calls[i]()
        except BaseException as e:  # surfaced in the caller's thread below
            errors[i] = e
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    stuck = [i for i, t in enumerate(threads) if t.is_alive()]
    if stuck:
        raise AssertionError(f"call(s) {stuck} still running after {timeout} s")
    for i, error in sorted(errors.items()):
        if not isinstance(error, threading.BrokenBarrierError):
            raise AssertionError(f"call {i} raised {error!r}") from error
    if errors:
        raise AssertionError(f"the barrier broke: {errors!r}")
    return results


def api_post(app, token, path, body):
    """A call that POSTs body to /api/v1<path> as the token's user, in its own app context and session.

    Returns (status, json). Each racing call should have its own app (tests.conftest.make_app), built beforehand in
    the test's thread: app creation touches process-wide extension state.
    """
    def call():
        with app.app_context():
            try:
                r = app.test_client().post("/api/v1" + path, json=body,
                                           headers={"Authorization": f"Bearer {token}"})
                return r.status_code, r.get_json()
            finally:
                db.session.remove()

    return call
