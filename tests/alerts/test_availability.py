"""On-duty windows: weekdays, past midnight, time zones, the whole day, and bad shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.alerts import OnDutyWindow, is_available, parse_availability

pytestmark = pytest.mark.timeout(30)

# Monday 23 November 2026.
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """Return a UTC moment on day ``day`` (0 = Monday 23 November 2026)."""
    return MONDAY.replace(day=23 + day, hour=hour, minute=minute)


def test_none_is_always_and_empty_is_never() -> None:
    assert is_available(None, at(6, 3))
    assert not is_available((), at(0, 12))
    assert parse_availability(None) is None
    assert parse_availability([]) == ()


def test_a_weekday_day_shift() -> None:
    shift = parse_availability([{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00"}])
    assert shift is not None
    assert is_available(shift, at(0, 8))
    assert is_available(shift, at(4, 19, 59))
    assert not is_available(shift, at(0, 20)), "the end is exclusive"
    assert not is_available(shift, at(0, 7, 59))
    assert not is_available(shift, at(5, 12)), "Saturday is off"


def test_a_night_shift_runs_into_the_next_day() -> None:
    night = parse_availability([{"days": [4], "start": "22:00", "end": "06:00"}])
    assert night is not None
    assert is_available(night, at(4, 23))
    assert is_available(night, at(5, 5, 59)), "Friday's night runs into Saturday"
    assert not is_available(night, at(5, 22)), "Saturday night is not listed"
    assert not is_available(night, at(4, 5)), "Friday morning belongs to Thursday's night"


def test_the_window_is_read_in_its_time_zone() -> None:
    shanghai = parse_availability(
        [{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "20:00", "tz": "Asia/Shanghai"}]
    )
    assert shanghai is not None
    assert is_available(shanghai, at(0, 0, 30)), "08:30 in Shanghai"
    assert not is_available(shanghai, at(0, 12, 30)), "20:30 in Shanghai"
    # Sunday 23:30 UTC is Monday 07:30 in Shanghai: not yet on duty.
    assert not is_available(shanghai, at(-1, 23, 30))


def test_the_whole_day() -> None:
    always = parse_availability([{"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "24:00"}])
    assert always is not None
    assert all(is_available(always, at(d, h)) for d in range(7) for h in range(24))


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_available(None, datetime(2026, 11, 23, 12))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([{"days": [7], "start": "08:00", "end": "20:00"}], "less than or equal to 6"),
        ([{"days": [], "start": "08:00", "end": "20:00"}], "at least 1"),
        ([{"days": [0], "start": "8:00", "end": "20:00"}], "HH:MM"),
        ([{"days": [0], "start": "24:00", "end": "20:00"}], "HH:MM"),
        ([{"days": [0], "start": "08:00", "end": "08:00"}], "00:00 to 24:00"),
        ([{"days": [0], "start": "08:00", "end": "20:00", "tz": "Mars/Base"}], "time zone"),
        ([{"days": [0], "start": "08:00", "end": "20:00", "from": 1}], "Extra inputs"),
        ({"days": [0]}, "tuple"),
    ],
)
def test_bad_shapes_name_the_fault(doc: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_availability(doc)


def test_windows_round_trip_as_json() -> None:
    window = OnDutyWindow(days=(5, 6), start="09:00", end="17:30", tz="Europe/Paris")
    doc = [window.model_dump(mode="json")]
    assert doc == [{"days": [5, 6], "start": "09:00", "end": "17:30", "tz": "Europe/Paris"}]
    assert parse_availability(doc) == (window,)
