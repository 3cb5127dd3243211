"""What an integration needs to fill a ticket in: the units, the categories, and the
routing rules' suggestion for a category and district."""
from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from hotline.api.errors import ApiError
from hotline.api.schemas import CategoryOut, RoutingSuggestion, UnitOut
from hotline.api.serialize import labeled, unit_ref
from hotline.api.spec import api_route
from hotline.api.views import bp
from hotline.categories.models import Category
from hotline.extensions import db
from hotline.routing.services import suggest
from hotline.units.models import Unit


class ActiveQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_inactive: bool = Field(False, description="也列出已停用的")


class SuggestionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_id: int = Field(description="诉求分类 id")
    district_id: Optional[int] = Field(None, description="所属区县 id")


@api_route(bp, "/units", "GET", summary="单位列表", query=ActiveQuery, response=list[UnitOut], tag="directory")
def list_units(query: ActiveQuery):
    """The unit tree, flat and in tree order (each with its parent_id and level)."""
    stmt = sa.select(Unit).order_by(Unit.path)
    if not query.include_inactive:
        stmt = stmt.where(Unit.active.is_(True))
    return [{**unit_ref(u), "kind": labeled(u.kind), "level": u.level, "parent_id": u.parent_id, "active": u.active}
            for u in db.session.scalars(stmt)]


@api_route(bp, "/categories", "GET", summary="诉求分类", query=ActiveQuery, response=list[CategoryOut],
           tag="directory")
def list_categories(query: ActiveQuery):
    """The taxonomy, flat (each with its parent_id; `name` is the full path such as
    城乡建设 › 物业管理 › 电梯故障, `short_name` the last part), ordered by full name."""
    stmt = sa.select(Category).order_by(Category.full_name, Category.id)
    if not query.include_inactive:
        stmt = stmt.where(Category.active.is_(True))
    return [{"id": c.id, "code": c.code, "name": c.full_name or c.name, "short_name": c.name,
             "parent_id": c.parent_id, "active": c.active, "public": c.public}
            for c in db.session.scalars(stmt)]


@api_route(bp, "/routing/suggestion", "GET", summary="派单建议", query=SuggestionQuery, response=RoutingSuggestion,
           tag="directory")
def routing_suggestion(query: SuggestionQuery):
    """The unit the routing rules suggest for a category (or its nearest ancestor with a
    rule) and district, with the rule and why."""
    if db.session.get(Category, query.category_id) is None:
        raise ApiError(422, "VALIDATION", "诉求分类不存在", {"category_id": "不存在"})
    s = suggest(query.category_id, query.district_id)
    return {"certain": s.certain, "rule_id": s.rule.id if s.rule else None, "lead": unit_ref(s.lead),
            "co_units": [unit_ref(u) for u in s.co_units], "explanation": s.explanation}
