"""Case folder with 300 documents and 1,000 versions: server time and SQL statements per render.

Target (issue 3): under 150 ms server time on a 2-core machine, with a bounded number
of queries. Run: .venv/bin/python bench/case_folder.py [sqlite|postgresql]
"""

from __future__ import annotations

import sys

from _setup import QueryCounter, login, machine, make_app, make_worker, summary, timed

from portal.http import save_context
from portal.models import User
from portal.services import cases, documents
from portal.services.documents import Content

DOCUMENTS = 300
VERSIONS = 1000


def build(app) -> int:
    """One case with DOCUMENTS notes and VERSIONS versions in all; return its id."""
    user_id = make_worker(app)
    with app.app_context(), app.extensions["portal.db"].session() as session:
        user = session.get(User, user_id)
        case = cases.create_case(
            session, user, person={"given_name": "Bench", "family_name": "Person"},
            confirm_new_person=True,
        )  # fmt: skip
        ctx = save_context()
        made = []
        for i in range(DOCUMENTS):
            made.append(
                documents.create_document(
                    session,
                    user,
                    case,
                    doc_type="note",
                    title=f"Vermerk {i}",
                    content=Content(text=f"Gespräch Nummer {i}.\nZweite Zeile."),
                    ctx=ctx,
                )
            )
        for n in range(VERSIONS - DOCUMENTS):
            document = made[n % DOCUMENTS]
            documents.add_version(
                session, user, document, base_version=document.current_version,
                content=Content(text=f"Fassung {n}"), ctx=ctx,
            )  # fmt: skip
        return case.id


def main(backend: str) -> None:
    app, cleanup = make_app(backend)
    try:
        case_id = build(app)
        client = app.test_client()
        login(client)
        url = f"/cases/{case_id}"
        assert client.get(url).status_code == 200
        timed(lambda: client.get(url), 5)  # warm-up
        samples = timed(lambda: client.get(url), 50)
        counter = QueryCounter(app.extensions["portal.db"].engine)
        client.get(url)
        print(f"machine: {machine()}")
        print(f"case folder ({backend}, {DOCUMENTS} documents, {VERSIONS} versions):")
        print(f"  {summary(samples)}; {counter.count} SQL statements per render")
    finally:
        cleanup()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite")
