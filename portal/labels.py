"""Human-readable, translated names for the portal's fixed vocabularies."""

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from portal.services import filetypes
from portal.services.document_fields import LANGUAGE_LEVELS

ROLE_LABELS = {
    "network_admin": _l("Network administrator"),
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

# Keys and order follow portal.models (PHASES, FOCUS_AREAS, GENDERS, DOCUMENT_TYPES).
PHASE_LABELS = {
    "erstberatung": _l("Initial consultation"),
    "bestandsaufnahme": _l("Assessment"),
    "integrationsvereinbarung": _l("Integration agreement"),
    "monitoring": _l("Monitoring"),
    "abgeschlossen": _l("Closed"),
}

FOCUS_AREA_LABELS = {
    "sprache": _l("Language"),
    "arbeit": _l("Work"),
    "bildung": _l("Education"),
    "wohnen": _l("Housing"),
    "gesundheit": _l("Health"),
    "aufenthalt": _l("Residence status"),
    "familie": _l("Family"),
    "gleichstellung": _l("Equality"),
    "ehrenamt": _l("Volunteering"),
    "finanzen": _l("Finances"),
    "sonstiges": _l("Other topics"),
}

GENDER_LABELS = {
    "female": _l("female"),
    "male": _l("male"),
    "diverse": _l("diverse"),
    "unspecified": _l("not specified"),
}

DOCUMENT_TYPE_LABELS = {
    "note": _l("Consultation note"),
    "assessment": _l("Assessment"),
    "agreement": _l("Integration agreement"),
    "file": _l("File"),
}

# Headings of the document groups in a case folder.
DOCUMENT_GROUP_LABELS = {
    "note": _l("Consultation notes"),
    "assessment": _l("Assessments"),
    "agreement": _l("Integration agreements"),
    "file": _l("Files"),
}


# Document contents: visibility, goals, language levels, field names of forms.
VISIBILITY_LABELS = {
    "case": _l("Everyone with access to the case"),
    "internal": _l("Only my organisation"),
}
GOAL_STATUS_LABELS = {
    "open": _l("open"),
    "in_progress": _l("in progress"),
    "done": _l("done"),
    "dropped": _l("dropped"),
}
LEVEL_LABELS = {level: level for level in LANGUAGE_LEVELS} | {
    "Muttersprache": _l("Native language")
}
ASSESSMENT_LABELS = {
    "languages": _l("Language skills"),
    "education": _l("School and vocational training"),
    "work_experience": _l("Work experience"),
    "residence_status": _l("Status of residence"),
    "housing": _l("Housing situation"),
    "health": _l("Health"),
    "family": _l("Family situation"),
    "goals_text": _l("Goals and wishes"),
}
AGREEMENT_LABELS = {
    "goals": _l("Goals"),
    "signatories": _l("Signatories"),
    "signed_on": _l("Signed on"),
    "area": _l("Area"),
    "goal": _l("Goal"),
    "measures": _l("Measures"),
    "responsible_organisation_id": _l("Responsible"),
    "due_date": _l("Due date"),
    "status": _l("Status"),
    "language": _l("Language"),
    "level": _l("Level"),
}


def role_label(role: str) -> str:
    """The translated name of a role."""
    return str(ROLE_LABELS.get(role, role))


def kind_label(kind: str) -> str:
    """The translated name of an organisation kind."""
    return str(ORGANISATION_KIND_LABELS.get(kind, kind))


def phase_label(phase: str) -> str:
    """The translated name of a case phase."""
    return str(PHASE_LABELS.get(phase, phase))


def focus_label(area: str) -> str:
    """The translated name of a focus area."""
    return str(FOCUS_AREA_LABELS.get(area, area))


def gender_label(gender: str) -> str:
    """The translated name of a gender."""
    return str(GENDER_LABELS.get(gender, gender))


def document_type_label(doc_type: str) -> str:
    """The translated name of one document of a type."""
    return str(DOCUMENT_TYPE_LABELS.get(doc_type, doc_type))


def document_group_label(doc_type: str) -> str:
    """The translated heading for the documents of a type."""
    return str(DOCUMENT_GROUP_LABELS.get(doc_type, doc_type))


def birth_date_label(iso: str | None) -> str:
    """A partial ISO birth date (``1990``, ``1990-05``, ``1990-05-17``) as people write it."""
    if not iso:
        return ""
    if str(get_locale()) != "de":
        return iso
    return ".".join(reversed(iso.split("-")))


LABEL_HELPERS = {
    "phase_label": phase_label,
    "focus_label": focus_label,
    "gender_label": gender_label,
    "document_type_label": document_type_label,
    "document_group_label": document_group_label,
    "birth_date_label": birth_date_label,
}


def goal_status_label(status: str) -> str:
    """The translated name of a goal status."""
    return str(GOAL_STATUS_LABELS.get(status, status))


AUDIT_ACTION_LABELS = {
    "view": _l("viewed"),
    "download": _l("downloaded"),
    "print": _l("printed"),
    "export": _l("exported"),
    "search": _l("searched"),
    "create": _l("created"),
    "update": _l("changed"),
    "share": _l("consent recorded"),
    "revoke": _l("revoked"),
    "handover": _l("lead handed over"),
    "delete": _l("deleted"),
    "login": _l("logged in"),
    "logout": _l("logged out"),
    "login_failed": _l("login failed"),
    "login_throttled": _l("login blocked (too many attempts)"),
    "password_change": _l("password changed"),
    # What the portal's operators did, at the server:
    "schema_upgrade": _l("database upgraded"),
    "backup_created": _l("backup made"),
    "backup_restored": _l("restored from a backup"),
    "checkpoint": _l("audit checkpoint written"),
    "reseal": _l("audit trail re-sealed"),
    "prune_addresses": _l("old client addresses removed"),
}


# An access as the person reads it in their Art. 15 summary: who did what to what, when.
ACCESS_SENTENCES = {
    "view": _l("%(organisation)s read %(object)s on %(date)s."),
    "download": _l("%(organisation)s downloaded %(object)s on %(date)s."),
    "print": _l("%(organisation)s printed %(object)s on %(date)s."),
    "export": _l("%(organisation)s exported %(object)s on %(date)s."),
    "create": _l("%(organisation)s created %(object)s on %(date)s."),
    "update": _l("%(organisation)s changed %(object)s on %(date)s."),
    "share": _l("%(organisation)s recorded your consent on %(date)s."),
    "revoke": _l("%(organisation)s recorded the revocation of a consent on %(date)s."),
    "handover": _l("%(organisation)s handed the lead of the case over on %(date)s."),
    "delete": _l("%(organisation)s deleted %(object)s on %(date)s."),
}
OTHER_ACCESS = _l("%(organisation)s: %(action)s, %(object)s, on %(date)s.")
ACCESSED_DOCUMENTS = {
    "note": _l("the consultation note “%(title)s”"),
    "assessment": _l("the assessment “%(title)s”"),
    "agreement": _l("the integration agreement “%(title)s”"),
    "file": _l("the file “%(title)s”"),
}
ACCESSED_OBJECTS = {
    "case": _l("your case file"),
    "document": _l("a document"),  # one the summary does not hold (deleted, another's)
    "consent": _l("a consent"),
    "followup": _l("a follow-up"),
}


def access_sentence(access, long_date) -> str:
    """One line of an Art. 15 access log (``export.Access``) in words, with ``long_date``
    formatting its day ("3. März 2026")."""
    document = access.document
    if document is not None:
        thing = str(ACCESSED_DOCUMENTS[document.type]) % {"title": document.title}
    else:
        thing = str(ACCESSED_OBJECTS.get(access.object_type, access.object_type))
    values = {
        "organisation": access.organisation or _l("The portal"),
        "object": thing,
        "date": long_date(access.day),
        "action": audit_action_label(access.action),
    }
    sentence = str(ACCESS_SENTENCES.get(access.action, OTHER_ACCESS)) % values
    if access.times > 1:
        sentence += " " + str(_l("(%(n)d times)", n=access.times))
    return sentence


def audit_action_label(action: str) -> str:
    """The translated name of an audit action."""
    return str(AUDIT_ACTION_LABELS.get(action, action))


NEW_HEADINGS = {
    "note": _l("New consultation note"),
    "assessment": _l("New assessment"),
    "agreement": _l("New integration agreement"),
    "file": _l("Upload a file"),
}
MEDIA_TYPE_LABELS = {
    filetypes.PDF: _l("PDF document"),
    filetypes.DOCX: _l("Word document (DOCX)"),
    filetypes.ODT: _l("OpenDocument text (ODT)"),
    filetypes.TXT: _l("Plain text"),
    filetypes.JPEG: _l("Image (JPEG)"),
    filetypes.PNG: _l("Image (PNG)"),
    filetypes.TIFF: _l("Image (TIFF)"),
}
# The extraction step notes in English for the logs; people read these instead.
EXTRACTION_NOTES = {
    "encrypted PDF (password protected)": _l("the PDF is encrypted (protected by a password)"),
    "no text layer": _l("the file has no text layer"),
    "no text layer (scanned image?)": _l("the file has no text layer (a scanned image?)"),
    "text recognised by OCR": _l("text recognised from the scan (OCR)"),
    "no text recognised in the scan": _l("no text could be recognised in the scan"),
    "scan without text; text recognition (Tesseract) is not installed": _l(
        "scan without text; text recognition is not installed on this server"
    ),
    "reading took too long": _l("reading the file took too long"),
    "file too large or complex to read": _l("the file is too large or complex to read"),
}


def extraction_note(note: str) -> str:
    """Why a file's text could not be read, in the user's language."""
    if note in EXTRACTION_NOTES:
        return str(EXTRACTION_NOTES[note])
    if note.startswith("damaged file"):
        return str(_l("the file is damaged"))
    return note
