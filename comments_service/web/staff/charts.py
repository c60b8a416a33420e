"""Server-drawn SVG chart geometry for the dashboard: no script, plain shapes with titles.

The templates draw what these return; each chart sits beside a data table, so the SVG is
a picture of the table (role="img" with a text alternative), never the only record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from babel.dates import format_date

from comments_service import i18n
from comments_service.i18n import N_
from comments_service.verbs.team_stats import (
    STATUSES,
    DayCounts,
    UrgentWeek,
    describe_duration,
)

WIDTH = 640
HEIGHT = 220
LEFT = 40
BOTTOM = 30
TOP = 10


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]
    axis_y: float
    top_label: str


def day_month(day: date, padded: bool = False) -> str:
    """ "12 Oct" ("12 oct" in Spanish): a short date in the language in force."""
    tag = i18n.current()
    if tag.split("_")[0] != "en":
        return format_date(day, "d MMM", locale=tag)
    return f"{day:%d %b}" if padded else f"{day.day} {day:%b}"


def month_date(day: date) -> str:
    """ "12 Oct 2026" ("12 oct 2026" in Spanish): the dashboard tables' dates."""
    tag = i18n.current()
    if tag.split("_")[0] != "en":
        return format_date(day, "d MMM y", locale=tag)
    return f"{day.day} {day:%b %Y}"


def _nice_max(value: float) -> float:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000):
        if value <= step:
            return float(step)
    return float(value)


def per_day_chart(days: list[DayCounts]) -> Chart:
    """Stacked bars, one per day, a colour per status."""
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((d.total for d in days), default=0) or 1)
    slot = plot_w / max(1, len(days))
    say = i18n.Translator(i18n.current()).gettext
    bars, labels = [], []
    for index, day in enumerate(days):
        x = LEFT + index * slot + slot * 0.15
        y = TOP + plot_h
        for status in STATUSES:
            count = day.by_status.get(status, 0)
            if not count:
                continue
            height = plot_h * count / top
            y -= height
            bars.append(Bar(round(x, 1), round(y, 1), round(slot * 0.7, 1), round(height, 1),
                            f"swatch-{status}",
                            say(N_("%(day)s: %(count)d %(status)s"), day=day_month(day.day, True),
                                count=count, status=say(status))))
        if index % 5 == 0 or index == len(days) - 1:
            last = index == len(days) - 1
            labels.append(Label(round(x + (slot * 0.7 if last else 0), 1), HEIGHT - 10,
                                day_month(day.day), "end" if last else "start"))
    return Chart(WIDTH, HEIGHT, bars, labels, TOP + plot_h, f"{int(top)}")


def urgent_chart(weeks: list[UrgentWeek]) -> Chart:
    """Per week, a bar for the median wait and a thin red bar for the worst."""
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    worst_all = max((w.worst for w in weeks if w.worst is not None), default=timedelta(0))
    top_minutes = _nice_max(max(1.0, worst_all.total_seconds() / 60))
    slot = plot_w / max(1, len(weeks))
    say = i18n.Translator(i18n.current()).gettext
    kinds = {"median": N_("median"), "worst": N_("worst")}
    bars, labels = [], []
    for index, week in enumerate(weeks):
        x = LEFT + index * slot + slot * 0.2
        for kind, span, offset, width in (("median", week.median, 0.0, 0.35),
                                          ("worst", week.worst, 0.38, 0.2)):
            if span is None:
                continue
            height = max(1.0, plot_h * (span.total_seconds() / 60) / top_minutes)
            bars.append(Bar(round(x + slot * offset, 1), round(TOP + plot_h - height, 1),
                            round(slot * width, 1), round(height, 1), f"chart-{kind}",
                            say(N_("week of %(week)s: %(kind)s %(duration)s"),
                                week=day_month(week.week, True), kind=say(kinds[kind]),
                                duration=describe_duration(span))))
        labels.append(Label(round(x, 1), HEIGHT - 10, day_month(week.week)))
    return Chart(WIDTH, HEIGHT, bars, labels, TOP + plot_h,
                 describe_duration(timedelta(minutes=top_minutes)))
