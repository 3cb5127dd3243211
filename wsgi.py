"""WSGI entry point: `flask --app wsgi run`, `gunicorn wsgi:app`.

Production settings unless HOTLINE_CONFIG=development (or testing) is set explicitly.

After the app is built, every object made so far (modules, the ORM's mappers and compiled
statements, the routes, the app) is moved out of the garbage collector's generations
(`gc.freeze()`): they live as long as the process, yet each full collection walked all of
them again (about 170 000 objects: a full collection every few hundred requests cost
about 0.5 ms per request of the API create, 13 % of its CPU). Under gunicorn with
`--preload` the master freezes before forking, which also keeps the workers from writing
to (and so copying) the pages those objects live in."""
import gc

from config import config_name
from hotline import create_app

app = create_app(config_name())
gc.freeze()
