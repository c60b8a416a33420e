"""Staff time zones: which zone an account reads times in, and the one staff date format."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_datetime

from comments_service import i18n
from comments_service.config import Settings
from comments_service.i18n import N_
from comments_service.store.database import Database
from comments_service.store.models import StaffUser
from comments_service.verbs.accounts import AccountError, get_staff

MAX_ZONE_LENGTH = 64


def zone_or_none(name: str) -> ZoneInfo | None:
    """The IANA zone called ``name``, or None when there is no such zone."""
    name = name.strip()
    if not name or len(name) > MAX_ZONE_LENGTH or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def clean_time_zone(name: str) -> str:
    """A storable zone name: "" (the operator's default) or a known IANA zone."""
    name = name.strip()
    if name and zone_or_none(name) is None:
        raise AccountError("time_zone", N_("%(name)s is not a known IANA time zone, e.g. "
                                          "Europe/Madrid; leave it empty for the team's "
                                          "default"), name=repr(name[:80]))
    return name


def default_zone_name(settings: Settings) -> str:
    """The operator's staffed-hours zone when it is a usable one, else UTC."""
    return settings.staffed_timezone if zone_or_none(settings.staffed_timezone) else "UTC"


def zone_for(settings: Settings, user: StaffUser | None) -> ZoneInfo:
    """The zone this account reads times in (its own, else the team's, else UTC)."""
    own = zone_or_none(user.time_zone) if user is not None and user.time_zone else None
    return own or ZoneInfo(default_zone_name(settings))


def set_time_zone(database: Database, username: str, time_zone: str) -> str:
    """Store an account's time zone ("" = the team's default); returns what was stored."""
    cleaned = clean_time_zone(time_zone)
    with database.write() as session:
        user = get_staff(session, username)
        if user is None:
            raise AccountError("username", f"no staff account named '{username}'")
        user.time_zone = cleaned
    return cleaned


def zone_choices() -> list[str]:
    """Every IANA zone this machine knows, sorted, for the account page's list."""
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def format_staff_time(when: datetime | None, zone: ZoneInfo, language: str | None = None) -> str:
    """The one date format of staff pages: "1 Dec 2026, 09:30 CET" ("1 dic 2026, 09:30 CET"
    in Spanish: the language in force, i18n.current(), unless given)."""
    if when is None:
        return ""
    local = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(zone)
    zone_name = local.tzname() or zone.key
    tag = i18n.normalise(language or i18n.current())
    if tag.split("_")[0] != "en":
        return f"{format_datetime(local, 'd MMM y, HH:mm', locale=tag)} {zone_name}"
    return f"{local.day} {local:%b %Y, %H:%M} {zone_name}"


def machine_time(when: datetime | None) -> str:
    """The same moment for a <time datetime> attribute, in UTC."""
    if when is None:
        return ""
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
