"""Human-readable, translated names for the portal's fixed vocabularies."""

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "coordinator": _l("Coordinator"),
    "caseworker": _l("Caseworker"),
    "readonly": _l("Read only"),
}

ORGANISATION_KIND_LABELS = {
    "kommune": _l("Municipality"),
    "kreis": _l("District"),
    "wohlfahrtsverband": _l("Welfare association"),
    "jobcenter": _l("Employment agency / Jobcenter"),
    "ehrenamt": _l("Volunteer network"),
    "sonstige": _l("Other"),
}


def role_label(role: str) -> str:
    """The translated name of a role."""
    return str(ROLE_LABELS.get(role, role))


def kind_label(kind: str) -> str:
    """The translated name of an organisation kind."""
    return str(ORGANISATION_KIND_LABELS.get(kind, kind))
