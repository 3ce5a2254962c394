"""Bodies of consents, the case audit trail and search: who shares, who did what, who finds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from portal.blueprints.api.schemas import Answer, Moment, OrganisationRef, Query, UserRef
from portal.models import DATA_CATEGORIES, DOCUMENT_TYPES, FOCUS_AREAS, PHASES
from portal.services.consents import MAX_TEXT
from portal.services.errors import InvalidInput
from portal.services.search.query import MAX_QUERY_CHARS
from portal.services.validation import MAX_INTEGER, Shape, choice, field_errors

CONSENT_STATUSES = ("in_force", "not_yet_in_force", "expired", "revoked")
NULLABLE_DAY = {"type": ["string", "null"], "format": "date"}
NULLABLE_TEXT = {"type": ["string", "null"], "maxLength": MAX_TEXT}


# ---------------------------------------------------------------- consents: input


def _as_sent(schema: dict, *checks: Any) -> Any:
    """A value handed to the consents service as sent (after ``checks``): the service checks
    it, with the codes and the message the web form shows too. ``schema`` describes it."""
    return Annotated[Any, *checks, WithJsonSchema(schema)]


def _null_as(empty: Callable[[], Any]) -> BeforeValidator:
    return BeforeValidator(lambda value: empty() if value is None else value)


def _ids_in_range(value: Any) -> Any:
    # An id no row can have would overflow the database's integers when looked up.
    if isinstance(value, list) and any(
        isinstance(i, int) and not isinstance(i, bool) and not 0 < i <= MAX_INTEGER for i in value
    ):
        raise PydanticCustomError("unknown_or_inactive", "no organisation has such an id")
    return value


def _organisations_required(schema: dict) -> None:
    # Required, though the model lets an absent list through: the consents service
    # refuses it, with the message it gives for every consent it cannot record.
    schema["required"] = ["organisation_ids"]
    del schema["properties"]["organisation_ids"]["default"]


class ConsentCreate(Shape):
    """A consent to record; the values are checked as in the web form."""

    model_config = ConfigDict(json_schema_extra=_organisations_required)

    organisation_ids: _as_sent(
        {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}},
        BeforeValidator(_ids_in_range),
    ) = Field(None, description="Active organisations the case is released to")
    valid_from: _as_sent(NULLABLE_DAY) = Field(None, description="YYYY-MM-DD; today when absent")
    valid_until: _as_sent(NULLABLE_DAY) = Field(
        None, description="YYYY-MM-DD, not before valid_from"
    )
    purpose: _as_sent(NULLABLE_TEXT, _null_as(str)) = ""
    data_categories: _as_sent(
        {"type": ["array", "null"], "items": {"type": "string", "enum": list(DATA_CATEGORIES)}},
        _null_as(list),
    ) = Field(
        default_factory=list,
        description="What the organisations may read: a partner reads another organisation's "
        "document only when one consent in force releases every category of the document "
        "(an assessment: the sections of the released categories). Empty, null or absent: "
        "every category except `gesundheit`, which is released only by name (Art. 9 GDPR).",
    )
    note: _as_sent(NULLABLE_TEXT, _null_as(str)) = ""


# ---------------------------------------------------------------- consents and audit: output


class Consent(Answer):
    id: int
    case_id: int
    organisations: list[OrganisationRef]
    purpose: str
    data_categories: list[Literal[DATA_CATEGORIES]] = Field(description="As recorded")
    released_categories: list[Literal[DATA_CATEGORIES]] = Field(
        description="What it releases: `data_categories`, or every one but `gesundheit` when "
        "none were recorded"
    )
    valid_from: date = Field(description="YYYY-MM-DD")
    valid_until: date | None = Field(description="YYYY-MM-DD")
    note: str
    recorded_at: Moment
    recorded_by: UserRef | None
    revoked_at: Moment | None
    status: Literal[CONSENT_STATUSES] = Field(description="As of today (German calendar day)")


class AuditUser(Answer):
    id: int
    email: str = Field(json_schema_extra={"format": "email"})
    name: str


class AuditEvent(Answer):
    id: int
    at: Moment
    action: str = Field(
        description="`view`, `download`, `print`, `export`, `create`, `update`, `share` "
        "(consent recorded), `revoke`, `handover`, `delete` and others"
    )
    user: AuditUser | None
    organisation: OrganisationRef | None
    object_type: str = Field(description="e.g. `case`, `document`, `consent`, `audit_trail`")
    object_id: int | None
    case_id: int


# ---------------------------------------------------------------- search: query string

SEARCH_SYNTAX = (
    'Words are matched in every form ("Räume", "Raeume" and "Raum" find each other; '
    'accents and Arabic vowel marks are ignored). `"..."` finds a phrase, `-word` excludes, '
    "`+word` requires, `wor*` matches a prefix of at least 3 letters (at most 200 words), "
    "`OR`, `AND`, `NOT` and brackets combine; `titel:`, `text:`, `name:` and `az:` search "
    "only the title, the text, the person's names or the case reference. Person names also "
    "match with one typo per word."
)
SEARCH_SORTS = ("relevance", "date")
MAX_FILTER_ID = 10**9  # the bound services.search.parse_query sets on ids


def _number(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = None
        if number is None or not low <= number <= high:
            raise PydanticCustomError("invalid", "not a whole number in range")
        return number

    return check


def search_number(low: int, high: int) -> Any:
    """A whole number from ``low`` to ``high``, read as the search service reads it."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_number(low, high))]


def _day(value: Any) -> Any:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise PydanticCustomError("invalid_date", "not a day (YYYY-MM-DD)") from None
    return value


def _types(value: Any) -> Any:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not set(values) <= set(DOCUMENT_TYPES):
        raise PydanticCustomError("invalid", "not a document type")
    return values


SearchDay = Annotated[str, BeforeValidator(_day), Field(json_schema_extra={"format": "date"})]
DocumentTypes = Annotated[list[Literal[DOCUMENT_TYPES]], BeforeValidator(_types)]


class SearchParameters(Query):
    """What to search for, where, and which page: what ``services.search.parse_query``
    accepts, refused with its codes. The service reads the query string again (it serves
    the web page too): it takes every ``type``, and turns the days into moments."""

    q: str = Field(
        description=SEARCH_SYNTAX,
        # Checked by the search service, after trimming, with its messages.
        json_schema_extra={"minLength": 1, "maxLength": MAX_QUERY_CHARS},
    )
    type: DocumentTypes = Field(
        default_factory=list,
        description="Only these document types (repeat the parameter for several)",
    )
    phase: choice(PHASES) | None = Field(None, description="Cases in this phase")
    focus: choice(FOCUS_AREAS) | None = Field(None, description="Cases with this focus")
    organisation: search_number(1, MAX_FILTER_ID) | None = Field(
        None, description="Documents of this author organisation"
    )
    from_: SearchDay | None = Field(
        None, alias="from", description="Versions saved on or after this day"
    )
    to: SearchDay | None = Field(None, description="Versions saved on or before this day")
    case: search_number(1, MAX_FILTER_ID) | None = Field(None, description="Only in this case")
    all: str | None = Field(
        None, description="`1`, `true` or `on`: every version, not only the current one"
    )
    sort: choice(SEARCH_SORTS) = Field("relevance", description="Best matches or newest first")
    page: search_number(1, 1000) = Field(1, description="Page")
    # 50 as in every list of the API (the web page shows 20).
    per_page: search_number(1, 100) = Field(50, description="Hits a page")

    @model_validator(mode="wrap")
    @classmethod
    def _in_the_services_words(cls, values: Any, handler: ModelWrapValidatorHandler) -> Any:
        # Refused as the search service refuses (the web page's messages): without a search
        # term nothing else is looked at; wrong filters all at once.
        if isinstance(values, dict) and not str(values.get("q") or "").strip():
            raise InvalidInput(_l("Please enter a search term."), fields={"q": "required"})
        try:
            return handler(values)
        except ValidationError as exc:
            fields = field_errors(exc, model=cls)
            raise InvalidInput(_l("Please check the search filters."), fields=fields) from None


# ---------------------------------------------------------------- search: output

FACETS = {
    "type": "document type",
    "phase": "phase of the case",
    "focus": "focus area of the case (a document counts once for each)",
    "organisation": "id of the author organisation",
    "year": "year the version was saved",
}
Counts = dict[str, Annotated[int, Field(ge=1)]]


class SearchHit(Answer):
    document_id: int
    case_id: int
    case_reference: str = Field(pattern=r"^KIM-\d{4}-\d{5}$")
    title: str = Field(description="The title of the matching version")
    type: Literal[DOCUMENT_TYPES]
    version: int = Field(description="The matching version's number")
    highlights: list[str] = Field(
        description="Up to 3 plain-text passages with «…» around the matches. "
        "Not HTML: escape them before putting them into a page."
    )
    score: float


class SearchFacets(Answer):
    type: Counts
    phase: Counts
    focus: Counts
    organisation: Counts
    year: Counts


class SearchResult(Answer):
    total: int = Field(description="Matches in all pages, without hits the policy hides")
    hits: list[SearchHit]
    facets: SearchFacets = Field(
        description="Value → number of matches, for each of: "
        + "; ".join(f"`{name}` {what}" for name, what in FACETS.items())
    )
    page: int
    incomplete: bool = Field(description="The time limit ran out: there may be more matches")
