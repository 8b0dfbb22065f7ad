"""Template helpers for the bank pages: a connector's initials and brand colours,
amounts of money, country names and a connection's controls (see :mod:`..cards`)."""

from __future__ import annotations

from typing import Any

from django import template

from ..cards import (
    DEFAULT_COLOR,
    bank_color,
    bank_initials,
    bank_text_color,
    controls_for,
    powens_amount,
)
from ..countries import country_name

register = template.Library()

register.filter("bank_initials", bank_initials)
register.filter("bank_color", bank_color)
register.filter("bank_text_color", bank_text_color)
register.filter("powens_amount", powens_amount)


@register.filter
def powens_country(code: str) -> str:
    """An ISO country code's name in the active language ("ES" -> "Spain")."""
    return country_name(code)


# -- the controls and facts of a connection card ---------------------------------------


@register.simple_tag
def powens_controls(connection: Any) -> list[dict[str, Any]]:
    """The controls for ``connection.actions`` (the state table's actions for its state
    and connector): ``{% powens_controls connection as controls %}``. Each is a dict:
    ``action``, ``label``, ``url``, ``post`` (a form, else a link), ``css`` and ``busy``
    (what the page says while the form works). The first is the main one, unless the
    connection works."""
    return controls_for(connection)


__all__ = ["DEFAULT_COLOR", "bank_color", "bank_initials", "bank_text_color", "powens_amount"]
