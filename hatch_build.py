"""Build hook: compile the translation catalogs (``*.po`` -> ``*.mo``) into the package.

The compiled catalogs are not in git; without this hook an installed portal would speak
English whatever ``PORTAL_LANGUAGE`` says. Runs for wheels and editable installs alike.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def compile_catalogs(translations: Path) -> list[Path]:
    """Compile every ``messages.po`` under ``translations`` next to itself; return the ``.mo``."""
    compiled = []
    for po_path in sorted(translations.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=True)
        compiled.append(mo_path)
    return compiled


class CatalogBuildHook(BuildHookInterface):
    """Hatchling's custom hook (``[tool.hatch.build.targets.wheel.hooks.custom]``)."""

    def initialize(self, version: str, build_data: dict) -> None:
        compiled = compile_catalogs(Path(self.root) / "portal" / "translations")
        if not compiled:
            raise RuntimeError("no translation catalogs found under portal/translations")


if __name__ == "__main__":  # `make translations`: after editing a catalog in a checkout
    compile_catalogs(Path(__file__).parent / "portal" / "translations")
