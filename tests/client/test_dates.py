"""Powens' dates: naive values are Paris wall-clock time, offsets and ISO forms are
understood, and a value that cannot be read is dropped with a warning, never raised."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from powens_django.client import (
    POWENS_TZ,
    format_date,
    format_datetime,
    parse_date,
    parse_datetime,
)

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_powens_zone_is_paris():
    assert POWENS_TZ == PARIS


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2025-01-15 10:30:00", utc(2025, 1, 15, 9, 30)),
        ("2025-07-15 10:30:00", utc(2025, 7, 15, 8, 30)),
    ],
    ids=["winter-plus-one", "summer-plus-two"],
)
def test_a_naive_powens_datetime_is_paris_wall_clock(text, instant):
    parsed = parse_datetime(text)

    assert parsed == instant
    assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    [
        "2025-07-15 10:30:00+0200",
        "2025-07-15 10:30:00+02:00",
        "2025-07-15 10:30:00 +0200",
        "2025-07-15T10:30:00+02:00",
        "2025-07-15T08:30:00Z",
        "2025-07-15T08:30:00z",
        "2025-07-15 08:30:00 UTC",
        "2025-07-15T03:30:00-05:00",
    ],
)
def test_an_explicit_offset_is_obeyed(text):
    assert parse_datetime(text) == utc(2025, 7, 15, 8, 30)


@pytest.mark.parametrize(
    ("text", "microsecond"),
    [
        ("2025-07-15T08:30:00.5Z", 500000),
        ("2025-07-15T08:30:00.123456Z", 123456),
        ("2025-07-15T08:30:00.123456789Z", 123456),
        ("2025-07-15 10:30:00,25", 250000),
    ],
)
def test_fractional_seconds_are_kept_to_the_microsecond(text, microsecond):
    assert parse_datetime(text).microsecond == microsecond


def test_a_datetime_without_seconds_is_read():
    assert parse_datetime("2025-01-15 10:30") == utc(2025, 1, 15, 9, 30)


def test_a_date_alone_is_midnight_in_paris():
    assert parse_datetime("2025-07-15") == utc(2025, 7, 14, 22, 0)


def test_surrounding_spaces_are_ignored():
    assert parse_datetime("  2025-01-15 10:30:00 ") == utc(2025, 1, 15, 9, 30)


def test_a_naive_datetime_object_is_paris_time():
    assert parse_datetime(dt.datetime(2025, 1, 15, 10, 30)) == utc(2025, 1, 15, 9, 30)


def test_an_aware_datetime_object_is_kept():
    value = utc(2025, 1, 15, 9, 30)

    assert parse_datetime(value) == value


def test_a_date_object_is_midnight_in_paris():
    assert parse_datetime(dt.date(2025, 1, 15)) == utc(2025, 1, 14, 23, 0)


@pytest.mark.parametrize("value", [None, ""])
def test_no_value_gives_none_without_a_warning(value, caplog):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")

    assert parse_datetime(value) is None
    assert caplog.records == []


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2024-02-30",
        "2024-02-30 10:00:00",
        "2025-13-01",
        "2025-01-15 25:00:00",
        "2025-01-15 10:61:00",
        "15/01/2025",
        "2025-01-15 10:30:00+2",
        "2025-01-15 10:30:00 Europe/Paris",
        1736933400,
        ["2025-01-15"],
    ],
)
def test_an_unreadable_value_gives_none_and_a_warning(value, caplog):
    caplog.set_level(logging.DEBUG, logger="powens_django.client")

    assert parse_datetime(value) is None
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.name == "powens_django.client"
    assert repr(value) in record.getMessage()


def test_parse_date_gives_the_paris_date():
    # 23:30 UTC on 31 January is 00:30 on 1 February in Paris.
    assert parse_date("2025-01-31T23:30:00Z") == dt.date(2025, 2, 1)
    assert parse_date("2025-01-31") == dt.date(2025, 1, 31)


def test_parse_date_of_nothing_or_garbage_is_none():
    assert parse_date(None) is None
    assert parse_date("2024-02-30") is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (utc(2025, 1, 15, 9, 30), "2025-01-15 10:30:00"),
        (utc(2025, 7, 15, 8, 30, 15), "2025-07-15 10:30:15"),
        (dt.datetime(2025, 7, 15, 10, 30, 15, 999999), "2025-07-15 10:30:15"),
        (dt.date(2025, 7, 15), "2025-07-15 00:00:00"),
    ],
    ids=["aware-winter", "aware-summer", "naive-is-paris", "date"],
)
def test_format_datetime_writes_paris_wall_clock(value, text):
    assert format_datetime(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.date(2025, 7, 15), "2025-07-15"),
        (utc(2025, 1, 31, 23, 30), "2025-02-01"),
        (dt.datetime(2025, 1, 31, 23, 30), "2025-01-31"),
    ],
    ids=["date", "aware-datetime-paris-date", "naive-datetime"],
)
def test_format_date_writes_the_paris_date(value, text):
    assert format_date(value) == text


@pytest.mark.parametrize(
    "instant", [utc(2025, 1, 15, 9, 30, 5), utc(2025, 7, 15, 8, 30, 5), utc(2025, 12, 31, 23, 0)]
)
def test_formatting_then_parsing_a_datetime_gives_it_back(instant):
    assert parse_datetime(format_datetime(instant)) == instant


def test_formatting_then_parsing_a_date_gives_it_back():
    assert parse_date(format_date(dt.date(2025, 3, 30))) == dt.date(2025, 3, 30)
