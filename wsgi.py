"""WSGI entry point: `flask --app wsgi run`, `gunicorn wsgi:app`.

Production settings unless HOTLINE_CONFIG=development (or testing) is set explicitly."""
from config import config_name
from hotline import create_app

app = create_app(config_name())
