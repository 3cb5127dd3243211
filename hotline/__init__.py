"""hotline: the work-order system of a 12345 government service hotline.

Every `import hotline.x` runs this file first, so it stays empty of imports: the factory
(hotline/app.py, which imports every blueprint) is loaded only when an app is made."""
from __future__ import annotations


def create_app(config=None, **overrides):
    """Make the Flask app; see hotline.app.create_app."""
    from hotline.app import create_app as factory  # lazy: hotline.app imports the whole package

    return factory(config, **overrides)
