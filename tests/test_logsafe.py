"""``printable``: outside text as one bounded log line that still says what it held."""

from __future__ import annotations

import logging

import pytest

from powens_django.logsafe import CUT, printable


def test_plain_text_is_unchanged():
    assert printable("wrongpass: Mot de passe incorrect (HTTP 400)") == (
        "wrongpass: Mot de passe incorrect (HTTP 400)"
    )


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("a\tb", "a\\tb"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f", "del\\x7f"),
        ("c1\x85next-line", "c1\\x85next-line"),
        ("line\u2028sep", "line\\u2028sep"),
        ("para\u2029sep", "para\\u2029sep"),
        ("bidi\u202eevil", "bidi\\u202eevil"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("lone\ud800surrogate", "lone\\ud800surrogate"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_control_format_and_separator_characters_are_escaped(raw, shown):
    assert printable(raw) == shown


def test_letters_of_any_script_are_kept():
    assert printable("Crédit Agricole — 信用 — Ω") == "Crédit Agricole — 信用 — Ω"


def test_a_forged_log_line_stays_on_one_line(caplog):
    forged = "access_denied\n2025-01-01 INFO Bank link succeeded for user pk=1"

    with caplog.at_level(logging.WARNING):
        logging.getLogger("powens_django.test").warning("failed: %s", printable(forged))

    [record] = caplog.records
    assert "\n" not in record.getMessage()
    assert record.getMessage() == (
        "failed: access_denied\\n2025-01-01 INFO Bank link succeeded for user pk=1"
    )


def test_long_text_is_cut_to_the_limit_and_marked():
    shown = printable("x" * 10_000, limit=200)

    assert len(shown) == 200
    assert shown == "x" * (200 - len(CUT)) + CUT


def test_text_exactly_at_the_limit_is_not_cut():
    assert printable("y" * 50, limit=50) == "y" * 50


def test_the_limit_counts_escaped_characters_and_never_splits_an_escape():
    shown = printable("\n" * 100, limit=21)

    assert len(shown) <= 21
    assert shown == "\\n" * 8 + CUT


def test_none_bytes_and_other_values():
    assert printable(None) == ""
    assert printable(b"ok\n\xff") == "ok\\n\\\\xff"
    assert printable(409) == "409"
    assert printable(ValueError("bad\nvalue")) == "bad\\nvalue"


def test_a_limit_too_small_for_the_mark_is_refused():
    with pytest.raises(ValueError, match="limit"):
        printable("abc", limit=len(CUT))
