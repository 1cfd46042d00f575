"""Settings: classes with defaults, each overridable by an environment variable of the same name (SPEC §14)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def _env(name, default):
    return os.environ.get(name, default)


class Config:
    # SQLite file under instance/ by default: the embedded database a new site needs no server for.
    DATABASE_URL = _env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'lims.db'}")
    SECRET_KEY = _env("LIMS_SECRET_KEY", "dev-only-change-me")
    LIMS_FACILITY_FIN = _env("LIMS_FACILITY_FIN", "W1234")
    LIMS_TIMEZONE = _env("LIMS_TIMEZONE", "America/New_York")

    LIMS_TOKEN_TTL_MINUTES = int(_env("LIMS_TOKEN_TTL_MINUTES", "480"))  # one ward shift
    LIMS_LOCKOUT_THRESHOLD = int(_env("LIMS_LOCKOUT_THRESHOLD", "5"))
    LIMS_LOCKOUT_MINUTES = int(_env("LIMS_LOCKOUT_MINUTES", "15"))

    # Dose rules of SPEC §7, each a site setting with the SPEC's default.
    LIMS_WEIGHT_MAX_AGE_DAYS = int(_env("LIMS_WEIGHT_MAX_AGE_DAYS", "14"))
    LIMS_VOLUME_STEP_ML = _env("LIMS_VOLUME_STEP_ML", "0.1")
    LIMS_MAX_DEVIATION_PERCENT = float(_env("LIMS_MAX_DEVIATION_PERCENT", "10"))
    LIMS_MAX_DMSO_G_PER_KG = float(_env("LIMS_MAX_DMSO_G_PER_KG", "1"))
    LIMS_MAX_ENDOTOXIN_EU_PER_KG = float(_env("LIMS_MAX_ENDOTOXIN_EU_PER_KG", "5"))
    LIMS_DMSO_DENSITY_G_PER_ML = float(_env("LIMS_DMSO_DENSITY_G_PER_ML", "1.10"))
    LIMS_CLOCK_SKEW_MINUTES = int(_env("LIMS_CLOCK_SKEW_MINUTES", "5"))

    LIMS_LABEL_WIDTH_IN = float(_env("LIMS_LABEL_WIDTH_IN", "4"))
    LIMS_LABEL_HEIGHT_IN = float(_env("LIMS_LABEL_HEIGHT_IN", "4"))

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("LIMS_SECURE_COOKIES", "0") == "1"
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
    SESSION_COOKIE_SECURE = True


def load(name=None):
    name = name or _env("LIMS_CONFIG", "default")
    return {"test": TestConfig, "production": ProductionConfig}.get(name, Config)
