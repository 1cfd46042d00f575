"""itMSC LIMS: the application factory."""
import importlib
import logging
from pathlib import Path

from flask import Flask, g, request
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import config as settings
from lims.extensions import api, csrf, db, migrate, reads_only

# Each domain contributes an API blueprint (api.py) and, where it has pages, a views blueprint (views.py).
DOMAINS = ("auth", "audit", "lots", "studies", "doses", "labels", "chainofcustody", "reports", "search", "safety")
CLI_GROUPS = (("lims.auth.cli", "users_cli"), ("lims.audit.cli", "audit_cli"), ("lims.demo.cli", "demo_cli"),
              ("lims.labels.cli", "labels_cli"))

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def database_uri(url):
    # psycopg 3 is the driver this project pins; plain postgresql:// URLs would pick psycopg2.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: ids are 32-bit integers on PostgreSQL, so a larger number names no row (404 on both
    databases) instead of reaching the database as a value it cannot compare."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


class MissingSecretKey(RuntimeError):
    pass


def _production_settings(app):
    if not app.config.get("SECRET_KEY") and not app.testing:
        raise MissingSecretKey(
            "LIMS_SECRET_KEY is not set: the server will not start without the key that signs its session cookies. "
            "Set it to a long random value kept outside the repository (python3 -c 'import secrets; "
            "print(secrets.token_hex(32))'), the same on every instance; scripts/run.sh makes one for the demo.")
    if app.config.get("LIMS_BEHIND_TLS"):
        app.config["SESSION_COOKIE_SECURE"] = True
        # One TLS proxy in front: its X-Forwarded-For/-Proto/-Host are the client's, and only its (x_for=1).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)


def create_app(config=None, **overrides):
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = RowIdConverter
    app.config.from_object(config or settings.load())
    app.config.update(overrides)
    _production_settings(app)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app.config["DATABASE_URL"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        connect_args = app.config["SQLALCHEMY_ENGINE_OPTIONS"].setdefault("connect_args", {})
        connect_args.setdefault("connect_timeout", app.config["LIMS_DB_CONNECT_TIMEOUT_SECONDS"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    app.json.sort_keys = False
    logging.basicConfig(level=logging.INFO)
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    from lims import models  # noqa: F401  (the whole schema, for the ORM and Alembic)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    from lims.errors import ErrorSchema
    api.ERROR_SCHEMA = ErrorSchema  # document the error body clients really get, not flask-smorest's default
    api.init_app(app, spec_kwargs={"components": {"securitySchemes": {
        "bearerAuth": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearerAuth": []}]})
    with app.app_context():
        _sqlite_pragmas()

    for domain in DOMAINS:
        for kind in ("api", "views"):
            try:
                module = importlib.import_module(f"lims.{domain}.{kind}")
            except ModuleNotFoundError as e:
                if e.name != f"lims.{domain}.{kind}":
                    raise
                continue
            if kind == "api":
                csrf.exempt(module.blp)  # the API authenticates by Bearer token, never by cookie
                api.register_blueprint(module.blp)
            else:
                app.register_blueprint(module.bp)
    from lims import health, views
    app.register_blueprint(views.bp)
    app.register_blueprint(health.bp)

    for module_name, attr in CLI_GROUPS:
        app.cli.add_command(getattr(importlib.import_module(module_name), attr))
    import lims.backup  # noqa: F401  (adds `backup` and `restore` to Flask-Migrate's `db` group)

    from lims.errors import register_error_handlers
    register_error_handlers(app)  # after the Api's own handlers, so ours win
    from lims import observability
    observability.init_app(app)
    _register_request_hooks(app)
    return app


def _sqlite_pragmas():
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # SQLite has no row locks: a writing transaction takes the write lock at BEGIN, which serialises writers, so
        # the races that PostgreSQL settles with SELECT ... FOR UPDATE are settled here too, by waiting instead of
        # failing. A read takes no lock at all: in WAL mode it reads its snapshot while a writer writes, so one slow
        # page or trace cannot stall the site's writes, and a long write cannot stall its reads.
        reading = reads_only()
        connection.info["reads_only"] = reading
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _write_in_a_read(connection, _cursor, statement, _parameters, _context, _executemany):
        # A read's transaction may still write (SQLite upgrades its lock), but fails at once if another writer
        # committed since it began: a GET that writes must be marked @writes_on_read. Said loudly, never silently.
        if connection.info.get("reads_only") and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            logging.getLogger(__name__).warning("a GET wrote in a read transaction (mark it @writes_on_read): %s",
                                                statement[:80])


def _register_request_hooks(app):
    from lims.errors import BadRequest

    @app.before_request
    def json_only_api():
        if (request.path.startswith("/api/") and request.method in ("POST", "PUT", "PATCH")
                and request.content_length and not request.is_json):
            raise BadRequest("send the body as application/json", code="unsupported_content_type")

    hsts = None
    if app.config.get("LIMS_BEHIND_TLS"):
        hsts = f"max-age={app.config.get('LIMS_HSTS_SECONDS', 31536000)}; includeSubDomains"

    @app.before_request
    def json_within_limits():
        # Before authentication and before any view: a body no schema should ever see is refused here (SPEC §18).
        if request.is_json and (request.content_length or request.headers.get("Transfer-Encoding")):
            from lims.request_body import vet
            vet(request.get_data(cache=True))

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", hsts)
        return response

    @app.before_request
    def _forget_previous_user():
        g.pop("user", None)  # who is asking is settled per request, never inherited
        g.pop("page_session", None)
        from lims.auth.sessions import forget_signing
        forget_signing()

    @app.teardown_request
    def _end_transaction(exc):
        # Whatever a request did not commit is rolled back: nothing half-written, and no lock outlives it.
        db.session.rollback()

    from lims.timeutil import iso, local, utc_text
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["local"] = local
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.filters["utc"] = utc_text
    from lims.lots.isbt import display as din_display
    app.jinja_env.filters["din_spaced"] = lambda din: din_display(din, "")[0]
    # A form field as the person reads it: "volume_infused" → "Volume infused", "signature.password" → "Password".
    app.jinja_env.filters["field_label"] = lambda name: name.rsplit(".", 1)[-1].replace("_", " ").capitalize()
