"""Staffed hours on a fixed clock: inside or out, the next staffed time, the on-call mail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import make_settings
from fastapi.testclient import TestClient
from service_support import app_client, with_docs
from staff_support import add_comment
from test_notify import Mailbox, link_in, mailbox, run  # noqa: F401 (mailbox: a fixture)

from comments_service.config import Settings
from comments_service.verbs.staffed_hours import StaffedHoursError, parse_staffed_hours
from comments_service.web.app import create_app

LONDON = "Europe/London"
WEEKDAYS = "Mon-Fri 09:00-17:00"
ONCALL = "oncall@example.org"
MODERATOR = "mods@example.org"


def at(text: str) -> datetime:
    """A UTC moment written 2027-03-26 17:30."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def utc(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(UTC).strftime("%a %Y-%m-%d %H:%M")


# The schedule --------------------------------------------------------------------------


@pytest.mark.parametrize(("moment", "staffed"), [
    ("2027-03-03 08:59", False),  # Wednesday, a minute before opening (GMT = UTC)
    ("2027-03-03 09:00", True),
    ("2027-03-03 16:59", True),
    ("2027-03-03 17:00", False),  # the end is exclusive
    ("2027-03-06 12:00", False),  # Saturday
    ("2027-07-07 08:30", True),   # summer: 08:30 UTC is 09:30 in London
    ("2027-07-07 16:30", False),  # and 16:30 UTC is 17:30
])
def test_inside_and_outside_staffed_hours_in_the_team_time_zone(moment: str,
                                                                staffed: bool) -> None:
    assert parse_staffed_hours(WEEKDAYS, LONDON).is_staffed(at(moment)) is staffed


def test_next_staffed_time_later_today_and_tomorrow() -> None:
    schedule = parse_staffed_hours(WEEKDAYS, LONDON)
    assert utc(schedule.next_staffed(at("2027-03-03 07:00"))) == "Wed 2027-03-03 09:00"
    assert utc(schedule.next_staffed(at("2027-03-03 18:00"))) == "Thu 2027-03-04 09:00"


def test_next_staffed_time_skips_the_weekend() -> None:
    schedule = parse_staffed_hours(WEEKDAYS, LONDON)
    assert utc(schedule.next_staffed(at("2027-03-12 17:30"))) == "Mon 2027-03-15 09:00"
    assert utc(schedule.next_staffed(at("2027-03-13 11:00"))) == "Mon 2027-03-15 09:00"


def test_next_staffed_time_keeps_the_wall_clock_across_daylight_saving_changes() -> None:
    schedule = parse_staffed_hours(WEEKDAYS, LONDON)
    # Clocks go forward on Sunday 28 March 2027: Monday's 09:00 is 08:00 UTC.
    spring = schedule.next_staffed(at("2027-03-26 17:30"))
    assert utc(spring) == "Mon 2027-03-29 08:00"
    assert schedule.describe(spring) == "Monday 29 March, 09:00 (Europe/London time)"
    # And back on Sunday 31 October: Monday's 09:00 is 09:00 UTC again.
    assert utc(schedule.next_staffed(at("2027-10-29 16:30"))) == "Mon 2027-11-01 09:00"


def test_several_windows_and_a_range_over_the_weekend() -> None:
    schedule = parse_staffed_hours("Fri-Mon 10:00-12:00; Wed 18:00-24:00", "UTC")
    assert schedule.is_staffed(at("2027-03-07 11:00"))  # Sunday
    assert not schedule.is_staffed(at("2027-03-09 11:00"))  # Tuesday
    assert schedule.is_staffed(at("2027-03-10 23:59"))  # Wednesday evening
    assert utc(schedule.next_staffed(at("2027-03-08 13:00"))) == "Wed 2027-03-10 18:00"


def test_no_hours_means_always_staffed() -> None:
    schedule = parse_staffed_hours("", "UTC")
    assert schedule.is_staffed(at("2027-03-06 03:00"))
    assert schedule.next_staffed(at("2027-03-06 03:00")) is None


@pytest.mark.parametrize(("hours", "zone", "message"), [
    ("Mon-Fry 09:00-17:00", "UTC", "staffed_hours: 'Mon-Fry 09:00-17:00': unknown day 'Fry'"),
    ("weekdays", "UTC", "staffed_hours: 'weekdays' is not like 'Mon-Fri 09:00-17:00'"),
    ("Mon 17:00-09:00", "UTC", "staffed_hours: 'Mon 17:00-09:00': the end must be after"),
    ("Mon 09:00-25:00", "UTC", "staffed_hours: 'Mon 09:00-25:00': 25:00 is not a time"),
    (WEEKDAYS, "Europe/Londres", "staffed_timezone: 'Europe/Londres' is not a known IANA"),
])
def test_bad_staffed_hours_name_the_setting(hours: str, zone: str, message: str) -> None:
    with pytest.raises(StaffedHoursError, match="^" + message.replace("(", r"\(")):
        parse_staffed_hours(hours, zone)


def test_the_service_refuses_to_start_with_bad_hours(tmp_path: Path) -> None:
    with pytest.raises(StaffedHoursError, match="staffed_timezone"):
        create_app(make_settings(tmp_path, staffed_hours=WEEKDAYS, staffed_timezone="Mars/Base"))


# What the page's script is told --------------------------------------------------------


def status_at(client: TestClient, moment: str) -> dict[str, object]:
    client.app.state.clock = lambda: at(moment)  # type: ignore[attr-defined]
    response = client.get("/api/status")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=15"
    return response.json()


def test_status_says_when_replies_will_come_outside_staffed_hours(settings: Settings,
                                                                 tmp_path: Path) -> None:
    hours = with_docs(settings, tmp_path, staffed_hours=WEEKDAYS, staffed_timezone=LONDON)
    with app_client(hours) as client:
        assert status_at(client, "2027-03-03 10:00") == {
            "paused": False, "pause_message": None, "staffed": True,
            "next_staffed_at": None, "next_staffed_text": None, "mail": False}
        off = status_at(client, "2027-03-26 18:00")
    assert off["staffed"] is False
    assert off["next_staffed_at"] == "2027-03-29T08:00:00Z"
    assert off["next_staffed_text"] == "Monday 29 March, 09:00 (Europe/London time)"


def test_status_without_staffed_hours_is_always_staffed(settings: Settings,
                                                        tmp_path: Path) -> None:
    with app_client(with_docs(settings, tmp_path)) as client:
        assert status_at(client, "2027-03-06 03:00")["staffed"] is True


# The on-call mail ----------------------------------------------------------------------


@pytest.fixture
def oncall_app(tmp_path: Path, mailbox: tuple[Mailbox, int]):  # type: ignore[no-untyped-def]  # noqa: F811
    settings = make_settings(
        tmp_path, smtp_host="127.0.0.1", smtp_port=mailbox[1], moderator_emails=[MODERATOR],
        notify_interval_seconds=0, mail_from="comments@articles.example.org",
        staffed_hours=WEEKDAYS, staffed_timezone=LONDON, oncall_email=ONCALL)
    return create_app(settings)


def test_urgent_comment_outside_staffed_hours_mails_on_call_at_once_without_its_text(
    oncall_app, mailbox: tuple[Mailbox, int],  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    box = mailbox[0]
    comment_id = add_comment(
        oncall_app.state.database, body="I want to end my life tonight.", urgent=True,
        author="Quinn Private", email="quinn.private@example.org", ip="203.0.113.77",
        created_at=at("2027-03-27 02:00"))  # Saturday night
    run(oncall_app)
    (message,) = box.to(ONCALL)
    assert message["Subject"] == f"On call: urgent comment outside staffed hours (#{comment_id})"
    assert link_in(message, "/staff/comments/") == f"/staff/comments/{comment_id}"
    assert "Monday 29 March, 09:00 (Europe/London time)" in message.get_content()
    text = message.as_string()
    for secret in ("end my life", "Quinn", "quinn.private", "203.0.113.77"):
        assert secret not in text
    # Apart from the moderators' own urgent mail, which still goes out.
    assert len(box.to(MODERATOR)) == 1


def test_no_on_call_mail_inside_staffed_hours_or_for_ordinary_comments(
    oncall_app, mailbox: tuple[Mailbox, int],  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    box = mailbox[0]
    add_comment(oncall_app.state.database, urgent=True, body="I cannot go on.",
                created_at=at("2027-03-24 10:00"))  # Wednesday morning
    add_comment(oncall_app.state.database, body="A question about the references.",
                created_at=at("2027-03-27 02:00"))  # Saturday night, not urgent
    run(oncall_app, minutes_later=30)
    assert box.to(ONCALL) == []
    assert len(box.to(MODERATOR)) == 2  # the urgent alert, then the digest
