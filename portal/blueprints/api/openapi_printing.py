"""OpenAPI: the PDF endpoint."""

from portal.blueprints.api.openapi_common import UNAUTHENTICATED, error, id_param

PRINTING_PATHS: dict = {
    "/documents/{document_id}/pdf": {
        "get": {
            "summary": "A note, assessment or agreement version as PDF",
            "description": "Print-ready A4 PDF (PDF/UA-1, tagged) with the lead organisation's "
            "letterhead, and on every page the version, print date, a short content hash "
            "and the page number. Uploaded files have no PDF here (404): use "
            "`/documents/{document_id}/versions/{number}/content`. Every print is audited "
            "(`print`).",
            "operationId": "getDocumentPdf",
            "parameters": [
                id_param("document_id", "The document"),
                {
                    "name": "version",
                    "in": "query",
                    "required": False,
                    "description": "The version number; the current version when omitted",
                    "schema": {"type": "integer", "minimum": 1},
                },
            ],
            "responses": {
                "200": {
                    "description": "The PDF, as a download",
                    "headers": {
                        "Content-Disposition": {"schema": {"type": "string"}},
                        "Cache-Control": {"schema": {"type": "string"}},
                    },
                    "content": {
                        "application/pdf": {"schema": {"type": "string", "format": "binary"}}
                    },
                },
                "400": error("`version` is not a whole number; `error.fields.version`"),
                "401": UNAUTHENTICATED,
                "404": error("Unknown, not visible, an upload, or no such version"),
                "503": error("The PDF could not be made in time; try again"),
            },
        }
    }
}
PRINTING_SCHEMAS: dict = {}
