"""Nothing left: consents, the audit trail and search declare themselves (``schemas.sharing``).

Kept only while ``openapi_legacy.py`` still spreads these two names into its document.
"""

from __future__ import annotations

SHARING_PATHS: dict = {}
SHARING_SCHEMAS: dict = {}
