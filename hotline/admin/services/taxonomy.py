"""Taxonomy and routing: the category tree, the routing rules (category × district →
lead and co-units) and the knowledge base the operators answer from."""
from __future__ import annotations

import re
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

from hotline.admin.services.base import flushing, get_row, text
from hotline.categories.models import Category
from hotline.clock import now
from hotline.enums import UnitKind
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.routing.models import RoutingRule
from hotline.units.models import Unit

CATEGORY_SEPARATOR = " › "


# --- categories -------------------------------------------------------------------
def category_tree() -> list[tuple[Category, int]]:
    """(category, depth) in tree order, siblings by sort then code."""
    children = defaultdict(list)
    for cat in db.session.scalars(sa.select(Category).order_by(Category.sort, Category.code)):
        children[cat.parent_id].append(cat)
    out: list[tuple[Category, int]] = []

    def walk(parent_id, depth):
        for cat in children.get(parent_id, ()):
            out.append((cat, depth))
            walk(cat.id, depth + 1)

    walk(None, 0)
    return out


def _subtree(cat: Category) -> list[Category]:
    """The category and everything below it, parents first."""
    children = defaultdict(list)
    for c in db.session.scalars(sa.select(Category)):
        children[c.parent_id].append(c)
    out, todo = [], [cat]
    while todo:
        node = todo.pop(0)
        out.append(node)
        todo.extend(children.get(node.id, ()))
    return out


def _clean_category(data: dict, cat: Category | None) -> dict:
    code = text(data.get("code"), "分类编码", "code", 32)
    taken = sa.select(Category.id).where(Category.code == code)
    if cat is not None:
        taken = taken.where(Category.id != cat.id)
    if db.session.scalar(taken):
        raise ValidationFailed(f"分类编码 {code} 已被使用", field="code")
    name = text(data.get("name"), "分类名称", "name", 100)
    if CATEGORY_SEPARATOR.strip() in name:
        raise ValidationFailed("分类名称不能包含 “›”", field="name")
    parent = get_row(Category, data.get("parent_id"), "上级分类", "parent_id", required=False)
    node = parent
    while node is not None and cat is not None:
        if node.id == cat.id:
            raise ValidationFailed("不能把分类移到它自己或它的下级分类之下", field="parent_id")
        node = node.parent
    moved = cat is None or parent is not cat.parent
    if moved and parent is not None and not parent.active:
        raise ValidationFailed(f"上级分类「{parent.full_name}」已停用", field="parent_id")
    same_parent = Category.parent_id == parent.id if parent else Category.parent_id.is_(None)
    sibling = sa.select(Category.id).where(Category.name == name, same_parent)
    if cat is not None:
        sibling = sibling.where(Category.id != cat.id)
    if db.session.scalar(sibling):
        raise ValidationFailed(f"同一上级下已有名为「{name}」的分类", field="name")
    try:
        sort = int(data.get("sort") or 0)
    except (TypeError, ValueError):
        raise ValidationFailed("排序须为整数", field="sort") from None
    active = bool(data.get("active", True))
    if active and parent is not None and not parent.active:
        raise ValidationFailed(f"上级分类「{parent.full_name}」已停用，不能启用本分类", field="active")
    full_name = (parent.full_name + CATEGORY_SEPARATOR if parent else "") + name
    if len(full_name) > 400:
        raise ValidationFailed("分类全称过长（超过 400 个字），请缩短名称或减少层级", field="name")
    return dict(code=code, name=name, parent=parent, sort=sort, active=active, full_name=full_name,
                public=bool(data.get("public")))


def _full_names(nodes: list[Category], full_name: str) -> dict[int, str]:
    """New full names of a subtree (parents first) whose top becomes `full_name`."""
    names = {}
    for node in nodes:
        name = full_name if node is nodes[0] else names[node.parent_id] + CATEGORY_SEPARATOR + node.name
        if len(name) > 400:
            raise ValidationFailed("分类全称过长（超过 400 个字），请缩短名称或减少层级", field="name")
        names[node.id] = name
    return names


def create_category(data: dict) -> Category:
    clean = _clean_category(data, None)
    with flushing():
        cat = Category(**clean)
        db.session.add(cat)
    return cat


def update_category(cat: Category, data: dict) -> Category:
    """Change a category; its full name and those of its subtree follow. Deactivating it
    deactivates its subtree too."""
    clean = _clean_category(data, cat)
    nodes = _subtree(cat)
    names = _full_names(nodes, clean["full_name"])
    deactivating = cat.active and not clean["active"]
    with flushing():
        for key, value in clean.items():
            setattr(cat, key, value)
        for node in nodes:
            node.full_name = names[node.id]
            if deactivating:
                node.active = False
    return cat


def deactivate_category(cat: Category) -> int:
    """Deactivate a category and its subtree; return how many were deactivated."""
    with flushing():
        nodes = [n for n in _subtree(cat) if n.active]
        for node in nodes:
            node.active = False
    return len(nodes)


# --- routing rules ----------------------------------------------------------------
def routing_rules() -> tuple[list[RoutingRule], dict[int, Unit]]:
    """Every rule with its category and units, and the co-units they name."""
    rules = list(db.session.scalars(
        sa.select(RoutingRule)
        .join(RoutingRule.category)
        .options(contains_eager(RoutingRule.category), joinedload(RoutingRule.district),
                 joinedload(RoutingRule.lead_unit))
        .order_by(Category.full_name, RoutingRule.district_id.is_not(None), RoutingRule.id)))
    ids = {uid for r in rules for uid in (r.co_unit_ids or [])}
    units = {u.id: u for u in db.session.scalars(sa.select(Unit).where(Unit.id.in_(ids)))} if ids else {}
    return rules, units


def _clean_rule(data: dict, rule: RoutingRule | None) -> dict:
    category = get_row(Category, data.get("category_id"), "分类", "category_id")
    if not category.active:
        raise ValidationFailed(f"分类「{category.full_name}」已停用", field="category_id")
    district = get_row(Unit, data.get("district_id"), "区县", "district_id", required=False)
    if district is not None and district.kind is not UnitKind.DISTRICT:
        raise ValidationFailed("区县须选择“区县政府”类型的单位", field="district_id")
    lead = get_row(Unit, data.get("lead_unit_id"), "主办单位", "lead_unit_id")
    if not lead.active:
        raise ValidationFailed(f"主办单位「{lead.name}」已停用", field="lead_unit_id")
    co_ids = []
    for raw in data.get("co_unit_ids") or []:
        co = get_row(Unit, raw, "协办单位", "co_unit_ids")
        if co.id == lead.id:
            raise ValidationFailed("协办单位不能与主办单位相同", field="co_unit_ids")
        if not co.active:
            raise ValidationFailed(f"协办单位「{co.name}」已停用", field="co_unit_ids")
        if co.id not in co_ids:
            co_ids.append(co.id)
    note = text(data.get("note"), "备注", "note", 200, required=False)

    clash = sa.select(RoutingRule.id).where(
        RoutingRule.category_id == category.id,
        RoutingRule.district_id == district.id if district else RoutingRule.district_id.is_(None))
    if rule is not None:
        clash = clash.where(RoutingRule.id != rule.id)
    if db.session.scalar(clash):
        where = f"区县「{district.name}」" if district else "全市（不限区县）"
        raise ValidationFailed(f"分类「{category.full_name}」在{where}已有派单规则，不能重复设置，请修改已有规则",
                               field="district_id")
    return dict(category=category, district=district, lead_unit=lead, co_unit_ids=co_ids,
                certain=bool(data.get("certain")), active=bool(data.get("active", True)), note=note)


def save_routing_rule(rule: RoutingRule | None, data: dict) -> RoutingRule:
    """Create (rule None) or change a routing rule."""
    clean = _clean_rule(data, rule)
    with flushing():
        if rule is None:
            rule = RoutingRule(**clean)
            db.session.add(rule)
        else:
            for key, value in clean.items():
                setattr(rule, key, value)
    return rule


def delete_routing_rule(rule: RoutingRule) -> None:
    with flushing():
        db.session.delete(rule)


# --- knowledge base ---------------------------------------------------------------
def article_query(q: str = "", include_inactive: bool = False):
    """The articles matching every word of `q` in title, keywords or body."""
    stmt = sa.select(KnowledgeArticle).options(joinedload(KnowledgeArticle.category))
    if not include_inactive:
        stmt = stmt.where(KnowledgeArticle.active.is_(True))
    for word in (q or "").split()[:5]:
        stmt = stmt.where(sa.or_(KnowledgeArticle.title.icontains(word, autoescape=True),
                                 KnowledgeArticle.keywords.icontains(word, autoescape=True),
                                 KnowledgeArticle.body.icontains(word, autoescape=True)))
    return stmt.order_by(KnowledgeArticle.active.desc(), KnowledgeArticle.updated_at.desc(), KnowledgeArticle.id.desc())


def _clean_article(data: dict) -> dict:
    category = get_row(Category, data.get("category_id"), "分类", "category_id", required=False)
    keywords = " ".join(re.split(r"[\s,，、;；]+", (data.get("keywords") or "").strip())).strip()
    return dict(title=text(data.get("title"), "标题", "title", 200),
                body=text(data.get("body"), "答复内容", "body", 20000),
                keywords=text(keywords, "关键词", "keywords", 400, required=False),
                category=category, active=bool(data.get("active", True)))


def save_article(article: KnowledgeArticle | None, data: dict, actor) -> KnowledgeArticle:
    """Create (article None) or change an article, stamped with who and when."""
    clean = _clean_article(data)
    clean.update(updated_at=now(), updated_by_id=actor.id)
    with flushing():
        if article is None:
            article = KnowledgeArticle(**clean)
            db.session.add(article)
        else:
            for key, value in clean.items():
                setattr(article, key, value)
    return article


def deactivate_article(article: KnowledgeArticle, actor) -> None:
    actor_id = actor.id
    with flushing():
        article.active = False
        article.updated_at, article.updated_by_id = now(), actor_id
