"""Bodies of documents, versions, diffs and printouts.

The fields of assessments and agreements are the models of ``document_fields``: the web
forms save through them too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, WithJsonSchema
from pydantic_core import PydanticCustomError
from pydantic_core import core_schema as cs
from werkzeug.datastructures import FileStorage, MultiDict

from portal.blueprints.api.schemas import (
    SHA256,
    Answer,
    Moment,
    OrganisationRef,
    Query,
    UserRef,
)
from portal.models import DATA_CATEGORIES, DOCUMENT_TYPES, VISIBILITIES
from portal.models.document import EXTRACTION_STATES
from portal.services.document_fields import AgreementFields, AssessmentFields
from portal.services.documents import MAX_NOTE_CHARS, MAX_TITLE
from portal.services.filetypes import SUPPORTED
from portal.services.validation import MAX_INTEGER, Shape, choice, text

# A version number as a query string or a form sends it: 1 to 9 ASCII digits ("²" is a
# digit to str.isdigit, ten digits may overflow the database's integers).
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
# The fields a multipart form sends version numbers in.
FORM_NUMBERS = ("base_version", "version")


# ---------------------------------------------------------------- input


def _given(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("required", "null is no version number")
    return value


def _a_file(value: Any) -> Any:
    if not isinstance(value, FileStorage):
        raise PydanticCustomError("must_be_file", "not a file")
    return value


VersionNumber = Annotated[int, Field(ge=1, le=MAX_INTEGER), BeforeValidator(_given)]
UploadedFile = Annotated[
    Any, BeforeValidator(_a_file), WithJsonSchema({"type": "string", "format": "binary"})
]
Title = text(MAX_TITLE, required=True)
NoteText = text(MAX_NOTE_CHARS, required=True)
Visibility = choice(VISIBILITIES)


def form_data(form: MultiDict[str, str], files: Mapping[str, FileStorage]) -> dict:
    """A multipart body as the models read it: its fields and files by name, and the version
    numbers (text in a form) as numbers; an empty one counts as absent, other text stays
    (and is refused as no number). ``data_categories`` may come as repeated fields or
    separated by commas ("" is none)."""
    data: dict[str, Any] = {**dict(form.items()), **dict(files.items())}
    if "data_categories" in form:
        values = form.getlist("data_categories")
        data["data_categories"] = [n.strip() for v in values for n in v.split(",") if n.strip()]
    for name in FORM_NUMBERS:
        value = data.get(name)
        if value == "":
            data[name] = None
        elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
            data[name] = int(value)
    return data


Categories = list[Literal[DATA_CATEGORIES]]
NEW_CATEGORIES = (
    "The data categories the document touches: a partner organisation reads it only under a "
    "consent releasing each of them; `[]`: general case information. Absent or null: those "
    "proposed from the title and the case's focus areas (the answer says which). In "
    "multipart: repeated fields or separated by commas."
)
CHANGED_CATEGORIES = (
    "Data categories this version adds to the document's (see creating a document): a "
    "category is never taken away, since earlier versions stay readable. Absent or null: "
    "none added. Only the document's editors may add them."
)


class _NewDocument(Shape):
    title: Title
    visibility: Visibility = "case"


class _Categorised(Shape):
    data_categories: Categories | None = Field(None, description=NEW_CATEGORIES)


class NoteCreate(_NewDocument, _Categorised):
    type: Literal["note"]
    text: NoteText


class AssessmentCreate(_NewDocument):
    """An assessment's data categories are those of its filled-in sections."""

    type: Literal["assessment"]
    fields: AssessmentFields


class AgreementCreate(_NewDocument, _Categorised):
    type: Literal["agreement"]
    fields: AgreementFields


class FileUpload(_Categorised):
    file: UploadedFile
    title: text(MAX_TITLE) | None = Field(None, description="The file's name when absent")
    visibility: Visibility = "case"


class _NewVersion(Shape):
    title: text(MAX_TITLE) | None = Field(None, description="Unchanged when absent")
    visibility: Visibility | None = Field(None, description="The document's; cannot change")
    base_version: VersionNumber = Field(
        description="The version the edit started from (a digit string in multipart)"
    )
    comment: text(500) | None = None


class _Recategorised(Shape):
    data_categories: Categories | None = Field(None, description=CHANGED_CATEGORIES)


class NoteVersion(_NewVersion, _Recategorised):
    type: Literal["note"] | None = None
    text: NoteText


class AssessmentVersion(_NewVersion):
    type: Literal["assessment"] | None = None
    fields: AssessmentFields


class AgreementVersion(_NewVersion, _Recategorised):
    type: Literal["agreement"] | None = None
    fields: AgreementFields


class FileVersionUpload(_NewVersion, _Recategorised):
    file: UploadedFile


class Restore(Shape):
    version: VersionNumber = Field(description="To restore")
    base_version: VersionNumber


# ---------------------------------------------------------------- query strings


def _whole_number(value: Any) -> Any:
    if isinstance(value, str):
        if not _WHOLE_NUMBER.fullmatch(value):
            raise PydanticCustomError("must_be_integer", "not a whole number")
        return int(value)
    return value


# Numbers below 1 pass: no version has them (404), as none has a number above the last.
QueryNumber = Annotated[
    int, BeforeValidator(_whole_number), WithJsonSchema({"type": "integer", "minimum": 1})
]


class DiffQuery(Query):
    from_: QueryNumber = Field(alias="from", description="Older version")
    to: QueryNumber = Field(description="Newer version")


class PdfQuery(Query):
    version: QueryNumber | None = Field(
        None, description="The version number; the current version when omitted"
    )


# ---------------------------------------------------------------- output


@dataclass(frozen=True)
class SavedAs:
    """A value sent as it was saved (no second validation of stored data), described by
    ``model``, which checked it before it was saved."""

    model: Any

    def __get_pydantic_json_schema__(self, _core_schema, handler):
        # As a step of a chain, a model becomes a reference to its component (not a copy).
        return handler(cs.chain_schema([TypeAdapter(self.model).core_schema]))


class DocumentSummary(Answer):
    id: int
    case_id: int
    type: Literal[DOCUMENT_TYPES]
    title: str
    visibility: Literal[VISIBILITIES]
    current_version: int
    data_categories: Categories = Field(
        description="What it touches (of an assessment you read in part: of the sections "
        "released to you)"
    )
    author_organisation: OrganisationRef
    created_at: Moment
    updated_at: Moment


class VersionSummary(Answer):
    number: int
    title: str
    created_at: Moment
    author: UserRef | None
    organisation: OrganisationRef
    comment: str
    restored_from: int | None
    signed_from: int | None = Field(
        description="Set on an agreement version carrying the signed scan of the printed version"
    )


class Document(DocumentSummary):
    versions: list[VersionSummary] = Field(description="Newest first")


class FileInfo(Answer):
    filename: str
    media_type: Literal[SUPPORTED]
    size: int
    sha256: SHA256
    extraction: Literal[EXTRACTION_STATES]
    extraction_note: str


class Version(VersionSummary):
    document_id: int
    text: str | None = Field(description="Notes")
    fields: Annotated[dict | None, SavedAs(AssessmentFields | AgreementFields | None)] = Field(
        description="Assessments and agreements"
    )
    file: FileInfo | None
    extracted_text: str = Field(
        description="The plain text search sees (from the file for uploads)"
    )


class FileRef(Answer):
    filename: str | None
    sha256: SHA256 | None


class DiffTitle(Answer):
    from_: str = Field(alias="from")
    to: str


class DiffLine(Answer):
    op: Literal["equal", "insert", "delete", "replace"]
    old: str | None
    new: str | None


class DiffChange(Answer):
    field: str
    from_: Any = Field(alias="from")
    to: Any


class DiffFile(Answer):
    from_: FileRef = Field(alias="from")
    to: FileRef


class Diff(Answer):
    document_id: int
    from_: int = Field(alias="from")
    to: int
    kind: Literal["text", "fields"]
    unchanged: bool
    title: DiffTitle | None
    lines: list[DiffLine] = Field(description="Side-by-side line diff (kind text)")
    changes: list[DiffChange] = Field(description="Changed fields by path, e.g. `goals[1].status`")
    file: DiffFile | None
