"""The demo city stored: its units, categories, users, routing rules and knowledge base,
made from hotline.demo.city and .texts; and World, the lookup the stories use to find a
unit's staff. The create_* functions flush; load_demo commits them in one unit of work."""
from __future__ import annotations

from hotline.auth.models import User
from hotline.auth.services import create_user
from hotline.categories.models import Category
from hotline.clock import clock
from hotline.demo import city, texts
from hotline.enums import Role, UnitKind
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.routing.models import RoutingRule
from hotline.units.models import Unit, assign_path


# --- organisation -----------------------------------------------------------------------
def create_units() -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for code, name, kind, parent in city.UNITS:
        unit = Unit(code=code, name=name, kind=kind, level=city.LEVEL_OF_KIND[kind],
                    parent=units[parent] if parent else None, active=True)
        db.session.add(unit)
        units[code] = unit
    db.session.flush()
    for unit in units.values():  # city.UNITS lists parents first
        assign_path(unit)
    db.session.flush()
    return units


def create_categories() -> dict[str, Category]:
    cats: dict[str, Category] = {}

    def add(code, name, parent, sort):
        full = f"{parent.full_name} › {name}" if parent else name
        cat = Category(code=code, name=name, full_name=full, parent=parent, active=True, sort=sort)
        db.session.add(cat)
        cats[code] = cat
        return cat

    for i, (code, name, children) in enumerate(city.CATEGORY_TREE):
        root = add(code, name, None, i)
        for j, (mcode, mname, leaves) in enumerate(children):
            mid = add(mcode, mname, root, j)
            for k, (lcode, lname) in enumerate(leaves):
                add(lcode, lname, mid, k)
    db.session.flush()
    return cats


def create_users(units: dict[str, Unit]) -> dict[str, User]:
    users = {}
    for username, password, name, roles, unit_code in city.USERS:
        users[username] = create_user(username, password, roles, units[unit_code], name,
                                      must_change=False, check_rules=False)  # published demo logins
        if Role.LEADER in roles:
            users[username].title = "分管副主任"
    return users


# --- routing rules and knowledge base ---------------------------------------------------
def create_routing_and_knowledge(units: dict[str, Unit], categories: dict[str, Category], users) -> tuple[int, int]:
    """Routing rules from the issue templates (the unit each kind of request goes to;
    属地 requests per district) and knowledge-base answers from the consultation ones."""
    districts = [u for u in units.values() if u.kind is UnitKind.DISTRICT]
    admin = next((u for u in users.values() if u.has_role(Role.ADMIN)), None)
    seen, rules, articles = set(), 0, 0
    for issue in texts.ISSUES:
        cat = categories[issue["cat"]]
        targets = ([(d, d) for d in districts] if issue["unit"] == "@district"
                   else [(None, units[issue["unit"]])])
        for district, lead in targets:
            key = (cat.id, district.id if district else None)
            if key in seen:
                continue
            seen.add(key)
            cos = [units[c].id for c in issue.get("co", ()) if c in units]
            db.session.add(RoutingRule(category_id=cat.id, district_id=key[1], lead_unit_id=lead.id, co_unit_ids=cos,
                                       certain=issue["unit"] != "@district", active=True,
                                       note="演示规则"))
            rules += 1
        if issue.get("answer"):
            title = issue.get("kb_title") or issue["title"].replace("咨询", "", 1)
            if "{" in title or "{" in issue["answer"]:
                raise ValueError(f"knowledge-base answer with a placeholder: {title}")
            db.session.add(KnowledgeArticle(title=title, body=issue["answer"],
                                            keywords=cat.name, category_id=cat.id, active=True,
                                            updated_at=clock.now(), updated_by_id=admin.id if admin else None))
            articles += 1
    db.session.flush()
    return rules, articles


# --- the world the stories run in -------------------------------------------------------
class World:
    """The loaded city as the stories see it: units, categories and users by code, the
    real "now" the stories must end before, and the staff who act for each unit."""

    def __init__(self, units, categories, users, now):
        self.units = units
        self.categories = categories
        self.now = now
        self.parent = {code: parent for code, _, _, parent in city.UNITS}
        self.staff: dict[str, User] = {}
        for username, _, _, roles, unit_code in city.USERS:
            if Role.UNIT_STAFF in roles:
                self.staff.setdefault(unit_code, users[username])
        self.users = users

    def staff_of(self, code: str) -> User:
        """Staff of the unit, or of the nearest unit above it that has staff."""
        while code is not None:
            if code in self.staff:
                return self.staff[code]
            code = self.parent[code]
        raise LookupError("no staff")

    def uid(self, code: str) -> int:
        return self.units[code].id

    def short(self, code: str) -> str:
        name = self.units[code].name
        for suffix in ("人民政府", "办事处"):
            if name.endswith(suffix):
                return name[: -len(suffix)]
        return name
