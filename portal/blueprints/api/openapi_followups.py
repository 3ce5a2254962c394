"""OpenAPI: follow-ups (Wiedervorlagen)."""

FOLLOWUP_PATHS: dict = {}
FOLLOWUP_SCHEMAS: dict = {}
