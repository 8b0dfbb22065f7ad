"""Hatchling build hook: compile the gettext catalogues (.po -> .mo).

Compiled catalogues are build products, so they are not committed; this hook writes
them next to their .po files before a wheel (standard or editable) is built, and
``pyproject.toml`` lists them as artifacts so the wheel carries them. ``make`` runs the
same function directly (``python hatch_build.py``) so a checkout always serves them.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from hatchling.builders.hooks.plugin.interface import BuildHookInterface
except ImportError:  # run as a script, outside a build
    BuildHookInterface = object  # type: ignore[assignment,misc]


def compile_catalogues(locale_dir: Path) -> list[Path]:
    """Compile every ``*.po`` under ``locale_dir`` whose ``.mo`` is missing or older."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


class CustomBuildHook(BuildHookInterface):  # type: ignore[misc,valid-type]
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel":
            compile_catalogues(Path(self.root) / "powens_django" / "locale")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent
    # The app's catalogues, and the example site's own (its pages beside the app's).
    for folder in (root / "powens_django" / "locale", root / "example_project" / "locale"):
        for path in compile_catalogues(folder):
            print(f"compiled {path.relative_to(root)}", file=sys.stderr)
