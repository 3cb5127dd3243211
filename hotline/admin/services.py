"""The rules behind the admin pages: settings, units, categories, routing rules, the
time-limit policy, the holiday calendar and the knowledge base.

Each operation checks everything first, then changes and commits in one transaction. A
problem raises ValidationFailed with a Chinese message and the form field it belongs to,
and the database stays as it was (the transaction is rolled back), so the web pages, the
API and the CLI can call the same functions.
"""
from __future__ import annotations

import re
from collections import defaultdict
from contextlib import contextmanager
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from hotline.categories.models import Category
from hotline.admin.models import Setting
from hotline.units.models import Unit, assign_path
from hotline.clock import now
from hotline.deadlines.models import CalendarYear, HolidayOverride, TimeLimitPolicy
from hotline.deadlines.services import DEFAULT_POLICY, _package_covers, default_limit, forget_calendar
from hotline.enums import DeadlineClock, LimitUnit, RequestType, UnitKind, Urgency
from hotline.errors import ValidationFailed, clean_text
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.routing.models import RoutingRule

AUTO_DISPATCH = "auto_dispatch"
CATEGORY_SEPARATOR = " › "
MAX_LEVEL = 4
MAX_LIMIT_AMOUNT = 999
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@contextmanager
def _saving():
    """Commit what the block changed, or roll all of it back."""
    try:
        yield
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ValidationFailed("保存失败：与其他记录冲突（可能刚被他人修改），请刷新后重试", code="CONFLICT") from exc
    except BaseException:
        db.session.rollback()
        raise


def _text(value, label: str, field: str, max_len: int, required: bool = True) -> str:
    return clean_text(value, field, label, required=required, max_len=max_len)


def _get(model, ident, label: str, field: str, required: bool = True):
    """The row `ident` refers to; None for an empty optional reference."""
    if ident in (None, "", 0):
        if required:
            raise ValidationFailed(f"请选择{label}", field=field)
        return None
    try:
        obj = db.session.get(model, int(ident))
    except (TypeError, ValueError):
        obj = None
    if obj is None:
        raise ValidationFailed(f"{label}不存在", field=field)
    return obj


# --- settings ---------------------------------------------------------------------
def get_setting(key: str, default: str | None = None) -> str | None:
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def set_setting(key: str, value) -> None:
    """Store one setting and commit."""
    value = "" if value is None else str(value)
    if len(value) > 400:
        raise ValidationFailed("设置值不能超过 400 个字", field="value")
    with _saving():
        row = db.session.get(Setting, key)
        if row is None:
            db.session.add(Setting(key=key, value=value))
        else:
            row.value = value


# --- units ------------------------------------------------------------------------
def unit_tree() -> list[Unit]:
    """Every unit in tree order (parents before their children), supervisors loaded."""
    return list(db.session.scalars(
        sa.select(Unit).options(joinedload(Unit.supervisor)).order_by(Unit.path, Unit.id)))


def _subtree_depth(unit: Unit) -> int:
    """The deepest level found in the unit's subtree (the unit's own level if a leaf)."""
    return db.session.scalar(sa.select(sa.func.max(Unit.level)).where(Unit.path.startswith(unit.path))) \
        or unit.level


def _clean_unit(data: dict, unit: Unit | None) -> dict:
    code = _text(data.get("code"), "单位编码", "code", 32)
    taken = sa.select(Unit.id).where(Unit.code == code)
    if unit is not None:
        taken = taken.where(Unit.id != unit.id)
    if db.session.scalar(taken):
        raise ValidationFailed(f"单位编码 {code} 已被使用", field="code")
    name = _text(data.get("name"), "单位名称", "name", 100)
    try:
        kind = UnitKind.coerce(data.get("kind"))
    except ValueError:
        raise ValidationFailed("请选择单位类型", field="kind") from None

    parent = _get(Unit, data.get("parent_id"), "上级单位", "parent_id", required=False)
    if parent is None and kind is not UnitKind.CENTRE:
        raise ValidationFailed("只有热线中心可以作为顶级单位，请选择上级单位", field="parent_id")
    if parent is not None and unit is not None and parent.is_within(unit):
        raise ValidationFailed("不能把单位移到它自己或它的下级单位之下", field="parent_id")
    level = parent.level + 1 if parent is not None else 1
    if level > MAX_LEVEL:
        raise ValidationFailed(f"单位最多 {MAX_LEVEL} 级：上级单位「{parent.name}」已是第 {parent.level} 级",
                               field="parent_id")
    moved = unit is None or parent is not unit.parent
    if moved and parent is not None and not parent.active:
        raise ValidationFailed(f"上级单位「{parent.name}」已停用", field="parent_id")
    if unit is not None and moved and _subtree_depth(unit) - unit.level + level > MAX_LEVEL:
        raise ValidationFailed(f"移到「{parent.name}」之下后，下级单位将超过第 {MAX_LEVEL} 级", field="parent_id")

    supervisor = _get(Unit, data.get("supervisor_id"), "督导单位", "supervisor_id", required=False)
    if supervisor is not None and unit is not None and supervisor.id == unit.id:
        raise ValidationFailed("督导单位不能是本单位", field="supervisor_id")
    email = _text(data.get("email"), "邮箱", "email", 200, required=False)
    if email and not EMAIL_RE.match(email):
        raise ValidationFailed("邮箱格式不正确", field="email")

    active = bool(data.get("active"))
    if unit is not None and unit.active and not active:
        _check_can_deactivate_unit(unit)
    if active and parent is not None and not parent.active:
        raise ValidationFailed(f"上级单位「{parent.name}」已停用，不能启用本单位", field="active")
    return dict(code=code, name=name, kind=kind, parent=parent, level=level, supervisor=supervisor,
                email=email or None, active=active)


def _check_can_deactivate_unit(unit: Unit) -> None:
    if db.session.scalar(sa.select(Unit.id).where(Unit.parent_id == unit.id, Unit.active.is_(True)).limit(1)):
        raise ValidationFailed("该单位还有启用的下级单位，请先停用下级单位", field="active")
    rules = db.session.scalar(sa.select(sa.func.count()).select_from(RoutingRule).where(
        RoutingRule.active.is_(True), RoutingRule.lead_unit_id == unit.id))
    if rules:
        raise ValidationFailed(f"该单位是 {rules} 条启用的派单规则的主办单位，请先修改这些派单规则",
                               field="active")


def create_unit(data: dict) -> Unit:
    clean = _clean_unit(data, None)
    with _saving():
        unit = Unit(**clean)
        db.session.add(unit)
        db.session.flush()
        assign_path(unit)
    return unit


def update_unit(unit: Unit, data: dict) -> Unit:
    """Change a unit; moving it under another parent re-paths and re-levels its subtree."""
    clean = _clean_unit(data, unit)
    with _saving():
        old_path, old_level = unit.path, unit.level
        moved = clean["parent"] is not unit.parent
        for key, value in clean.items():
            setattr(unit, key, value)
        if moved:
            assign_path(unit)
            shift = unit.level - old_level
            below = db.session.scalars(sa.select(Unit).where(Unit.path.startswith(old_path), Unit.id != unit.id))
            for sub in below:
                sub.path = unit.path + sub.path[len(old_path):]
                sub.level += shift
    return unit


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
    code = _text(data.get("code"), "分类编码", "code", 32)
    taken = sa.select(Category.id).where(Category.code == code)
    if cat is not None:
        taken = taken.where(Category.id != cat.id)
    if db.session.scalar(taken):
        raise ValidationFailed(f"分类编码 {code} 已被使用", field="code")
    name = _text(data.get("name"), "分类名称", "name", 100)
    if CATEGORY_SEPARATOR.strip() in name:
        raise ValidationFailed("分类名称不能包含 “›”", field="name")
    parent = _get(Category, data.get("parent_id"), "上级分类", "parent_id", required=False)
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
    return dict(code=code, name=name, parent=parent, sort=sort, active=active, full_name=full_name)


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
    with _saving():
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
    with _saving():
        for key, value in clean.items():
            setattr(cat, key, value)
        for node in nodes:
            node.full_name = names[node.id]
            if deactivating:
                node.active = False
    return cat


def deactivate_category(cat: Category) -> int:
    """Deactivate a category and its subtree; return how many were deactivated."""
    with _saving():
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
    category = _get(Category, data.get("category_id"), "分类", "category_id")
    if not category.active:
        raise ValidationFailed(f"分类「{category.full_name}」已停用", field="category_id")
    district = _get(Unit, data.get("district_id"), "区县", "district_id", required=False)
    if district is not None and district.kind is not UnitKind.DISTRICT:
        raise ValidationFailed("区县须选择“区县政府”类型的单位", field="district_id")
    lead = _get(Unit, data.get("lead_unit_id"), "主办单位", "lead_unit_id")
    if not lead.active:
        raise ValidationFailed(f"主办单位「{lead.name}」已停用", field="lead_unit_id")
    co_ids = []
    for raw in data.get("co_unit_ids") or []:
        co = _get(Unit, raw, "协办单位", "co_unit_ids")
        if co.id == lead.id:
            raise ValidationFailed("协办单位不能与主办单位相同", field="co_unit_ids")
        if not co.active:
            raise ValidationFailed(f"协办单位「{co.name}」已停用", field="co_unit_ids")
        if co.id not in co_ids:
            co_ids.append(co.id)
    note = _text(data.get("note"), "备注", "note", 200, required=False)

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
    with _saving():
        if rule is None:
            rule = RoutingRule(**clean)
            db.session.add(rule)
        else:
            for key, value in clean.items():
                setattr(rule, key, value)
    return rule


def delete_routing_rule(rule: RoutingRule) -> None:
    with _saving():
        db.session.delete(rule)


# --- time-limit policy ------------------------------------------------------------
def cell_key(clock: DeadlineClock, request_type: RequestType | None, urgency: Urgency) -> str:
    """The form field suffix of one policy cell, e.g. "handle__complaint__normal"."""
    return f"{clock.value}__{request_type.value if request_type else 'any'}__{urgency.value}"


def policy_grid() -> list[dict]:
    """The policy as the pages show it: one row per (clock, request type), a cell per
    urgency holding the limit deadlines use now (the stored row, else what limit_for()
    falls back to)."""
    stored = {(r.clock, r.request_type, r.urgency): r for r in db.session.scalars(sa.select(TimeLimitPolicy))}
    keys = set(DEFAULT_POLICY) | {(c, t) for c, t, _ in stored}
    clocks, types = list(DeadlineClock), [None, *RequestType]
    rows = []
    for clock, rtype in sorted(keys, key=lambda k: (clocks.index(k[0]), types.index(k[1]))):
        cells = {}
        for urgency in Urgency:
            row = stored.get((clock, rtype, urgency)) or stored.get((clock, None, urgency))
            if row is not None:
                cells[urgency] = (row.amount, row.unit)
            else:
                limit = default_limit(clock, rtype, urgency)
                cells[urgency] = limit if limit else (None, LimitUnit.WORKING_DAYS)
        rows.append(dict(clock=clock, request_type=rtype, cells=cells, removable=(clock, rtype) not in DEFAULT_POLICY))
    return rows


def clean_limit_amount(raw, field: str | None = None) -> int | None:
    """A policy amount: a positive integer, or None ("not allowed") for an empty one."""
    raw = "" if raw is None else str(raw).strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT_AMOUNT:
        raise ValidationFailed(f"时限须为 1–{MAX_LIMIT_AMOUNT} 的正整数（留空表示不允许）", field=field)
    return int(raw)


def update_time_limits(values: dict[tuple, tuple]) -> int:
    """Store the policy cells {(clock, request type, urgency): (amount, unit)}; an empty
    amount means "not allowed". Returns the number of cells that changed."""
    clean = {}
    for (clock, rtype, urgency), (amount, unit) in values.items():
        key = cell_key(clock, rtype, urgency)
        amount = clean_limit_amount(amount, f"amount_{key}")
        try:
            unit = LimitUnit.coerce(unit)
        except ValueError:
            raise ValidationFailed("请选择时限单位", field=f"unit_{key}") from None
        clean[(clock, rtype, urgency)] = (amount, unit)
    stored = {(r.clock, r.request_type, r.urgency): r for r in db.session.scalars(sa.select(TimeLimitPolicy))}
    changed = 0
    with _saving():
        for (clock, rtype, urgency), (amount, unit) in clean.items():
            row = stored.get((clock, rtype, urgency))
            if row is None:
                row = TimeLimitPolicy(clock=clock, request_type=rtype, urgency=urgency)
                db.session.add(row)
            elif (row.amount, row.unit) == (amount, unit):
                continue
            row.amount, row.unit = amount, unit
            changed += 1
    return changed


def add_time_limit_row(clock, request_type) -> None:
    """A request-type row for a clock, starting from the limits that apply now."""
    try:
        clock, rtype = DeadlineClock.coerce(clock), RequestType.coerce(request_type)
    except ValueError:
        raise ValidationFailed("请选择时限和诉求类型", field="request_type") from None
    stored = db.session.scalar(sa.select(TimeLimitPolicy.id).where(
        TimeLimitPolicy.clock == clock, TimeLimitPolicy.request_type == rtype).limit(1))
    if stored or (clock, rtype) in DEFAULT_POLICY:
        raise ValidationFailed(f"{clock.label} · {rtype.label} 已有单独的时限", field="request_type")
    current = next((r["cells"] for r in policy_grid() if r["clock"] is clock and r["request_type"] is None), {})
    with _saving():
        for urgency in Urgency:
            amount, unit = current.get(urgency, (None, LimitUnit.WORKING_DAYS))
            db.session.add(TimeLimitPolicy(clock=clock, request_type=rtype, urgency=urgency, amount=amount, unit=unit))


def remove_time_limit_row(clock, request_type) -> None:
    """Drop an admin-added request-type row; the general row applies again."""
    try:
        clock, rtype = DeadlineClock.coerce(clock), RequestType.coerce(request_type)
    except ValueError:
        raise ValidationFailed("该时限行不存在") from None
    if (clock, rtype) in DEFAULT_POLICY:
        raise ValidationFailed("默认时限表中的行不能删除，可直接修改其数值")
    with _saving():
        db.session.execute(sa.delete(TimeLimitPolicy).where(
            TimeLimitPolicy.clock == clock, TimeLimitPolicy.request_type == rtype))


# --- holiday calendar -------------------------------------------------------------
def holidays_of(year: int) -> list[HolidayOverride]:
    return list(db.session.scalars(sa.select(HolidayOverride).where(
        HolidayOverride.day.between(date(year, 1, 1), date(year, 12, 31))).order_by(HolidayOverride.day)))


def calendar_years(around: int) -> list[dict]:
    """Each year worth showing (the years around `around` and every year with data):
    its override count, the admin's confirmation and whether the package covers it."""
    year_of = sa.extract("year", HolidayOverride.day)
    counts = {int(y): n for y, n in db.session.execute(sa.select(year_of, sa.func.count()).group_by(year_of))}
    confirmed = {c.year: c for c in db.session.scalars(sa.select(CalendarYear))}
    years = sorted({around - 1, around, around + 1} | set(counts) | set(confirmed))
    return [dict(year=y, overrides=counts.get(y, 0), package=_package_covers(y),
                 confirmed=bool(confirmed.get(y) and confirmed[y].confirmed),
                 note=confirmed[y].note if y in confirmed else "") for y in years]


def _clean_holiday(data: dict) -> dict:
    day = data.get("day")
    if not isinstance(day, date):
        raise ValidationFailed("请填写日期", field="day")
    if not 2000 <= day.year <= 2100:
        raise ValidationFailed("日期须在 2000–2100 年之间", field="day")
    return dict(day=day, is_workday=bool(data.get("is_workday")),
                name=_text(data.get("name"), "名称", "name", 100, required=False))


def save_holiday(override: HolidayOverride | None, data: dict) -> HolidayOverride:
    """Add a day (override None) or change one; its date is its identity and stays."""
    clean = _clean_holiday(data)
    if override is None:
        existing = db.session.get(HolidayOverride, clean["day"])
        if existing is not None:
            kind = "工作日" if existing.is_workday else "休息日"
            raise ValidationFailed(f"{clean['day']:%Y-%m-%d} 已设置为{kind}，请在列表中修改", field="day")
    elif clean["day"] != override.day:
        raise ValidationFailed("日期不能修改；请删除后重新添加", field="day")
    with _saving():
        if override is None:
            override = HolidayOverride(**clean)
            db.session.add(override)
        else:
            override.is_workday, override.name = clean["is_workday"], clean["name"]
    forget_calendar()
    return override


def delete_holiday(override: HolidayOverride) -> None:
    with _saving():
        db.session.delete(override)
    forget_calendar()


def set_year_confirmed(year: int, confirmed: bool, note: str = "") -> CalendarYear:
    """Record that a year's official schedule is (or is no longer) entered in full."""
    if not 2000 <= year <= 2100:
        raise ValidationFailed("年份须在 2000–2100 之间", field="year")
    note = _text(note, "说明", "note", 200, required=False)
    with _saving():
        row = db.session.get(CalendarYear, year)
        if row is None:
            row = CalendarYear(year=year)
            db.session.add(row)
        row.confirmed, row.note = confirmed, note
    forget_calendar()
    return row


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
    category = _get(Category, data.get("category_id"), "分类", "category_id", required=False)
    keywords = " ".join(re.split(r"[\s,，、;；]+", (data.get("keywords") or "").strip())).strip()
    return dict(title=_text(data.get("title"), "标题", "title", 200),
                body=_text(data.get("body"), "答复内容", "body", 20000),
                keywords=_text(keywords, "关键词", "keywords", 400, required=False),
                category=category, active=bool(data.get("active", True)))


def save_article(article: KnowledgeArticle | None, data: dict, actor) -> KnowledgeArticle:
    """Create (article None) or change an article, stamped with who and when."""
    clean = _clean_article(data)
    clean.update(updated_at=now(), updated_by_id=actor.id)
    with _saving():
        if article is None:
            article = KnowledgeArticle(**clean)
            db.session.add(article)
        else:
            for key, value in clean.items():
                setattr(article, key, value)
    return article


def deactivate_article(article: KnowledgeArticle, actor) -> None:
    actor_id = actor.id
    with _saving():
        article.active = False
        article.updated_at, article.updated_by_id = now(), actor_id
