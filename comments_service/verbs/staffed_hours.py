"""Staffed hours: when the team reads comments, and when it next will, in the team's zone.

COMMENTS_STAFFED_HOURS reads like a shop sign, ``Mon-Fri 09:00-17:00, Sat 10:00-13:00``, in
COMMENTS_STAFFED_TIMEZONE. Every question takes the moment to ask about (``now``), so the
callers own the clock and tests pass a fixed one. Times are wall-clock times in the zone,
so "09:00" stays 09:00 across a daylight-saving change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from comments_service.config import Settings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
_ENTRY = re.compile(
    r"^(?P<days>[A-Za-z]+(?:\s*-\s*[A-Za-z]+)?)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)


class StaffedHoursError(ValueError):
    """Unusable staffed-hours settings; the message names the setting and what is wrong."""


@dataclass(frozen=True)
class StaffedHours:
    """Weekly windows (minutes after local midnight, end exclusive) in one time zone."""

    zone: ZoneInfo
    windows: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    @property
    def always(self) -> bool:
        """No hours configured: the service never says replies will wait."""
        return not self.windows

    def is_staffed(self, now: datetime) -> bool:
        """Whether someone is reading comments at this moment."""
        if self.always:
            return True
        local = now.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.windows.get(local.weekday(), ()))

    def next_staffed(self, now: datetime) -> datetime | None:
        """The start of the next staffed window after ``now`` (None when always staffed).

        Asked while staffed, it gives the start of the window after the current one.
        """
        if self.always:
            return None
        local = now.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        for offset in range(8):
            day: date = local.date() + timedelta(days=offset)
            for start, _end in self.windows.get(day.weekday(), ()):
                if offset == 0 and start <= minute:
                    continue
                # Wall time in the zone: zoneinfo picks the offset in force on that day.
                return datetime.combine(day, time(start // 60, start % 60), tzinfo=self.zone)
        return None  # not reached: a non-empty week always has a next start

    def describe(self, moment: datetime) -> str:
        """A staffed time as readers see it: "Monday 30 March, 09:00 (Europe/London time)"."""
        local = moment.astimezone(self.zone)
        return (f"{DAY_NAMES[local.weekday()]} {local.day} {MONTHS[local.month - 1]}, "
                f"{local:%H:%M} ({self.zone.key} time)")


def _minutes(text: str, entry: str, allow_24: bool) -> int:
    hours, minutes = (int(part) for part in text.split(":"))
    if allow_24 and hours == 24 and minutes == 0:
        return 24 * 60
    if hours > 23 or minutes > 59:
        raise StaffedHoursError(f"staffed_hours: {entry!r}: {text} is not a time of day "
                                "(use 00:00 to 23:59, or 24:00 as an end)")
    return hours * 60 + minutes


def _day(name: str, entry: str) -> int:
    key = name.strip().lower()[:3]
    if key not in DAYS or not DAY_NAMES[DAYS.index(key)].lower().startswith(name.strip().lower()):
        raise StaffedHoursError(f"staffed_hours: {entry!r}: unknown day {name.strip()!r} "
                                "(use Mon, Tue, Wed, Thu, Fri, Sat or Sun)")
    return DAYS.index(key)


def parse_staffed_hours(hours: str, timezone: str) -> StaffedHours:
    """The schedule, or StaffedHoursError naming the setting and the entry at fault."""
    try:
        zone = ZoneInfo(timezone.strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise StaffedHoursError(f"staffed_timezone: {timezone!r} is not a known IANA time "
                                "zone (for example Europe/London)") from exc
    windows: dict[int, list[tuple[int, int]]] = {}
    for raw in re.split(r"[,;]", hours):
        entry = " ".join(raw.split())
        if not entry:
            continue
        match = _ENTRY.match(entry)
        if match is None:
            raise StaffedHoursError(f"staffed_hours: {entry!r} is not like "
                                    "'Mon-Fri 09:00-17:00'")
        first, _, last = match["days"].partition("-")
        start_day = _day(first, entry)
        end_day = _day(last, entry) if last else start_day
        start = _minutes(match["start"], entry, allow_24=False)
        end = _minutes(match["end"], entry, allow_24=True)
        if end <= start:
            raise StaffedHoursError(f"staffed_hours: {entry!r}: the end must be after the "
                                    "start (split a night into two entries)")
        day = start_day
        while True:  # a range may wrap over the weekend, e.g. Fri-Mon
            windows.setdefault(day, []).append((start, end))
            if day == end_day:
                break
            day = (day + 1) % 7
    return StaffedHours(zone, {day: tuple(sorted(spans)) for day, spans in windows.items()})


def from_settings(settings: Settings) -> StaffedHours:
    """The configured schedule; raises StaffedHoursError when the settings are wrong."""
    return parse_staffed_hours(settings.staffed_hours, settings.staffed_timezone)


def status(settings: Settings, now: datetime) -> dict[str, object]:
    """What the page's script shows about staffed hours at ``now``."""
    schedule = from_settings(settings)
    staffed = schedule.is_staffed(now)
    upcoming = None if staffed else schedule.next_staffed(now)
    return {
        "staffed": staffed,
        "next_staffed_at": (upcoming.astimezone(UTC).isoformat().replace("+00:00", "Z")
                            if upcoming else None),
        "next_staffed_text": schedule.describe(upcoming) if upcoming else None,
    }
