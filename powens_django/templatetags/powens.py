"""Template helpers for the bank pages: a connector's initials and brand colours, and
amounts of money."""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.template.defaultfilters import floatformat

from ..countries import country_name

register = template.Library()

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
DEFAULT_COLOR = "#55555f"


@register.filter
def bank_initials(name: str) -> str:
    """Up to two initials: "Crédit Agricole" -> "CA", "ING" -> "IN"."""
    # Separators include the typographic apostrophe (U+2019), as in "Caisse d\u2019Épargne".
    words = [w for w in re.split("[\\s\\-_'\u2019.]+", name or "") if w and w[0].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


@register.filter
def bank_color(value: str | None) -> str:
    """A CSS hex colour from Powens' ``color`` (``"0b57d0"``), or a neutral default.

    Only hex digits pass, so a connector's colour can never inject CSS.
    """
    match = _HEX.match((value or "").strip())
    if not match:
        return DEFAULT_COLOR
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits.lower()}"


@register.filter
def bank_text_color(value: str | None) -> str:
    """Black or white, whichever reads better on :func:`bank_color` (WCAG luminance)."""
    digits = bank_color(value)[1:]
    channels = []
    for i in (0, 2, 4):
        c = int(digits[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


@register.filter
def powens_amount(value: Any, places: Any = None) -> str:
    """An amount in the active locale with its currency's number of decimals
    (``places``, Powens' ``precision``; 2 when unknown), thousands grouped:
    ``Decimal("1234.5")|powens_amount:2`` -> ``"1,234.50"``; "—" when unknown."""
    if value is None or value == "":
        return "—"
    try:
        digits = int(places) if places is not None and places != "" else 2
    except (TypeError, ValueError):
        digits = 2
    return str(floatformat(value, f"{max(0, min(digits, 8))}g"))


@register.filter
def powens_country(code: str) -> str:
    """An ISO country code's name in the active language ("ES" -> "Spain")."""
    return country_name(code)
