"""Time: stored in UTC, shown in the site's zone (SPEC §13, §14)."""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

UTC = dt.timezone.utc


def utcnow():
    return dt.datetime.now(UTC)


def site_zone():
    return ZoneInfo(current_app.config["LIMS_TIMEZONE"])


def site_today():
    return utcnow().astimezone(site_zone()).date()


def aware(value):
    """Values read back from SQLite lose their zone; every stored time is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value):
    if isinstance(value, str):  # already serialised (a signature view, an API dict)
        return value
    value = aware(value)
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def local(value, fmt="%Y-%m-%d %H:%M %Z"):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = aware(value)
    return "—" if value is None else value.astimezone(site_zone()).strftime(fmt)


def utc_text(value):
    """A signature's time as Part 11 records it: UTC, to the second."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = aware(value)
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")
