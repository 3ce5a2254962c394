"""Bodies of integration agreements: signed scans, goals with their status history."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from portal.blueprints.api.schemas import Answer, Moment, OrganisationRef, UserRef
from portal.blueprints.api.schemas.documents import SavedAs, UploadedFile, VersionNumber
from portal.services.document_fields import GOAL_STATUSES, Goal
from portal.services.validation import Shape


class SignedScanUpload(Shape):
    file: UploadedFile
    version: VersionNumber = Field(description="The printed version")
    signed_on: str = Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})


class GoalStatusChange(Answer):
    status: Literal[GOAL_STATUSES]
    version: int
    at: Moment
    author: UserRef | None
    organisation: OrganisationRef


class GoalWithHistory(Answer):
    position: int = Field(ge=0)
    goal: Annotated[dict, SavedAs(Goal)]
    days_overdue: int = Field(
        ge=0, description="Days an open or in-progress goal is past its due date; 0 if not"
    )
    history: list[GoalStatusChange]
