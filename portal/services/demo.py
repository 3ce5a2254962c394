"""Demo data for ``portal seed-demo``: a believable KIM network in the Kreis Gütersloh."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Organisation
from portal.services import accounts

DEMO_PASSWORD = "Emsufer-Lindenblatt-26"  # noqa: S105  (printed for the demo on purpose)

ORGANISATIONS = [
    ("Stadt Rietberg – Fachbereich Soziales", "kommune", "Rügenstraße 1, 33397 Rietberg"),
    (
        "Kommunales Integrationszentrum Kreis Gütersloh",
        "kreis",
        "Herzebrocker Straße 140, 33334 Gütersloh",
    ),
    (
        "Caritasverband für den Kreis Gütersloh e. V.",
        "wohlfahrtsverband",
        "Kökerstraße 7–11, 33330 Gütersloh",
    ),
    ("Diakonie Gütersloh e. V.", "wohlfahrtsverband", "Kirchstraße 14a, 33330 Gütersloh"),
    ("Jobcenter Kreis Gütersloh", "jobcenter", "Moltkestraße 12, 33330 Gütersloh"),
    ("Ehrenamtsinitiative „Willkommen in Rietberg“", "ehrenamt", "Bahnhofstraße 5, 33397 Rietberg"),
]

# (e-mail, full name, organisation index, role)
USERS = [
    ("admin@rietberg.example", "Petra Vogelsang", 0, "admin"),
    ("koordination@kreis-guetersloh.example", "Dr. Miriam Özdemir", 1, "coordinator"),
    ("s.hoffmann@rietberg.example", "Sabine Hoffmann", 0, "caseworker"),
    ("j.becker@rietberg.example", "Jonas Becker", 0, "readonly"),
    ("a.nowak@caritas-gt.example", "Agnieszka Nowak", 2, "caseworker"),
    ("t.schulte@diakonie-gt.example", "Thomas Schulte", 3, "caseworker"),
    ("l.meier@jobcenter-gt.example", "Lena Meier", 4, "caseworker"),
    ("k.yilmaz@willkommen-rietberg.example", "Kerem Yılmaz", 5, "caseworker"),
]


def seed(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo network unless it exists; return (e-mail, password, who) for each login."""
    existing = session.scalar(select(Organisation).where(Organisation.name == ORGANISATIONS[0][0]))
    if existing is None:
        orgs = [
            accounts.save_organisation(
                session, actor=None, name=name, kind=kind, address=address, ip="seed-demo"
            )
            for name, kind, address in ORGANISATIONS
        ]
        for email, name, org_index, role in USERS:
            accounts.create_user(
                session,
                actor=None,
                email=email,
                name=name,
                organisation=orgs[org_index],
                role=role,
                password=DEMO_PASSWORD,
                ip="seed-demo",
            )
    return [
        (email, DEMO_PASSWORD, f"{role}, {ORGANISATIONS[org_index][0]}")
        for email, _name, org_index, role in USERS
    ]
