"""Service errors at the form fields that caused them: one mapping for every form.

A service refuses with ``fields`` (``{"person.birth_date": "invalid_date"}``); an error
without fields (a file too large) counts as one field named by its ``code``. A form may
declare where and how they are shown:

- ``service_fields``: service field (or code) -> form field, where the names differ;
- ``service_messages``: error code -> message; other codes show the error's own message;
- ``service_field(path)``: a method that finds the field itself (rows of a table).

By default a service field ``a.b`` is field ``b`` of the sub-form ``a``, and ``organisation``
may be shown by ``organisation_id``. Whatever no field can show is flashed above the form.
"""

from __future__ import annotations

from flask import flash
from wtforms import Field

from portal.services.errors import PortalError


def attach_service_errors(form, error: PortalError) -> None:
    """Show ``error``'s messages next to ``form``'s fields (or flashed, if none fits)."""
    messages = getattr(form, "service_messages", {})
    unplaced = False
    for path, code in (error.fields or {error.code: error.code}).items():
        field = _field_for(form, path)
        message = str(messages.get(code) or error.message)
        if field is None:
            unplaced = True
        elif message not in field.errors:
            field.errors = [*field.errors, message]
    if unplaced:
        flash(str(error.message), "error")


def _field_for(form, path: str):
    locate = getattr(form, "service_field", None)
    if locate is not None:
        return locate(path)
    path = getattr(form, "service_fields", {}).get(path, path)
    current, field = form, None
    for name in path.split("."):
        field = _field_named(current, name) or _field_named(current, f"{name}_id")
        if field is None:
            return None
        current = getattr(field, "form", None)  # a FormField's sub-form
    return field


def _field_named(form, name: str) -> Field | None:
    field = getattr(form, name, None) if form is not None else None
    return field if isinstance(field, Field) else None  # not ``form.data`` and the like
