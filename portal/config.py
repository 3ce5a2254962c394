"""Settings from ``PORTAL_*`` environment variables, with defaults for the embedded set-up."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# templates/, static/ and migrations/: inside the package when installed from a wheel (mapped
# there by pyproject.toml), beside it in a checkout.
RESOURCES = PACKAGE if (PACKAGE / "templates").is_dir() else PACKAGE.parent


# The interface languages, German first.
LANGUAGES = {"de": "Deutsch", "en": "English"}


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PORTAL_{name}", default)


def _flag(name: str, default: str = "0") -> bool:
    return _env(name, default).strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    """Everything the portal can be configured with; one instance per app."""

    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    # Relative to the working directory, never inside the installed package.
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "instance")))
    search_index: Path = field(default_factory=lambda: Path(_env("SEARCH_INDEX", "search_index")))
    search_backend: str = field(default_factory=lambda: _env("SEARCH_BACKEND", "tantivy"))
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", ""))
    audit_key: str = field(default_factory=lambda: _env("AUDIT_KEY", ""))
    max_upload_mb: int = field(default_factory=lambda: int(_env("MAX_UPLOAD_MB", "50")))
    language: str = field(default_factory=lambda: _env("LANGUAGE", "de"))
    https: bool = field(default_factory=lambda: _flag("HTTPS"))
    proxy_count: int = field(default_factory=lambda: int(_env("PROXY_COUNT", "0")))
    retention_years: int = field(default_factory=lambda: int(_env("RETENTION_YEARS", "3")))
    # Per document type, e.g. PORTAL_RETENTION_YEARS_AGREEMENT=10; unset types use the default.
    retention_years_by_type: dict[str, int] = field(
        default_factory=lambda: {
            doc_type: int(value)
            for doc_type in ("note", "assessment", "agreement", "file")
            if (value := _env(f"RETENTION_YEARS_{doc_type.upper()}", ""))
        }
    )
    # Client addresses in the audit trail are removed after this many days (portal purge).
    audit_address_days: int = field(default_factory=lambda: int(_env("AUDIT_ADDRESS_DAYS", "90")))
    # portal index-worker runs the maintenance of portal purge this often (0: never).
    maintenance_hours: int = field(default_factory=lambda: int(_env("MAINTENANCE_HOURS", "24")))
    # /health/ready answers 503 beyond these: outbox jobs waiting, the oldest one's age,
    # free disk in the data directory.
    ready_outbox_jobs: int = field(default_factory=lambda: int(_env("READY_OUTBOX_JOBS", "1000")))
    ready_outbox_minutes: int = field(
        default_factory=lambda: int(_env("READY_OUTBOX_MINUTES", "15"))
    )
    ready_free_disk_mb: int = field(default_factory=lambda: int(_env("READY_FREE_DISK_MB", "500")))
    # The access log's lines (standard error): "text" (key=value) or "json".
    log_format: str = field(default_factory=lambda: _env("LOG_FORMAT", "text"))
    # Bearer token for /metrics from other machines (loopback scrapes need none).
    metrics_token: str = field(default_factory=lambda: _env("METRICS_TOKEN", ""))
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 10
    login_window_minutes: int = 15

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).absolute()
        self.search_index = Path(self.search_index).absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'portal.db'}"
        if self.language not in LANGUAGES:
            raise ValueError(f"PORTAL_LANGUAGE must be 'de' or 'en', not {self.language!r}")

    def close_directories(self) -> None:
        """Make the data and index directories the portal's user's alone (0700), also
        those an older version created readable for everyone: what is in them (database,
        uploads, keys, the index of every text) then is too."""
        for directory in (self.data_dir, self.search_index):
            if directory.is_dir() and directory.stat().st_uid == os.geteuid():
                directory.chmod(0o700)

    def ensure_secrets(self) -> set[str]:
        """Fill missing secrets from files in the data directory, generating them once;
        return the names of those generated now."""
        created = set()
        for name in ("secret_key", "audit_key"):
            if not getattr(self, name):
                value, new = _secret_file(self.data_dir / name)
                setattr(self, name, value)
                if new:
                    created.add(name)
        return created

    def flask_config(self) -> dict:
        """The Flask configuration keys derived from these settings."""
        return {
            "SECRET_KEY": self.secret_key,
            "MAX_CONTENT_LENGTH": self.max_upload_mb * 1024 * 1024 + 64 * 1024,
            "SESSION_COOKIE_NAME": "kim_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.https,
            "PERMANENT_SESSION_LIFETIME": timedelta(hours=self.session_absolute_hours),
            "REMEMBER_COOKIE_HTTPONLY": True,
            "WTF_CSRF_TIME_LIMIT": self.session_absolute_hours * 3600,
            "BABEL_DEFAULT_LOCALE": self.language,
            "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
            "BABEL_TRANSLATION_DIRECTORIES": str(PACKAGE / "translations"),
            "PREFERRED_URL_SCHEME": "https" if self.https else "http",
        }

    @classmethod
    def from_overrides(cls, overrides: dict | None) -> Settings:
        """Settings from the environment, with the given field names replaced."""
        overrides = dict(overrides or {})
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        return cls(**overrides)


def _secret_file(path: Path) -> tuple[str, bool]:
    """Read a secret from ``path``; create it (mode 0600) with a random value if missing.
    Also says whether this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return path.read_text().strip(), False
    # Written to a temporary file and linked into place, so that two processes
    # starting at once agree on one value and nobody reads a half-written file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)
        created = True
    except FileExistsError:
        created = False
    finally:
        tmp.unlink()
    return path.read_text().strip(), created
