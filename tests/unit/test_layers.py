"""The import contract of the layers (docs/architecture.md), checked on the source.

- Services and models know nothing of the web: no blueprint, form, request helper,
  pipeline, presentation or labels module, no request, template rendering or login state.
- A blueprint imports no other blueprint (the API is one blueprint in a package: its
  modules share the package's helpers, ``serialise`` and the OpenAPI declarations).
- The request helpers, the pipeline and the presentation module import no blueprint,
  and templates get no way to query: the presentation module does not import the database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PORTAL = Path(__file__).resolve().parents[2] / "portal"
WEB_ONLY = ("portal.blueprints", "portal.forms", "portal.web", "portal.http", "portal.pipeline",
            "portal.presentation", "portal.labels")  # fmt: skip
WEB_STATE = ("flask.request", "flask.render_template", "flask.g", "flask.session",
             "flask_login.current_user")  # fmt: skip
API_SHARED = (
    "portal.blueprints.api",
    "portal.blueprints.api.serialise",
    "portal.blueprints.api.operations",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PORTAL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module (and ``module.name`` for ``from module import name``) ``path`` imports,
    at the top or inside functions; relative imports resolved."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: list[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], base]).strip(".")
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(path): imports(path) for path in sorted(PORTAL.rglob("*.py"))}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def test_the_contract_sees_the_modules_it_is_about():
    assert {"portal.services.documents", "portal.blueprints.cases", "portal.pipeline",
            "portal.blueprints.api.documents", "portal.presentation"} <= set(MODULES)  # fmt: skip
    assert "portal.blueprints.api.serialise" in MODULES["portal.blueprints.api.documents"]


@pytest.mark.parametrize("layer", ["portal.services", "portal.models"])
def test_services_and_models_know_nothing_of_the_web(layer):
    broken = {
        module: sorted(name for name in names if within(name, WEB_ONLY + WEB_STATE))
        for module, names in MODULES.items()
        if within(module, (layer,))
    }
    assert not {module: names for module, names in broken.items() if names}


def blueprint_of(module: str) -> str | None:
    """``portal.blueprints.cases`` -> ``cases``; every module of the API -> ``api``."""
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["portal", "blueprints"] else None


def test_no_blueprint_imports_another():
    broken = [
        f"{module} imports {name}"
        for module, names in MODULES.items()
        for name in names
        if blueprint_of(module) and blueprint_of(name) and crosses(module, name)
    ]
    assert not broken


def crosses(module: str, name: str) -> bool:
    """Whether ``module`` reaches into another blueprint by importing ``name``."""
    if blueprint_of(module) != blueprint_of(name):
        return True
    if module != "portal.blueprints.api" and blueprint_of(module) == "api":
        # An API module takes only what the package shares; the package imports its routes.
        target = name if name in MODULES else name.rpartition(".")[0]
        return not (target in API_SHARED or target.startswith("portal.blueprints.api.schemas"))
    return False


@pytest.mark.parametrize("module", ["portal.http", "portal.pipeline", "portal.presentation"])
def test_request_helpers_pipeline_and_presentation_import_no_blueprint(module):
    assert not [name for name in MODULES[module] if within(name, ("portal.blueprints",))]


def test_templates_get_nothing_that_queries():
    assert not [name for name in MODULES["portal.presentation"] if within(name, ("portal.db",))]


def test_the_contract_reads_imports_inside_functions_and_relative_ones():
    source = "def f():\n    from flask import request\n    from ..blueprints import cases\n"
    found = imports_in(source, ["portal", "services"])
    assert within("flask.request", WEB_STATE) and "flask.request" in found
    assert "portal.blueprints.cases" in found and blueprint_of("portal.blueprints.cases")
