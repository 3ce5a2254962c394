"""KIM Portal: case folders, consent-based sharing and search for integration management."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the portal app; ``config`` overrides settings by field name (see ``Settings``)."""
    # Imported here, not at the top: the text-extraction child process imports
    # ``portal.services.extract`` and should not pay for Flask, SQLAlchemy and Whoosh.
    from flask import Flask
    from werkzeug.middleware.proxy_fix import ProxyFix

    from portal import db, web
    from portal.config import RESOURCES, Settings
    from portal.jobs import Drainer
    from portal.services.search import make_backend
    from portal.services.storage import BlobStore

    # Whatever the portal writes (database, uploads, index, keys) holds personal data or
    # secrets: readable by the portal's own user only (files 0600, directories 0700).
    os.umask(0o077)
    settings = Settings.from_overrides(config)
    settings.close_directories()
    created_secrets = settings.ensure_secrets()
    app = Flask(
        __name__,
        template_folder=str(RESOURCES / "templates"),
        static_folder=str(RESOURCES / "static"),
    )
    app.config.update(settings.flask_config())
    app.extensions["portal.settings"] = settings
    app.extensions["portal.created_secrets"] = created_secrets
    if settings.proxy_count:  # client address, scheme, host and a sub-path like /kim
        hops = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)
    db.init_app(app, db.Database(settings.database_url, audit_key=settings.audit_key))
    app.extensions["portal.blobs"] = BlobStore(settings.data_dir / "blobs")
    app.extensions["portal.search"] = make_backend(
        settings.search_backend, settings.search_index, engine=app.extensions["portal.db"].engine
    )
    app.extensions["portal.drainer"] = Drainer(app)
    web.init_app(app)
    return app
