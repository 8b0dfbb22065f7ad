"""Every user-facing string ships in French, and the compiled catalogue is used."""

from pathlib import Path

from babel.messages.pofile import read_po
from django.utils import translation

from powens_django.states import describe_state

LOCALE = Path(__file__).resolve().parent.parent / "powens_django" / "locale"


def test_french_catalogue_translates_every_message():
    with (LOCALE / "fr" / "LC_MESSAGES" / "django.po").open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    untranslated = [
        m.id
        for m in catalogue
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    fuzzy = [m.id for m in catalogue if m.id and m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_state_descriptions_are_served_in_french():
    with translation.override("fr"):
        assert str(describe_state(None).label) == "À jour"
        assert str(describe_state("someFutureState").label) == "À vérifier"
