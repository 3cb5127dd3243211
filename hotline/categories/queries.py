"""Reading the taxonomy: choices for the pages' category pickers."""
from __future__ import annotations

import sqlalchemy as sa

from hotline.categories.models import Category
from hotline.extensions import db


def category_choices() -> list[tuple[int, str]]:
    cats = db.session.scalars(sa.select(Category).where(Category.active.is_(True)).order_by(Category.full_name))
    return [(c.id, c.full_name) for c in cats]
