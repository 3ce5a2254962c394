"""Upload of the 1.8 MB real PDF through the API: response time, and time until its text is found.

Target (issue 3): the upload returns in under 1 s; text extraction runs afterwards in
the background. Run: .venv/bin/python bench/upload.py [sqlite|postgresql]
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

from _setup import machine, make_app, make_worker, summary

from portal.models import DocumentVersion, User
from portal.services import cases, tokens

PDF = Path(__file__).resolve().parents[1] / "tests/data/realdocs/GeoTopo-komprimiert.pdf"
ROUNDS = 10


def main(backend: str) -> None:
    app, cleanup = make_app(backend)
    app.config.update(OUTBOX_INLINE=False)  # as in production: extraction in the background
    try:
        user_id = make_worker(app)
        with app.extensions["portal.db"].session() as session:
            user = session.get(User, user_id)
            case = cases.create_case(
                session, user, person={"given_name": "Bench", "family_name": "Upload"},
                confirm_new_person=True,
            )  # fmt: skip
            _token, plain = tokens.create(session, user, name="bench", actor=user)
            case_id = case.id
        client = app.test_client()
        headers = {"Authorization": f"Bearer {plain}"}
        data = PDF.read_bytes()
        upload_ms, searchable_ms = [], []
        for i in range(ROUNDS):
            # A different byte at the end each round, so the blob is new every time.
            body = data + f"\n% round {i}\n".encode()
            start = time.perf_counter()
            response = client.post(
                f"/api/v1/cases/{case_id}/documents", headers=headers,
                data={"file": (io.BytesIO(body), PDF.name)},
                content_type="multipart/form-data",
            )  # fmt: skip
            upload_ms.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 201, response.get_json()
            document_id = response.get_json()["id"]
            while True:
                with app.extensions["portal.db"].session() as session:
                    version = (
                        session.query(DocumentVersion).filter_by(document_id=document_id).one()
                    )
                    if version.extraction != "pending":
                        break
                time.sleep(0.02)
            searchable_ms.append((time.perf_counter() - start) * 1000)
        print(f"machine: {machine()}")
        print(f"upload of {PDF.name} ({len(data) / 2**20:.1f} MB, {backend}), {ROUNDS} rounds:")
        print(f"  response: {summary(upload_ms)}")
        print(f"  text extracted (background): {summary(searchable_ms)}")
    finally:
        cleanup()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sqlite")
