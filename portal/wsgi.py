"""The portal for a production WSGI server, configured by the ``PORTAL_*`` environment::

    gunicorn --config python:portal.gunicorn_config portal.wsgi:app

(``portal.gunicorn_config`` runs the start-up work of ``portal serve``; see
docs/production.md.)
"""

from portal import create_app

app = create_app()
