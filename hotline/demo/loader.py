"""`flask demo load`: a small realistic city with users of every role and tickets in
every state.

Every ticket is driven through the real lifecycle (the action registry), with the clock
moved between the steps, so its history, deadlines and overdue flags are exactly what
real use would have produced. The parts:

- hotline.demo.world: the city (units, categories, users, routing rules, knowledge base);
- hotline.demo.recipes: what each ticket's story should be (its end state and twists);
- hotline.demo.cases and .planner: the cases chosen for the recipes, and each story's
  steps planned with absolute times from the same deadline functions the lifecycle uses,
  placed so that the whole story ends before the real "now";
- hotline.demo.player: the steps played in order of intake time (so ticket numbers run
  in date order), one unit of work per action;
- hotline.demo.supervision: the supervisors' decisions, played at the real now;
- hotline.demo.logins: the login table echoed and kept in LOGINS.md.
"""
from __future__ import annotations

import random

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.categories.models import Category
from hotline.clock import clock
from hotline.deadlines.services import seed_default_policy
from hotline.demo.cases import plan_cases
from hotline.demo.logins import login_rows, text_table, write_logins_md
from hotline.demo.player import Player
from hotline.demo.process import process_stories
from hotline.demo.supervision import supervision_stories
from hotline.demo.world import World, create_categories, create_routing_and_knowledge, create_units, create_users
from hotline.enums import TicketState
from hotline.extensions import db
from hotline.lifecycle import unit_of_work
from hotline.scheduler.jobs import callback_due, deadline_watch, escalation
from hotline.tickets.models import Ticket
from hotline.units.models import Unit

ALREADY_LOADED = "演示数据已存在，跳过"


def load_demo(tickets: int = 200, seed: int = 12345, echo=print) -> str:
    """Create the demo city, its users and `tickets` tickets; return a one-line summary.

    Refuses (returns a message, changes nothing) when the database already has units.
    """
    if db.session.scalar(sa.select(sa.func.count(Unit.id))):
        return ALREADY_LOADED
    clock.reset()
    now = clock.now()
    try:
        with unit_of_work():  # the city is stored whole, or not at all
            seed_default_policy()
            units = create_units()
            categories = create_categories()
            users = create_users(units)
            rules, articles = create_routing_and_knowledge(units, categories, users)
        echo(f"已创建 {len(units)} 个单位、{len(categories)} 个诉求分类")
        echo(f"已创建 {len(users)} 个用户")
        echo(f"已创建 {rules} 条派单规则、{articles} 条知识库答复")
        world = World(units, categories, users, now)
        cases = plan_cases(world, random.Random(seed), max(int(tickets), 0))
        player = Player(world, random.Random(seed + 1))
        for i, case in enumerate(sorted(cases, key=lambda c: c.start), 1):
            player.play(case)
            if i % 50 == 0:
                echo(f"已生成 {i} / {len(cases)} 张工单")
    finally:
        clock.reset()
    supervision_stories(users)
    process_stories(users)
    # What the scheduler would have recorded by now (预警, 催办, 超期, 升级, 回访超期).
    for job in (deadline_watch, escalation, callback_due):
        with unit_of_work():
            job()
    rows = login_rows()
    echo(text_table(["用户名", "密码", "角色", "单位", "姓名"],
                     [[r[0], r[1], r[2], r[3], r[4]] for r in rows]))
    write_logins_md(rows)
    return _summary()


def _summary() -> str:
    by_state = dict(db.session.execute(sa.select(Ticket.state, sa.func.count()).group_by(Ticket.state)).all())
    total = sum(by_state.values())
    parts = "，".join(f"{s.label} {by_state[s]}" for s in TicketState if by_state.get(s))
    n_units = db.session.scalar(sa.select(sa.func.count(Unit.id)))
    n_users = db.session.scalar(sa.select(sa.func.count(User.id)))
    n_cats = db.session.scalar(sa.select(sa.func.count(Category.id)))
    return (f"演示数据已加载：单位 {n_units} 个，诉求分类 {n_cats} 个，用户 {n_users} 个，"
            f"工单 {total} 张" + (f"（{parts}）" if parts else ""))
