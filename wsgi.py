"""WSGI entry point: `flask --app wsgi run`, `gunicorn wsgi:app`."""
import os

from hotline import create_app

app = create_app(os.environ.get("HOTLINE_CONFIG", "development"))
