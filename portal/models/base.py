"""Declarative base, constraint naming convention and the UTC timestamp type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, MetaData, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


LOCAL_TIMEZONE = ZoneInfo("Europe/Berlin")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; a naive ``moment`` is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_today() -> date:
    """Today's date in Germany: consents and due dates are calendar days there."""
    return datetime.now(LOCAL_TIMEZONE).date()


def local_date(moment: datetime) -> date:
    """The calendar day in Germany at ``moment`` (naive: UTC)."""
    return as_utc(moment).astimezone(LOCAL_TIMEZONE).date()


class UTCDateTime(TypeDecorator):
    """Stores UTC timestamps the same way on SQLite and PostgreSQL; returns aware datetimes."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use portal.models.base.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return as_utc(value)


class Base(DeclarativeBase):
    """Base class of all portal models."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
