"""Settings: classes with defaults, each overridable by an environment variable of the same name (SPEC §14)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name, default):
    return os.environ.get(name, default)


class Config:
    # SQLite file under instance/ by default: the embedded database a new site needs no server for.
    DATABASE_URL = _env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'lims.db'}")
    # No default: a server must never sign sessions with a key anyone can read here (create_app refuses to start).
    SECRET_KEY = _env("LIMS_SECRET_KEY", None)
    LIMS_FACILITY_FIN = _env("LIMS_FACILITY_FIN", "W1234")
    LIMS_TIMEZONE = _env("LIMS_TIMEZONE", "America/New_York")
    # libpq waits for ever on a database host that drops packets; a probe or a request must fail over instead.
    LIMS_DB_CONNECT_TIMEOUT_SECONDS = int(_env("LIMS_DB_CONNECT_TIMEOUT_SECONDS", "5"))

    LIMS_TOKEN_TTL_MINUTES = int(_env("LIMS_TOKEN_TTL_MINUTES", "480"))  # one ward shift
    LIMS_LOCKOUT_THRESHOLD = int(_env("LIMS_LOCKOUT_THRESHOLD", "5"))
    LIMS_LOCKOUT_MINUTES = int(_env("LIMS_LOCKOUT_MINUTES", "15"))
    # A page session unused this long is ended on the server (SPEC §4): a ward screen left signed in is not.
    LIMS_SESSION_IDLE_MINUTES = int(_env("LIMS_SESSION_IDLE_MINUTES", "15"))
    # Failed sign-ins of one username from one client address before that username is refused (429) there for the
    # rest of the window, and failed sign-ins from one address for all usernames before the address is: a shared ward
    # PC stays open to its other users after one person's typos, and one client trying many usernames (password
    # spraying) is stopped at the wider count (lims.auth.throttle).
    LIMS_SIGN_IN_THROTTLE_FAILURES = int(_env("LIMS_SIGN_IN_THROTTLE_FAILURES", "10"))
    LIMS_SIGN_IN_THROTTLE_ADDRESS_FAILURES = int(_env("LIMS_SIGN_IN_THROTTLE_ADDRESS_FAILURES", "100"))
    LIMS_SIGN_IN_THROTTLE_MINUTES = int(_env("LIMS_SIGN_IN_THROTTLE_MINUTES", "15"))

    # Dose rules of SPEC §7, each a site setting with the SPEC's default.
    LIMS_WEIGHT_MAX_AGE_DAYS = int(_env("LIMS_WEIGHT_MAX_AGE_DAYS", "14"))
    # A new weight this far (percent) from the latest needs confirming with a reason (SPEC §6): the lb/kg slip.
    LIMS_WEIGHT_CHANGE_CONFIRM_PERCENT = float(_env("LIMS_WEIGHT_CHANGE_CONFIRM_PERCENT", "10"))
    # A follow-up visit on day d is due within ±(d × this %) days, at least 1, at most the maximum (SPEC §6).
    LIMS_FOLLOW_UP_WINDOW_PERCENT = float(_env("LIMS_FOLLOW_UP_WINDOW_PERCENT", "10"))
    LIMS_FOLLOW_UP_WINDOW_MAX_DAYS = int(_env("LIMS_FOLLOW_UP_WINDOW_MAX_DAYS", "30"))
    LIMS_VOLUME_STEP_ML = _env("LIMS_VOLUME_STEP_ML", "0.1")
    LIMS_MAX_DEVIATION_PERCENT = float(_env("LIMS_MAX_DEVIATION_PERCENT", "10"))
    LIMS_MAX_DMSO_G_PER_KG = float(_env("LIMS_MAX_DMSO_G_PER_KG", "1"))
    LIMS_MAX_ENDOTOXIN_EU_PER_KG = float(_env("LIMS_MAX_ENDOTOXIN_EU_PER_KG", "5"))
    LIMS_DMSO_DENSITY_G_PER_ML = float(_env("LIMS_DMSO_DENSITY_G_PER_ML", "1.10"))
    LIMS_CLOCK_SKEW_MINUTES = int(_env("LIMS_CLOCK_SKEW_MINUTES", "5"))

    LIMS_LABEL_WIDTH_IN = float(_env("LIMS_LABEL_WIDTH_IN", "4"))
    LIMS_LABEL_HEIGHT_IN = float(_env("LIMS_LABEL_HEIGHT_IN", "4"))
    # One batch print request renders at most this many labels (SPEC §9): a bound on one request's work and on how
    # many counted reprints one click can make.
    LIMS_LABEL_BATCH_MAX = int(_env("LIMS_LABEL_BATCH_MAX", "200"))
    # ISBT 128 type of donation in the product code data structure (SPEC §9): V, volunteer allogeneic.
    LIMS_ISBT_DONATION_TYPE = _env("LIMS_ISBT_DONATION_TYPE", "V")
    # The handling text a thawed bag's label carries instead of the product's frozen storage text (SPEC §9);
    # {expires_at} is the bag's post-thaw expiry in the site's zone.
    LIMS_LABEL_AFTER_THAW_TEXT = _env(
        "LIMS_LABEL_AFTER_THAW_TEXT",
        "Thawed: keep at room temperature 15–25 °C, do not refreeze, use by {expires_at}.")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Served over TLS by a proxy in front (the README's operations section): trust one proxy's X-Forwarded-*, send
    # cookies only over HTTPS, and tell browsers to come back over HTTPS only (HSTS).
    LIMS_BEHIND_TLS = _env("LIMS_BEHIND_TLS", "0") == "1"
    SESSION_COOKIE_SECURE = LIMS_BEHIND_TLS
    LIMS_HSTS_SECONDS = int(_env("LIMS_HSTS_SECONDS", str(365 * 24 * 3600)))
    # Flask-WTF's strict mode refuses an HTTPS form post without a Referer, and our pages send Referrer-Policy:
    # no-referrer, so browsers send none: behind TLS every form would fail. The CSRF token and the SameSite=Lax
    # session cookie still guard every form.
    WTF_CSRF_SSL_STRICT = False
    WTF_CSRF_TIME_LIMIT = None  # a form left open over a long procedure must still submit
    MAX_CONTENT_LENGTH = 1024 * 1024

    # OpenAPI (flask-smorest)
    API_TITLE = "itMSC LIMS"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    TESTING = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"  # noqa: S105 (the test configuration only)
    LIMS_FACILITY_FIN = "W1234"
    LIMS_TIMEZONE = "America/New_York"


class ProductionConfig(Config):
    """What gunicorn serves (wsgi.py): the base settings, which are already the production ones."""


def load(name=None):
    name = name or _env("LIMS_CONFIG", "default")
    return {"test": TestConfig, "production": ProductionConfig}.get(name, Config)
