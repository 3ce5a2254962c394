"""OpenAPI: the PDF endpoint."""

PRINTING_PATHS: dict = {}
PRINTING_SCHEMAS: dict = {}
