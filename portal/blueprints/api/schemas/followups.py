"""Bodies and query strings of follow-ups (Wiedervorlagen)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from portal.blueprints.api.schemas import Answer, Moment, OrganisationRef, UserRef
from portal.models.followup import MAX_FOLLOWUP_NOTE
from portal.services.followups import SCOPES, STATUSES, parse_date
from portal.services.validation import MAX_INTEGER, Shape, choice, text


def _day(value: Any) -> Any:
    if value in (None, ""):
        raise PydanticCustomError("required", "a day is required")
    if parse_date(value) is None:
        raise PydanticCustomError("invalid_date", "not a date (YYYY-MM-DD)")
    return value


def _known_id(value: Any) -> Any:
    # Whatever cannot be the id of an active row is reported as such, as the service does.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_INTEGER:
        raise PydanticCustomError("unknown_or_inactive", "no such id")
    return value


def _optional_id(value: Any) -> Any:
    return None if value is None else _known_id(value)


def _flag(value: Any) -> Any:
    if not isinstance(value, bool):
        raise PydanticCustomError("invalid", "not true or false")
    return value


Day = Annotated[str, Field(json_schema_extra={"format": "date"}), BeforeValidator(_day)]
AssigneeId = Annotated[
    int | None, Field(json_schema_extra={"minimum": 1}), BeforeValidator(_optional_id)
]


class FollowUpCreate(Shape):
    due_on: Day = Field(
        description="YYYY-MM-DD; not more than a year ago, not more than 5 years ahead"
    )
    note: text(MAX_FOLLOWUP_NOTE, not_text="invalid") | None = None
    assignee_user_id: AssigneeId = None
    assignee_organisation_id: AssigneeId = None


class FollowUpUpdate(Shape):
    done: Annotated[bool, BeforeValidator(_flag)]


class FollowUpListQuery(BaseModel):
    """Filters of your follow-ups (an empty value is an invalid one)."""

    model_config = ConfigDict(extra="ignore")

    due_before: Day | None = Field(None, description="Only follow-ups due before this day")
    scope: choice(SCOPES) = Field(
        "mine",
        description="`mine` (yours and your organisation's unassigned ones) or "
        "`organisation` (all of your organisation's)",
    )
    status: choice(STATUSES) = Field("open", description="`open` (not done), `done` or `all`")


class CaseFollowUpQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: choice(STATUSES) = Field("open", description="`open` (not done), `done` or `all`")


class FollowUp(Answer):
    id: int
    case_id: int
    case_reference: str = Field(pattern=r"^KIM-\d{4}-\d{5}$")
    due_on: date
    note: str
    assignee_user: UserRef | None
    assignee_organisation: OrganisationRef
    created_at: Moment
    created_by: UserRef | None
    done_at: Moment | None
    overdue: bool = Field(description="Open and due before today (German calendar day)")
