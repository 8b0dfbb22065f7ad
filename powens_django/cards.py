"""What the bank pages show of a connection, computed in Python.

My banks repeats a card per connection, and a Django template pays a few microseconds
for every tag, variable and lookup it renders. So the cards are prepared here once per
page, as dicts (a template finds a dict's keys at its first lookup): the bank's name,
badge and page, the state in words, the balance, the ways in and the controls. The
template (``connection_list.html``, overridable) only prints them; each card also
carries its ``connection`` for anything else (see docs/scaling.md).

The small helpers here are also the ``powens`` template filters: a connector's initials
and brand colours, and amounts of money.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.template.defaultfilters import floatformat
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html_join
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from .states import Action

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
DEFAULT_COLOR = "#55555f"


def bank_initials(name: str) -> str:
    """Up to two initials: "Crédit Agricole" -> "CA", "ING" -> "IN"."""
    # Separators include the typographic apostrophe (U+2019), as in "Caisse d\u2019Épargne".
    words = [w for w in re.split("[\\s\\-_'\u2019.]+", name or "") if w and w[0].isalnum()]
    if not words:
        return "?"
    if len(words) == 1:
        return words[0][:2].upper()
    return (words[0][0] + words[1][0]).upper()


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


def bank_text_color(value: str | None) -> str:
    """Black or white, whichever reads better on :func:`bank_color` (WCAG luminance)."""
    digits = bank_color(value)[1:]
    channels = []
    for i in (0, 2, 4):
        c = int(digits[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


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


# -- URLs --------------------------------------------------------------------------

#: A connection id no real connection has, reversed once and replaced per card.
_SENTINEL = "987654321987654321"
_URL_PATTERNS: dict[tuple[str, str, str | None, str], str] = {}


def connection_url(name: str, powens_id: int) -> str:
    """``reverse(name, args=[powens_id])`` at the cost of a string replace: each URL
    name is reversed once per script prefix, URLconf and language."""
    # The language too: under i18n_patterns, URLs start with it.
    key = (get_script_prefix(), str(get_urlconf() or settings.ROOT_URLCONF), get_language(), name)
    pattern = _URL_PATTERNS.get(key)
    if pattern is None:
        pattern = _URL_PATTERNS[key] = reverse(name, args=[_SENTINEL])
    return pattern.replace(_SENTINEL, str(int(powens_id)))


# -- controls ----------------------------------------------------------------------

#: Each action's page, and whether it is a form (POST: it reaches the bank) or a link.
_PAGES: dict[str, tuple[str, bool]] = {
    Action.SYNC: ("powens:connection_sync", True),
    Action.REAUTHENTICATE: ("powens:connection_sync", True),
    Action.RECONNECT: ("powens:connection_reconnect", True),
    Action.REENTER_CREDENTIALS: ("powens:connection_fields", False),
    Action.ANSWER_FIELDS: ("powens:connection_fields", False),
    Action.RESUME: ("powens:connection_wait", False),
    Action.WAIT: ("powens:connection_wait", False),
    Action.DELETE: ("powens:connection_delete", False),
}


def _control_shapes(
    actions: Iterable[Action], ok: bool
) -> list[tuple[str, str, str, bool, str, str]]:
    """(action, url name, label, post, css, busy) for each action with a page."""
    shapes = []
    for index, action in enumerate(actions):
        page = _PAGES.get(action)
        if page is None:
            continue
        name, post = page
        if action == Action.DELETE:
            css = "powens-link-danger"
        elif index == 0 and not (ok and action in (Action.SYNC, Action.REAUTHENTICATE)):
            css = "powens-button"
        else:
            css = "powens-button powens-button--secondary"
        busy = ""
        if action == Action.RECONNECT:
            busy = _("Working on it…")
        elif post:
            busy = _("Contacting your bank, this can take a minute…")
        shapes.append((str(action), name, str(action.label), post, css, busy))
    return shapes


def controls_for(connection: Any, *, _shapes: dict[Any, Any] | None = None) -> list[dict[str, Any]]:
    """The controls for ``connection.actions`` (the state table's actions for its state
    and connector), most useful first: dicts with ``action``, ``label``, ``url``,
    ``post`` (a form that reaches the bank, else a link), ``css`` and ``busy`` (what
    the page says while the form works). The first is the main one (a button), unless
    the connection works: a sync is then secondary."""
    connector = connection.connector_or_none
    key = (connection.state, connector.auth_mechanism if connector is not None else None)
    shapes = _shapes.get(key) if _shapes is not None else None
    if shapes is None:
        shapes = _control_shapes(connection.actions, connection.state_info.ok)
        if _shapes is not None:
            _shapes[key] = shapes
    pid = connection.powens_id
    return [
        {
            "action": action,
            "url": connection_url(name, pid),
            "label": label,
            "post": post,
            "css": css,
            "busy": busy,
        }
        for action, name, label, post, css, busy in shapes
    ]


# -- facts -------------------------------------------------------------------------


def totals_html(totals: Iterable[Any]) -> str:
    """Balances (:class:`~powens_django.models.AccountTotal`) as ``<span
    class="powens-amount">`` items separated by commas; empty without any."""
    return format_html_join(
        ", ",
        '<span class="powens-amount">{} {}</span>',
        ((powens_amount(total.amount, total.precision), total.currency) for total in totals),
    )


def access_text(sources: Iterable[Any]) -> str:
    """A connection's ways in, in the person's words ("On your bank's website, With your
    login details (turned off)"); empty without a source."""
    words = []
    off = None
    for source in sources:
        if source.enabled:
            words.append(str(source.label))
        else:
            off = off or pgettext("source", "turned off")
            words.append(f"{source.label} ({off})")
    return ", ".join(words)


def bank_cards(connections: Sequence[Any]) -> list[dict[str, Any]]:
    """The cards of My banks, one per connection, in order: dicts with ``connection``,
    ``name``, ``url`` (its page), ``initials``, ``background`` and ``foreground`` (the
    badge), ``tone``, ``state`` and ``explanation`` (in words), ``ok``,
    ``last_update``, ``totals`` (HTML), ``access``, ``duplicate`` (linked more than
    once: told apart by ``created``) and ``controls`` (see :func:`controls_for`).

    A bank is linked more than once when two connections share its connector (or, out
    of the catalogue, its name). The connections' ``sources`` should be prefetched, and
    their totals put in place (:func:`~powens_django.models.account_totals_of`).
    """
    linked = Counter(c.connector_id or c.connector_name for c in connections)
    states: dict[Any, tuple[str, str, str, bool]] = {}
    badges: dict[tuple[str, str | None], tuple[str, str, str]] = {}
    shapes: dict[Any, Any] = {}
    cards = []
    for connection in connections:
        state = states.get(connection.state)
        if state is None:
            info = connection.state_info
            state = states[connection.state] = (
                info.tone,
                str(info.label),
                str(info.explanation),
                info.ok,
            )
        connector = connection.connector_or_none
        name = connection.connector_name
        color = connector.color if connector is not None else None
        badge = badges.get((name, color))
        if badge is None:
            badge = badges[(name, color)] = (
                bank_initials(name),
                bank_color(color),
                bank_text_color(color),
            )
        cards.append(
            {
                "connection": connection,
                "name": name,
                "url": connection_url("powens:connection", connection.powens_id),
                "initials": badge[0],
                "background": badge[1],
                "foreground": badge[2],
                "tone": state[0],
                "state": state[1],
                "explanation": state[2],
                "ok": state[3],
                "last_update": connection.last_update,
                "created": connection.created,
                "totals": totals_html(connection.account_totals),
                "access": access_text(connection.sources.all()),
                "duplicate": linked[connection.connector_id or name] > 1,
                "controls": controls_for(connection, _shapes=shapes),
            }
        )
    return cards
