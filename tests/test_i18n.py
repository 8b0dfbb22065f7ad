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


def _msgids(path: Path) -> set[str]:
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue if m.id}


def test_the_french_catalogue_holds_every_message_of_the_code_and_no_stale_one(tmp_path):
    """makemessages run on a copy of the package finds exactly the committed msgids, so
    a new string without a French translation fails here (needs GNU gettext)."""
    import os
    import shutil

    from django.core.management import call_command

    if shutil.which("xgettext") is None:  # pragma: no cover - CI installs gettext
        if os.environ.get("CI"):
            raise AssertionError("GNU gettext (xgettext) is needed: apt-get install gettext")
        import pytest

        pytest.skip("GNU gettext (xgettext) is not installed")
    package = LOCALE.parent
    copy = tmp_path / "powens_django"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("sandbox", "__pycache__", "*.mo"))
    here = Path.cwd()
    os.chdir(copy)
    try:
        call_command("makemessages", locale=["fr"], no_location=True, verbosity=0)
    finally:
        os.chdir(here)
    extracted = _msgids(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    committed = _msgids(LOCALE / "fr" / "LC_MESSAGES" / "django.po")

    assert sorted(extracted - committed) == [], "run make messages-update and translate"
    assert sorted(committed - extracted) == [], "stale messages in the French catalogue"


def test_the_apps_french_wins_over_the_admins_in_a_site_listing_admin_first():
    """A site lists django.contrib.admin (and auth...) before powens_django, and Django
    gives the first app's translation of a shared msgid: "Change" would read
    "Modification". Short words that collide carry a context (pgettext) instead."""
    from django.conf import settings

    assert settings.INSTALLED_APPS.index("django.contrib.admin") < settings.INSTALLED_APPS.index(
        "powens_django"
    )
    with (LOCALE / "fr" / "LC_MESSAGES" / "django.po").open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    lost = []
    with translation.override("fr"):
        for message in catalogue:
            if not message.id or isinstance(message.id, tuple | list) or message.context:
                continue
            if translation.gettext(message.id) != message.string:
                lost.append((message.id, translation.gettext(message.id), message.string))

    assert lost == []
