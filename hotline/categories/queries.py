"""Reading the taxonomy: choices for the pages' category pickers."""
from __future__ import annotations

from hotline import refcache


def category_choices() -> list[tuple[int, str]]:
    """Active categories by full name (the per-process reference cache, hotline.refcache)."""
    return list(refcache.category_choices())
