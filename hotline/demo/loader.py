"""`flask demo load`: a small realistic city with users of every role and tickets in
every state.

Every ticket is driven through the real lifecycle services (hotline.tickets.services),
with the clock moved between the steps, so its history, deadlines and overdue flags are
exactly what real use would have produced. Each ticket follows a *recipe* (the state it
should end in, plus twists: a misrouted dispatch that is returned, an extension, a
hand-down to a street, a rejected reply, an unsatisfied callback ...). The steps of a
ticket are planned first with absolute times computed from the same deadline functions
the services use, placed so that the whole story ends before the real "now"; then all
tickets are played in order of their intake time, so ticket numbers run in date order.
"""
from __future__ import annotations

import os
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from hotline.categories.models import Category
from hotline.units.models import Unit, assign_path
from hotline.auth.models import User
from hotline.auth.services import create_user
from hotline.clock import clock
from hotline.deadlines.services import calendar, due_for, seed_default_policy
from hotline.demo import data
from hotline.enums import (Channel, DeadlineClock, LimitUnit, RequestType, Resolution, ReturnReason,
                           Role, Satisfaction, SupervisionState, TicketState, UnitKind, Urgency)
from hotline.extensions import db
from hotline import stages  # noqa: F401  (registers every lifecycle action)
from hotline.callbacks.operations import MAX_FAILED_CALLBACKS
from hotline.intake.models import KnowledgeArticle
from hotline.intake.operations import record_ticket
from hotline.lifecycle import perform, unit_of_work
from hotline.routing.models import RoutingRule
from hotline.scheduler.jobs import callback_due, deadline_watch, escalation
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import Ticket

LOGINS_FILE = Path(__file__).with_name("LOGINS.md")
ALREADY_LOADED = "演示数据已存在，跳过"
MARGIN = timedelta(minutes=3)  # the last step of every story happens at least this long before now


# --- recipes ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    name: str
    target: str  # answered invalid merged pending dispatched returned signed replied reviewed
    #              unsatisfied reopened closed unreachable
    weight: float
    age: tuple[float, float] = (1, 30)  # how many days ago the call came in (a hint; stories must fit)
    misroute: str | None = None  # "redispatch": wrong unit returns it; "overrule": right unit returns it
    hand_down: int = 0  # 1: to the street; 2: on to the community
    cos: bool = False  # co-units (协办)
    extension: str | None = None  # "pending" | "approved" | "refused"
    review_reject: bool = False
    late: bool = False  # signs and/or replies after the deadline
    reopen: int = 0  # rounds of 不满意 → 重办 before the target
    fails: int = 0  # failed callback attempts before the target
    extras: bool = False  # add random twists


RECIPES = [
    Recipe("answered", "answered", 18, (0.05, 30)),
    Recipe("invalid", "invalid", 4, (0.2, 30)),
    Recipe("merged", "merged", 5, (0.5, 25)),
    Recipe("pending", "pending", 7, (0.005, 0.6)),
    Recipe("dispatched", "dispatched", 7, (0.05, 0.9)),
    Recipe("dispatched_overdue", "dispatched", 3, (2, 6)),
    Recipe("returned", "returned", 4, (0.1, 1.5), misroute="redispatch"),
    Recipe("returned_disputed", "returned", 2, (0.1, 1.5), misroute="overrule"),
    Recipe("signed", "signed", 9, (0.2, 25)),
    Recipe("signed_hand_down", "signed", 4, (0.5, 10), hand_down=1),
    Recipe("signed_hand_down_community", "signed", 2, (0.5, 10), hand_down=2),
    Recipe("signed_cos", "signed", 3, (0.5, 10), cos=True),
    Recipe("signed_extension_pending", "signed", 3, (1, 4), extension="pending"),
    Recipe("signed_extension_approved", "signed", 3, (2, 12), extension="approved"),
    Recipe("signed_extension_refused", "signed", 2, (1, 6), extension="refused"),
    Recipe("signed_overruled", "signed", 2, (0.5, 6), misroute="overrule"),
    Recipe("signed_review_rejected", "signed", 3, (1, 8), review_reject=True),
    Recipe("signed_late", "signed", 2, (3, 20), late=True),
    Recipe("replied", "replied", 6, (0.3, 8)),
    Recipe("replied_cos_hand_down", "replied", 3, (1, 10), cos=True, hand_down=1),
    Recipe("replied_late", "replied", 2, (3, 25), late=True),
    Recipe("reviewed", "reviewed", 5, (0.2, 3)),
    Recipe("reviewed_failed_callbacks", "reviewed", 3, (0.5, 4), fails=2),
    Recipe("unsatisfied", "unsatisfied", 4, (0.3, 10)),
    Recipe("unsatisfied_again", "unsatisfied", 1, (3, 20), reopen=1),
    Recipe("reopened", "reopened", 4, (1, 15), reopen=1),
    Recipe("reopened_twice", "reopened", 2, (5, 25), reopen=2),
    Recipe("closed", "closed", 40, (1, 30), extras=True),
    Recipe("closed_redispatched", "closed", 4, (3, 30), misroute="redispatch"),
    Recipe("closed_overruled", "closed", 2, (3, 30), misroute="overrule"),
    Recipe("closed_extension_approved", "closed", 3, (8, 30), extension="approved"),
    Recipe("closed_extension_refused", "closed", 2, (8, 30), extension="refused", late=True),
    Recipe("closed_review_rejected", "closed", 3, (3, 30), review_reject=True),
    Recipe("closed_after_reopen", "closed", 3, (6, 30), reopen=1),
    Recipe("closed_hand_down", "closed", 4, (2, 30), hand_down=1),
    Recipe("closed_hand_down_community_cos", "closed", 2, (2, 30), hand_down=2, cos=True),
    Recipe("closed_late", "closed", 3, (5, 30), late=True),
    Recipe("unreachable", "unreachable", 5, (2, 30)),
]

CHANNEL_WEIGHTS = {Channel.PHONE: 60, Channel.WECHAT: 12, Channel.WEBSITE: 10, Channel.APP: 8,
                   Channel.LETTER: 3, Channel.LEADER: 3, Channel.OTHER: 4}
URGENCY_WEIGHTS = {Urgency.NORMAL: 80, Urgency.URGENT: 15, Urgency.CRITICAL: 5}


@dataclass
class Case:
    recipe: Recipe
    issue: dict | None = None
    request_type: RequestType = RequestType.OTHER
    urgency: Urgency = Urgency.NORMAL
    channel: Channel = Channel.PHONE
    lead: str | None = None  # unit codes
    cos: list[str] = field(default_factory=list)
    wrong: str | None = None
    return_reason: ReturnReason | None = None
    district: str | None = None
    street: str | None = None
    community: str | None = None
    place: dict = field(default_factory=dict)
    draft: dict | None = None
    steps: list = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.steps[0][0]


# --- public entry point -----------------------------------------------------------------
def load_demo(tickets: int = 200, seed: int = 12345, echo=print) -> str:
    """Create the demo city, its users and `tickets` tickets; return a one-line summary.

    Refuses (returns a message, changes nothing) when the database already has units.
    """
    if db.session.scalar(sa.select(sa.func.count(Unit.id))):
        return ALREADY_LOADED
    clock.reset()
    now = clock.now()
    try:
        seed_default_policy()
        db.session.commit()
        units = _create_units()
        categories = _create_categories()
        echo(f"已创建 {len(units)} 个单位、{len(categories)} 个诉求分类")
        users = _create_users(units)
        echo(f"已创建 {len(users)} 个用户")
        rules, articles = _create_routing_and_knowledge(units, categories, users)
        echo(f"已创建 {rules} 条派单规则、{articles} 条知识库答复")
        world = _World(units, categories, users, now)
        cases = _plan_cases(world, random.Random(seed), max(int(tickets), 0))
        player = _Player(world, random.Random(seed + 1))
        for i, case in enumerate(sorted(cases, key=lambda c: c.start), 1):
            player.play(case)
            if i % 50 == 0:
                echo(f"已生成 {i} / {len(cases)} 张工单")
    finally:
        clock.reset()
    _supervision_stories(users)
    # What the scheduler would have recorded by now (预警, 催办, 超期, 升级, 回访超期).
    for job in (deadline_watch, escalation, callback_due):
        with unit_of_work():
            job()
    rows = login_rows()
    echo(_text_table(["用户名", "密码", "角色", "单位", "姓名"],
                     [[r[0], r[1], r[2], r[3], r[4]] for r in rows]))
    _write_logins_md(rows)
    return _summary()


def _act(key: str, ticket_id: int, actor: User, *, target=None, **data):
    """One lifecycle action on a ticket, as its current version, committed on its own."""
    with unit_of_work():
        return perform(key, ticket_id, actor, db.session.get(Ticket, ticket_id).version, target=target, **data)


# --- supervision: decisions, progress, instructions, acceptance -------------------------
def _supervision_stories(users) -> None:
    """The supervisors' side, played at the real now after the ticket stories: decide some
    flagged 不满意, accept some cases (验收销号), progress reports and a leader's instruction."""
    supervisor = next(u for u in users.values() if u.has_role(Role.SUPERVISOR))
    dispatcher = next(u for u in users.values() if u.has_role(Role.DISPATCHER) and not u.has_role(Role.OPERATOR))

    def staff_of(unit_id):
        return next((u for u in users.values() if u.unit_id == unit_id and u.has_role(Role.UNIT_STAFF)), None)

    flagged = db.session.scalars(sa.select(Ticket).where(Ticket.state == TicketState.UNSATISFIED)
                                 .order_by(Ticket.id)).all()
    for t in flagged[: max(len(flagged) - 3, 0)][:2]:
        _act("confirm_unreasonable", t.id, supervisor, note="经核实，诉求超出政策规定，已向市民充分解释")
    cases = db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.state == SupervisionState.OPEN)
                               .order_by(SupervisionCase.id)).all()
    tickets = {t.id: t for t in db.session.scalars(sa.select(Ticket).where(
        Ticket.id.in_([c.ticket_id for c in cases])))}
    closed = [c for c in cases if tickets[c.ticket_id].state is TicketState.CLOSED]
    for c in closed[: (len(closed) + 1) // 2]:
        _act("accept_case", c.ticket_id, supervisor, target=c.id, note="经回访核实市民诉求已解决，同意销号")
    reopened = [c for c in cases if tickets[c.ticket_id].state is TicketState.REOPENED]
    for i, c in enumerate(reopened):
        staff = staff_of(c.unit_id)
        if staff is None:
            continue
        if i == 0:  # re-handled, reviewed, called back satisfied, then accepted (验收销号)
            t = tickets[c.ticket_id]
            _act("reply", t.id, staff, result="已组织专班彻底整改，经现场复查问题已解决。", contacted_citizen=True,
                      public_text="经整改，问题已解决。感谢您的监督。")
            _act("review", t.id, dispatcher, decision="accept")
            callback = next(u for u in users.values() if u.has_role(Role.CALLBACK_AGENT))
            _act("callback", t.id, callback, reached=True, resolution="resolved",
                                satisfaction="satisfied", citizen_words="这次彻底修好了")
            _act("accept_case", c.ticket_id, supervisor, target=c.id, note="经回访核实整改到位，验收销号")
        elif i == 1:
            _act("instruction", c.ticket_id, supervisor, target=c.id, text="请单位主要负责同志亲自研究，本周内拿出解决方案")
        else:
            _act("progress", c.ticket_id, staff, target=c.id, text="本周已约谈相关责任方，制定整改方案，预计下周完成整改。")


# --- routing rules and knowledge base ---------------------------------------------------
def _create_routing_and_knowledge(units: dict[str, Unit], categories: dict[str, Category], users) -> tuple[int, int]:
    """Routing rules from the issue templates (the unit each kind of request goes to;
    属地 requests per district) and knowledge-base answers from the consultation ones."""

    districts = [u for u in units.values() if u.kind is UnitKind.DISTRICT]
    admin = next((u for u in users.values() if u.has_role(Role.ADMIN)), None)
    seen, rules, articles = set(), 0, 0
    for issue in data.ISSUES:
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
            db.session.add(KnowledgeArticle(title=issue["title"].replace("咨询", "", 1), body=issue["answer"],
                                            keywords=cat.name, category_id=cat.id, active=True,
                                            updated_at=clock.now(), updated_by_id=admin.id if admin else None))
            articles += 1
    db.session.commit()
    return rules, articles


# --- organisation -----------------------------------------------------------------------
def _create_units() -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for code, name, kind, parent in data.UNITS:
        unit = Unit(code=code, name=name, kind=kind, level=data.LEVEL_OF_KIND[kind],
                    parent=units[parent] if parent else None, active=True)
        db.session.add(unit)
        units[code] = unit
    db.session.flush()
    for unit in units.values():  # data.UNITS lists parents first
        assign_path(unit)
    db.session.commit()
    return units


def _create_categories() -> dict[str, Category]:
    cats: dict[str, Category] = {}

    def add(code, name, parent, sort):
        full = f"{parent.full_name} › {name}" if parent else name
        cat = Category(code=code, name=name, full_name=full, parent=parent, active=True, sort=sort)
        db.session.add(cat)
        cats[code] = cat
        return cat

    for i, (code, name, children) in enumerate(data.CATEGORY_TREE):
        root = add(code, name, None, i)
        for j, (mcode, mname, leaves) in enumerate(children):
            mid = add(mcode, mname, root, j)
            for k, (lcode, lname) in enumerate(leaves):
                add(lcode, lname, mid, k)
    db.session.commit()
    return cats


def _create_users(units: dict[str, Unit]) -> dict[str, User]:
    users = {}
    for username, password, name, roles, unit_code in data.USERS:
        users[username] = create_user(username, password, roles, units[unit_code], name)
    return users


def login_rows() -> list[tuple[str, str, str, str, str]]:
    """(username, password, roles, unit, display name) of every demo login, in a fixed order."""
    names = {code: name for code, name, _, _ in data.UNITS}
    return [(u, p, "、".join(f"{r.value}（{r.label}）" for r in roles), names[unit], display)
            for u, p, display, roles, unit in data.USERS]


def logins_markdown() -> str:
    lines = ["| username | password | roles | unit | display name |", "|---|---|---|---|---|"]
    lines += [f"| `{u}` | `{p}` | {roles} | {unit} | {name} |" for u, p, roles, unit, name in login_rows()]
    return "\n".join(lines) + "\n"


def _write_logins_md(rows) -> None:
    text = ("<!-- Generated by hotline/demo/loader.py (flask --app wsgi demo load); edit data.py, not this file. -->\n"
            + logins_markdown())
    try:
        if not LOGINS_FILE.exists() or LOGINS_FILE.read_text(encoding="utf-8") != text:
            tmp = LOGINS_FILE.with_name(f".{LOGINS_FILE.name}.{os.getpid()}")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, LOGINS_FILE)  # atomic: parallel test workers never see half a file
    except OSError:  # a read-only install: the table was echoed anyway
        pass


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _text_table(header, rows) -> str:
    widths = [max(_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(r, widths)).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def _summary() -> str:
    by_state = dict(db.session.execute(sa.select(Ticket.state, sa.func.count()).group_by(Ticket.state)).all())
    total = sum(by_state.values())
    parts = "，".join(f"{s.label} {by_state[s]}" for s in TicketState if by_state.get(s))
    n_units = db.session.scalar(sa.select(sa.func.count(Unit.id)))
    n_users = db.session.scalar(sa.select(sa.func.count(User.id)))
    n_cats = db.session.scalar(sa.select(sa.func.count(Category.id)))
    return (f"演示数据已加载：单位 {n_units} 个，诉求分类 {n_cats} 个，用户 {n_users} 个，"
            f"工单 {total} 张" + (f"（{parts}）" if parts else ""))


# --- the world the stories run in -------------------------------------------------------
class _World:
    def __init__(self, units, categories, users, now):
        self.units = units
        self.categories = categories
        self.now = now
        self.parent = {code: parent for code, _, _, parent in data.UNITS}
        self.staff: dict[str, User] = {}
        for username, _, _, roles, unit_code in data.USERS:
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


# --- planning ---------------------------------------------------------------------------
def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, [weights[k] for k in keys])[0]


def _plan_cases(world: _World, rng: random.Random, n: int) -> list[Case]:
    recipes = list(RECIPES[:n])  # one of each first, so every state and twist appears
    if n > len(recipes):
        recipes += rng.choices(RECIPES, [r.weight for r in RECIPES], k=n - len(recipes))
    unused_types = list(RequestType)
    unused_urgencies = [Urgency.URGENT, Urgency.CRITICAL]
    unused_channels = [c for c in Channel if c is not Channel.PHONE]
    phones: list[str] = []
    cases = []
    for recipe in recipes:
        case = Case(recipe=recipe)
        _choose_matter(world, rng, case, unused_types, unused_urgencies)
        case.channel = unused_channels.pop(0) if unused_channels and rng.random() < 0.5 else _weighted(
            rng, CHANNEL_WEIGHTS)
        _fit(world, rng, case)
        case.draft = _draft(world, rng, case, phones)
        cases.append(case)
    return cases


def _compatible(issue: dict, r: Recipe) -> bool:
    if r.target == "answered":
        return bool(issue.get("answer"))
    if r.hand_down and issue["unit"] != "@district":
        return False
    if r.cos and not _co_options(issue):
        return False
    if r.extension and "normal" not in issue["urg"]:
        return False
    return True


def _co_options(issue: dict) -> list[str]:
    return [c for c in issue.get("co", ()) if c != "@district" or issue.get("place", True)]


def _choose_matter(world: _World, rng: random.Random, case: Case, unused_types, unused_urgencies) -> None:
    r = case.recipe
    if r.target in ("invalid", "merged"):
        case.request_type = RequestType.OTHER
        return
    pool = [i for i in data.ISSUES if _compatible(i, r)]
    preferred = [i for i in pool if set(i["types"]) & {t.value for t in unused_types}]
    issue = rng.choice(preferred or pool)
    case.issue = issue
    types = [RequestType(t) for t in issue["types"]]
    fresh = [t for t in types if t in unused_types]
    if r.target == "answered":
        case.request_type = RequestType.CONSULTATION
    elif fresh:
        case.request_type = fresh[0]
    else:
        case.request_type = types[0] if rng.random() < 0.7 else rng.choice(types)
    if case.request_type in unused_types:
        unused_types.remove(case.request_type)
    urgencies = [Urgency(u) for u in issue["urg"]]
    if r.target == "answered" or r.extension:
        urgencies = [Urgency.NORMAL]
    fresh_u = [u for u in urgencies if u in unused_urgencies]
    if fresh_u:
        case.urgency = fresh_u[0]
        unused_urgencies.remove(case.urgency)
    else:
        case.urgency = _weighted(rng, {u: URGENCY_WEIGHTS[u] for u in urgencies})

    if r.extras and issue["unit"] == "@district" and rng.random() < 0.25:
        case.recipe = _with(r, hand_down=1 if rng.random() < 0.7 else 2)
        r = case.recipe

    # where it happened and who handles it
    if issue.get("place", True):
        places = [(street, xq, community) for street, (_, compounds) in data.PLACES.items()
                  for xq, community in compounds]
        if r.hand_down > 1:  # handed down to a community: one whose staff can log in and see it
            places = [p for p in places if p[2] in world.staff]
        street, xq, community = rng.choice(places)
        roads = data.PLACES[street][0]
        road = rng.choice(roads)
        case.street, case.community, case.district = street, community, world.parent[street]
        case.place = dict(xq=xq, road=road, road2=rng.choice([x for x in roads if x != road] + ["江城大道"]))
    case.lead = case.district if issue["unit"] == "@district" else issue["unit"]
    want_cos = r.cos or (r.extras and _co_options(issue) and rng.random() < 0.25)
    if want_cos:
        options = [case.district if c == "@district" else c for c in _co_options(issue)]
        options = [c for c in dict.fromkeys(options) if c and c != case.lead]
        if options:
            k = 2 if len(options) > 1 and rng.random() < 0.3 else 1
            case.cos = rng.sample(options, k)
    if r.extras:
        roll = rng.random()
        if roll < 0.08:
            case.recipe = _with(case.recipe, late=True)
        elif roll < 0.13:
            case.recipe = _with(case.recipe, review_reject=True)
        elif roll < 0.25:
            case.recipe = _with(case.recipe, fails=1)
    if r.misroute == "redispatch":
        if case.lead in ("DC", "JN"):
            case.wrong = "JN" if case.lead == "DC" else "DC"
            case.return_reason = ReturnReason.WRONG_AREA
        else:
            others = [c for c, _, kind, _ in data.UNITS
                      if c not in (case.lead, *case.cos) and kind in (UnitKind.DEPARTMENT, UnitKind.ENTERPRISE)]
            case.wrong = rng.choice(others)
            case.return_reason = ReturnReason.NOT_OUR_DUTY
    elif r.misroute == "overrule":
        case.return_reason = rng.choice([ReturnReason.UNCLEAR_OWNERSHIP, ReturnReason.NOT_OUR_DUTY])


def _with(recipe: Recipe, **changes) -> Recipe:
    return replace(recipe, **changes)


def _fit(world: _World, rng: random.Random, case: Case) -> None:
    """Plan the story from a start time such that it ends before now."""
    latest = world.now - MARGIN
    lo, hi = case.recipe.age
    start = world.now - timedelta(days=rng.uniform(lo, hi))
    if start.hour < 7 and rng.random() < 0.85:  # most calls come in by day
        start = start.replace(hour=rng.randint(8, 20))
    start = start.replace(microsecond=0)
    for _ in range(40):
        steps = _Planner(world, rng, case, start).plan()
        end = steps[-1][0]
        if end <= latest:
            case.steps = steps
            return
        start = (start - (end - latest) - timedelta(minutes=rng.uniform(10, 240))).replace(microsecond=0)
    raise RuntimeError(f"could not fit the story {case.recipe.name} before now")


class _Planner:
    """Lays out one ticket's steps as (time, action, arguments)."""

    def __init__(self, world: _World, rng: random.Random, case: Case, start: datetime):
        self.world, self.rng, self.case, self.t = world, rng, case, start
        self.fast = case.urgency is not Urgency.NORMAL
        self.steps: list[tuple[datetime, str, dict]] = []

    # time helpers
    def add(self, action: str, **kw) -> None:
        self.steps.append((self.t, action, kw))

    def _tidy(self, t: datetime, snap: bool) -> datetime:
        t = t.replace(microsecond=0)
        if snap:
            if t.hour < 8:
                t = t.replace(hour=8, minute=self.rng.randrange(60), second=self.rng.randrange(60))
            elif t.hour >= 21:
                t = (t + timedelta(days=1)).replace(hour=8, minute=self.rng.randrange(60),
                                                    second=self.rng.randrange(60))
        return t

    def wait(self, lo: float, hi: float, snap: bool | None = None) -> None:
        """Let lo..hi minutes pass (moved into the day for ordinary work)."""
        snap = (not self.fast) if snap is None else snap
        self.t = self._tidy(self.t + timedelta(minutes=self.rng.uniform(lo, hi)), snap)

    def within(self, deadline: datetime, a: float, b: float) -> None:
        """Move to a point between a and b of the way to `deadline`, surely before it."""
        span = (deadline - self.t).total_seconds()
        if span <= 120:
            raise RuntimeError("planned a step after its deadline")
        cand = self._tidy(self.t + timedelta(seconds=span * self.rng.uniform(a, b)), not self.fast)
        if cand >= deadline - timedelta(minutes=1):
            cand = (self.t + timedelta(seconds=span * self.rng.uniform(a, b))).replace(microsecond=0)
        self.t = max(cand, self.t + timedelta(seconds=30))

    def past(self, deadline: datetime, lo: float, hi: float) -> None:
        """Move to lo..hi minutes after `deadline` (a late action)."""
        self.t = self._tidy(max(self.t, deadline) + timedelta(minutes=self.rng.uniform(lo, hi)), not self.fast)

    def hand_down(self, before: datetime | None) -> str:
        """下派 to the street (and on to the community); returns the unit now handling it."""
        c = self.case
        chain = [(c.lead, c.street)] + ([(c.street, c.community)] if c.recipe.hand_down > 1 else [])
        for actor, sub in chain:
            if before is not None and before > self.t + timedelta(minutes=10):
                self.within(before, 0.02, 0.2)
            else:
                self.wait(5, 30) if self.fast else self.wait(10, 180)
            self.add("hand_down", actor=actor, sub=sub)
        return chain[-1][1]

    def due(self, which: DeadlineClock, start: datetime) -> datetime:
        return due_for(which, self.case.request_type, self.case.urgency, start).at

    # the story
    def plan(self) -> list:
        c, r, rng = self.case, self.case.recipe, self.rng
        self.add("record")
        if r.target == "answered":
            self.wait(2, 9, snap=False)
            self.add("answer")
            return self.steps
        if r.target in ("invalid", "merged"):
            self.wait(3, 120, snap=True)
            self.add("invalid" if r.target == "invalid" else "merge")
            return self.steps
        if r.target == "pending":
            return self.steps
        self.wait(2, 12) if self.fast else self.wait(5, 150, snap=True)
        signed = False
        if r.misroute:
            first = c.wrong if r.misroute == "redispatch" else c.lead
            self.add("dispatch", lead=first, cos=[] if r.misroute == "redispatch" else c.cos)
            d0 = self.t
            ret_due, sign_due = self.due(DeadlineClock.RETURN, d0), self.due(DeadlineClock.SIGN, d0)
            if rng.random() < 0.5:
                self.within(min(ret_due, sign_due), 0.05, 0.4)
                self.add("sign", unit=first)
                signed = True
            self.within(ret_due, 0.1, 0.8)
            self.add("return", unit=first)
            if r.target == "returned":
                return self.steps
            self.wait(10, 30) if self.fast else self.wait(20, 240, snap=True)
            if r.misroute == "redispatch":
                self.add("redispatch", lead=c.lead, cos=c.cos)
                d0, signed = self.t, False
            else:
                self.add("overrule")
        else:
            self.add("dispatch", lead=c.lead, cos=c.cos)
            d0 = self.t
        if r.target == "dispatched":
            return self.steps
        sign_due, handle_due = self.due(DeadlineClock.SIGN, d0), self.due(DeadlineClock.HANDLE, d0)
        handler = c.lead
        # a unit may hand a ticket down before signing; the sub-unit then signs for it
        early = bool(r.hand_down) and not signed and rng.random() < 0.4
        if early:
            handler = self.hand_down(sign_due)
        if not signed:
            if r.late and rng.random() < 0.5 or sign_due <= self.t + timedelta(minutes=3):
                self.past(sign_due, 10, 300 if not self.fast else 40)
            else:
                self.within(sign_due, 0.05, 0.6)
            self.add("sign", unit=handler)
        for co in c.cos:
            self.wait(3, 30) if self.fast else self.wait(5, 240)
            self.add("sign", unit=co)
        if r.hand_down and not early:
            handler = self.hand_down(None)
        if r.extension:
            self.within(handle_due, 0.2, 0.7)
            wanted = calendar().add(handle_due, rng.randint(3, 8), LimitUnit.WORKING_DAYS).at
            self.add("request_extension", actor=handler, due=wanted)
            if r.extension == "pending" and r.target == "signed":
                return self.steps
            self.within(handle_due, 0.1, 0.5)
            if r.extension == "approved":
                self.add("approve_extension")
                handle_due = wanted
            else:
                self.add("refuse_extension")
        if r.target == "signed" and not r.review_reject:
            return self.steps
        for co in c.cos:
            if handle_due > self.t + timedelta(minutes=10):
                self.within(handle_due, 0.1, 0.5)
            else:
                self.wait(30, 600)
            self.add("reply", actor=co, co=True)
        if r.late:
            self.past(handle_due, 60 if not self.fast else 10, 60 * 72 if not self.fast else 300)
        elif handle_due > self.t + timedelta(minutes=10):
            self.within(handle_due, 0.2, 0.9)
        else:
            self.wait(30, 300)
        self.add("reply", actor=handler)
        if r.review_reject:
            self.wait(20, 60 * 8, snap=True)
            self.add("review", accept=False)
            if r.target == "signed":
                return self.steps
            self.wait(60 * 2, 60 * 48)
            self.add("reply", actor=handler, again=True)
        if r.target == "replied":
            return self.steps
        self.wait(20, 60 * 20, snap=True)
        self.add("review", accept=True)
        for n in range(r.reopen):
            self.wait(30, 60 * 20, snap=True)
            self.add("callback", reached=True, satisfaction=Satisfaction.UNSATISFIED)
            self.wait(20, 60 * 24, snap=True)
            self.add("reopen")
            if r.target == "reopened" and n == r.reopen - 1:
                return self.steps
            self.within(self.due(DeadlineClock.HANDLE, self.t), 0.2, 0.9)
            self.add("reply", actor=handler, second_round=True)
            self.wait(20, 60 * 20, snap=True)
            self.add("review", accept=True)
        fails = r.fails if r.target != "reviewed" or not r.fails else rng.randint(1, r.fails)
        for _ in range(fails):
            self.wait(30, 60 * 6, snap=True)
            self.add("callback", reached=False)
        if r.target == "reviewed":
            return self.steps
        if r.target == "unsatisfied":
            self.wait(30, 60 * 20, snap=True)
            self.add("callback", reached=True, satisfaction=Satisfaction.UNSATISFIED)
            return self.steps
        if r.target == "unreachable":
            for _ in range(MAX_FAILED_CALLBACKS - fails):
                self.wait(60, 60 * 20, snap=True)
                self.add("callback", reached=False)
            self.wait(1, 15, snap=False)
            self.add("unreachable")
            return self.steps
        self.wait(30, 60 * 20, snap=True)
        sat = Satisfaction.SATISFIED if rng.random() < 0.75 else Satisfaction.BASICALLY
        self.add("callback", reached=True, satisfaction=sat)
        return self.steps


# --- what the citizen said ---------------------------------------------------------------
def _person(rng: random.Random) -> str:
    surname = rng.choice(data.SURNAMES)
    roll = rng.random()
    if roll < 0.5:
        return surname + rng.choice(["先生", "女士"])
    return surname + rng.choice(data.GIVEN)


def _phone(rng: random.Random, phones: list[str]) -> str:
    if phones and rng.random() < 0.12:  # a caller who has called before
        return rng.choice(phones)
    phone = "1" + rng.choice(["38", "39", "58", "59", "86", "87", "35", "36", "50", "51", "88", "77", "99"]) + \
        "".join(rng.choice("0123456789") for _ in range(8))
    phones.append(phone)
    return phone


def _draft(world: _World, rng: random.Random, case: Case, phones: list[str]) -> dict:
    if case.recipe.target in ("invalid", "merged"):
        title, content, _ = rng.choice(data.INVALID_CALLS)
        return dict(channel=case.channel.value, request_type=RequestType.OTHER.value,
                    category_id=world.categories["QT-QT"].id, urgency=Urgency.NORMAL.value,
                    caller_name=_person(rng), caller_phone=_phone(rng, phones), confidential=False,
                    address="", district_id=None, title=title, content=content)
    issue = case.issue
    day = case.start - timedelta(days=rng.randint(0, 2))
    values = dict(
        xq=case.place.get("xq", ""), road=case.place.get("road", ""), road2=case.place.get("road2", ""),
        street=world.short(case.street) if case.street else "东华街道",
        days=rng.randint(2, 10), shop=rng.choice(data.SHOPS), training=rng.choice(data.TRAINING),
        builder=rng.choice(data.BUILDERS), developer=rng.choice(data.DEVELOPERS), factory=rng.choice(data.FACTORIES),
        money=rng.choice([800, 1500, 2680, 3000, 4500, 6800, 12000, 23500]), bill=rng.randint(380, 1260),
        line=rng.randint(1, 128),
        tail=f"{rng.randint(0, 9999):04d}", hospital=rng.choice(data.HOSPITALS), school=rng.choice(data.SCHOOLS),
        date=f"{day.month}月{day.day}日", months=rng.randint(2, 5),
    )
    address = ""
    if issue.get("place", True):
        prefix = world.short(case.district) + world.short(case.street)
        xq = case.place["xq"]
        if xq.endswith("组"):
            values["addr"] = f"{prefix}{xq}{rng.randint(1, 60)}号"
        else:
            values["addr"] = f"{prefix}{xq}{rng.randint(1, 24)}栋{rng.randint(1, 4)}单元"
        text = issue["title"] + issue["content"]
        address = values["addr"] if ("{addr}" in text or "{xq}" in text) else \
            f"{world.short(case.district)}{case.place['road']}{rng.randint(1, 300)}号"
    confidential = rng.random() < issue.get("confidential", 0.03)
    name = _person(rng)
    if case.channel is Channel.LETTER and rng.random() < 0.5:
        name = ""
    return dict(
        channel=case.channel.value, request_type=case.request_type.value,
        category_id=world.categories[issue["cat"]].id, urgency=case.urgency.value,
        caller_name=name, caller_phone=_phone(rng, phones), confidential=confidential,
        address=address, district_id=world.uid(case.district) if case.district else None,
        title=issue["title"].format(**values), content=issue["content"].format(**values),
    )


# --- playing the stories through the services -------------------------------------------
class _Player:
    def __init__(self, world: _World, rng: random.Random):
        self.world, self.rng = world, rng
        u = world.users
        self.operators = [u["operator"], u["operator"], u["shiftlead"]]
        self.dispatcher, self.callback = u["dispatcher"], u["callback"]
        self.supervisor = u["supervisor"]
        self.played: list[tuple[Case, int, datetime]] = []

    def play(self, case: Case) -> None:
        ctx: dict = {}
        for at, action, kw in case.steps:
            clock.set(at)
            getattr(self, "_" + action)(case, ctx, **kw)
        self.played.append((case, ctx["id"], case.start))

    # intake
    def _record(self, case, ctx):
        draft = dict(case.draft)
        if case.recipe.target == "merged":
            master = self._master(case)
            if master is not None:
                m = db.session.get(Ticket, master)
                draft.update(request_type=m.request_type.value, category_id=m.category_id,
                             urgency=m.urgency.value, address=m.address, district_id=m.district_id,
                             title=m.title, content=m.content)
                ctx["master"] = master
        # the story dispatches by hand, so routing rules never dispatch on intake here
        with unit_of_work():
            ticket = record_ticket(self.rng.choice(self.operators), draft, auto_dispatch=False)
        ctx["id"] = ticket.id

    def _master(self, case) -> int | None:
        since = case.start - timedelta(days=6)
        options = [tid for c, tid, at in self.played
                   if since <= at < case.start and c.recipe.target not in ("answered", "invalid", "merged")
                   and not c.draft["confidential"]]
        return self.rng.choice(options) if options else None

    def _answer(self, case, ctx):
        _act("answer", ctx["id"], self.world.users["operator"], answer=case.issue["answer"])

    def _invalid(self, case, ctx):
        note = next((r for t, _, r in data.INVALID_CALLS if t == case.draft["title"]), "诉求不明确，无法受理")
        _act("close", ctx["id"], self.dispatcher, note=note)

    def _merge(self, case, ctx):
        if "master" not in ctx:  # nothing to merge into: the duplicate is closed as invalid
            _act("close", ctx["id"], self.dispatcher, note="重复来电，诉求无法核实")
            return
        number = db.session.get(Ticket, ctx["master"]).number
        _act("merge", ctx["id"], self.dispatcher, into_ticket_id=ctx["master"], note=data.MERGE_NOTE.format(number=number))

    # dispatch and returns
    def _dispatch(self, case, ctx, lead, cos):
        note = data.DISPATCH_NOTES_URGENT if case.urgency is not Urgency.NORMAL else ""
        _act("dispatch", ctx["id"], self.dispatcher, lead_unit_id=self.world.uid(lead),
             co_unit_ids=[self.world.uid(c) for c in cos], note=note)

    def _sign(self, case, ctx, unit):
        _act("sign", ctx["id"], self.world.staff_of(unit))

    def _return(self, case, ctx, unit):
        reason = case.return_reason
        text = data.RETURN_TEXTS[reason.value]
        if case.recipe.misroute == "redispatch" and case.wrong not in ("DC", "JN"):
            text += f"建议改派{self.world.units[case.lead].name}。"
        ret = _act("return", ctx["id"], self.world.staff_of(unit), reason=reason, reason_text=text)
        ctx["return_id"] = ret.id

    def _redispatch(self, case, ctx, lead, cos):
        note = data.REDISPATCH_NOTE.format(unit=self.world.units[lead].name)
        _act("redispatch", ctx["id"], self.dispatcher, target=ctx["return_id"], lead_unit_id=self.world.uid(lead),
             co_unit_ids=[self.world.uid(c) for c in cos], note=note)

    def _overrule(self, case, ctx):
        _act("overrule", ctx["id"], self.dispatcher, target=ctx["return_id"], note=self.rng.choice(data.OVERRULE_NOTES))

    # handling
    def _hand_down(self, case, ctx, actor, sub):
        _act("hand_down", ctx["id"], self.world.staff_of(actor), sub_unit_id=self.world.uid(sub),
             note=self.rng.choice(data.HAND_DOWN_NOTES))

    def _request_extension(self, case, ctx, actor, due):
        req = _act("extension", ctx["id"], self.world.staff_of(actor), requested_due_at=due,
                   reason=self.rng.choice(data.EXTENSION_REASONS))
        ctx["extension_id"] = req.id

    def _approve_extension(self, case, ctx):
        _act("decide_extension", ctx["id"], self.dispatcher, target=ctx["extension_id"], decision="approve",
             note=data.APPROVE_NOTE)

    def _refuse_extension(self, case, ctx):
        _act("decide_extension", ctx["id"], self.dispatcher, target=ctx["extension_id"], decision="refuse",
             note=self.rng.choice(data.REFUSE_NOTES))

    def _reply(self, case, ctx, actor, co=False, again=False, second_round=False):
        issue, now = case.issue, clock.now()
        if issue.get("answer"):
            result = data.CONSULT_REPLY.format(answer=issue["answer"])
            action = "电话解答政策"
        else:
            action = issue["action"]
            result = self.rng.choice(data.REPLY_TEMPLATES).format(
                title=db.session.get(Ticket, ctx["id"]).title, date=f"{now.month}月{now.day}日", action=action)
        if co:
            lead = self.world.units[case.lead].name
            result = f"我单位作为协办单位，配合{lead}开展工作：{action}。"
        elif second_round:
            result = data.SECOND_ROUND_REPLY.format(action=action)
        elif again:
            result = data.SECOND_REPLY_PREFIX + result + "已与来电人当面沟通，并明确后续跟踪措施。"
        _act("reply", ctx["id"], self.world.staff_of(actor), result=result, actions_taken=action,
             contacted_citizen=not co, contact_note="已电话联系来电人告知办理情况" if not co else "")

    def _review(self, case, ctx, accept):
        note = "" if accept else self.rng.choice(data.REVIEW_REJECT_NOTES)
        _act("review", ctx["id"], self.dispatcher, decision="accept" if accept else "reject", note=note)

    # callback and after
    def _callback(self, case, ctx, reached, satisfaction=None):
        if not reached:
            _act("callback", ctx["id"], self.callback, reached=False, note=self.rng.choice(data.CALLBACK_FAIL_NOTES))
            return
        if satisfaction is Satisfaction.UNSATISFIED:
            words = self.rng.choice(data.UNSATISFIED_WORDS)
            resolution = self.rng.choice([Resolution.UNRESOLVED, Resolution.PARTLY])
            ctx["unsatisfied_words"] = words
        else:
            words = self.rng.choice(data.SATISFIED_WORDS)
            resolution = Resolution.RESOLVED if satisfaction is Satisfaction.SATISFIED else Resolution.PARTLY
        # A reasonable 不满意 reopens at once; an unreasonable one waits for the supervisor.
        # Tickets that stop at 回访不满意 are the flagged ones; others mix both paths.
        reasonable = True
        if satisfaction is Satisfaction.UNSATISFIED:
            reasonable = case.recipe.target != "unsatisfied" and self.rng.random() < 0.5
            ctx["auto_reopened"] = reasonable
        _act("callback", ctx["id"], self.callback, reached=True, resolution=resolution, satisfaction=satisfaction,
             citizen_words=words, request_reasonable=reasonable)

    def _reopen(self, case, ctx):
        if ctx.pop("auto_reopened", False):
            return  # already reopened by the callback itself
        note = data.REOPEN_NOTE.format(words=ctx.get("unsatisfied_words", "问题未解决"))
        _act("reopen", ctx["id"], self.supervisor, note=note)

    def _unreachable(self, case, ctx):
        _act("close_unreachable", ctx["id"], self.callback, note="三次回访均未联系上来电人，按未联系上办结")
