"""OpenAPI: integration agreements (signed scans)."""

AGREEMENT_PATHS: dict = {}
AGREEMENT_SCHEMAS: dict = {}
