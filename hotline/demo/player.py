"""Playing the stories: each planned step becomes one lifecycle action, performed through
the registry (hotline.lifecycle.perform) with the clock set to the step's time, in its
own unit of work, as a page request would."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from hotline import stages  # noqa: F401  (registers every lifecycle action)
from hotline.auth.models import User
from hotline.clock import clock
from hotline.demo import texts
from hotline.demo.recipes import Case
from hotline.demo.world import World
from hotline.enums import Resolution, Satisfaction, TicketState, Urgency
from hotline.extensions import db
from hotline.intake.operations import record_ticket
from hotline.lifecycle import perform, unit_of_work
from hotline.tickets.models import Ticket


def act(key: str, ticket_id: int, actor: User, *, target=None, **data):
    """One lifecycle action on a ticket, as its current version, committed on its own."""
    with unit_of_work():
        return perform(key, ticket_id, actor, db.session.get(Ticket, ticket_id).version, target=target, **data)


class Player:
    """Plays planned cases as the demo's staff: one method per kind of step."""

    def __init__(self, world: World, rng: random.Random):
        self.world, self.rng = world, rng
        u = world.users
        self.operators = [u["operator"], u["operator"], u["shiftlead"]]
        self.dispatcher, self.callback = u["dispatcher"], u["callback"]
        self.supervisor = u["supervisor"]
        self.leader = u["leader"]
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
        act("answer", ctx["id"], self.world.users["operator"], answer=case.issue["answer"])

    def _invalid(self, case, ctx):
        note = next((r for t, _, r in texts.INVALID_CALLS if t == case.draft["title"]), "诉求不明确，无法受理")
        act("close", ctx["id"], self.dispatcher, note=note)

    def _merge(self, case, ctx):
        if "master" not in ctx:  # nothing to merge into: the duplicate is closed as invalid
            act("close", ctx["id"], self.dispatcher, note="重复来电，诉求无法核实")
            return
        number = db.session.get(Ticket, ctx["master"]).number
        act("merge", ctx["id"], self.dispatcher, into_ticket_id=ctx["master"], note=texts.MERGE_NOTE.format(number=number))

    # dispatch and returns
    def _dispatch(self, case, ctx, lead, cos):
        note = texts.DISPATCH_NOTES_URGENT if case.urgency is not Urgency.NORMAL else ""
        act("dispatch", ctx["id"], self.dispatcher, lead_unit_id=self.world.uid(lead),
             co_unit_ids=[self.world.uid(c) for c in cos], note=note)

    def _sign(self, case, ctx, unit):
        act("sign", ctx["id"], self.world.staff_of(unit))

    def _return(self, case, ctx, unit):
        reason = case.return_reason
        text = texts.RETURN_TEXTS[reason.value]
        if case.recipe.misroute == "redispatch" and case.wrong not in ("DC", "JN"):
            text += f"建议改派{self.world.units[case.lead].name}。"
        ret = act("return", ctx["id"], self.world.staff_of(unit), reason=reason, reason_text=text)
        ctx["return_id"] = ret.id

    def _redispatch(self, case, ctx, lead, cos):
        note = texts.REDISPATCH_NOTE.format(unit=self.world.units[lead].name)
        act("redispatch", ctx["id"], self.dispatcher, target=ctx["return_id"], lead_unit_id=self.world.uid(lead),
             co_unit_ids=[self.world.uid(c) for c in cos], note=note)

    def _overrule(self, case, ctx):
        act("overrule", ctx["id"], self.dispatcher, target=ctx["return_id"], note=self.rng.choice(texts.OVERRULE_NOTES))

    # handling
    def _hand_down(self, case, ctx, actor, sub):
        act("hand_down", ctx["id"], self.world.staff_of(actor), sub_unit_id=self.world.uid(sub),
             note=self.rng.choice(texts.HAND_DOWN_NOTES))

    def _request_extension(self, case, ctx, actor, due):
        req = act("extension", ctx["id"], self.world.staff_of(actor), requested_due_at=due,
                   reason=self.rng.choice(texts.EXTENSION_REASONS))
        ctx["extension_id"] = req.id

    def _approve_extension(self, case, ctx):
        act("decide_extension", ctx["id"], self.dispatcher, target=ctx["extension_id"], decision="approve",
             note=texts.APPROVE_NOTE)

    def _refuse_extension(self, case, ctx):
        act("decide_extension", ctx["id"], self.dispatcher, target=ctx["extension_id"], decision="refuse",
             note=self.rng.choice(texts.REFUSE_NOTES))

    def _reply(self, case, ctx, actor, co=False, again=False, second_round=False):
        issue, now = case.issue, clock.now()
        if issue.get("answer"):
            result = texts.CONSULT_REPLY.format(answer=issue["answer"])
            action = "电话解答政策"
        else:
            action = issue["action"]
            result = self.rng.choice(texts.REPLY_TEMPLATES).format(
                title=db.session.get(Ticket, ctx["id"]).title, date=f"{now.month}月{now.day}日", action=action)
        if co:
            lead = self.world.units[case.lead].name
            result = f"我单位作为协办单位，配合{lead}开展工作：{action}。"
        elif second_round:
            result = texts.SECOND_ROUND_REPLY.format(action=action)
        elif again:
            result = texts.SECOND_REPLY_PREFIX + result + "已与来电人当面沟通，并明确后续跟踪措施。"
        act("reply", ctx["id"], self.world.staff_of(actor), result=result, actions_taken=action,
             contacted_citizen=not co, contact_note="已电话联系来电人告知办理情况" if not co else "")

    def _review(self, case, ctx, accept):
        note = "" if accept else self.rng.choice(texts.REVIEW_REJECT_NOTES)
        act("review", ctx["id"], self.dispatcher, decision="accept" if accept else "reject", note=note)
        if accept and db.session.get(Ticket, ctx["id"]).state is TicketState.PENDING_SIGNOFF:
            act("signoff_approve", ctx["id"], self.leader, words="整改结果属实，同意回访核实")  # 领导签批

    # callback and after
    def _callback(self, case, ctx, reached, satisfaction=None):
        if not reached:
            act("callback", ctx["id"], self.callback, reached=False, note=self.rng.choice(texts.CALLBACK_FAIL_NOTES))
            return
        if satisfaction is Satisfaction.UNSATISFIED:
            words = self.rng.choice(texts.UNSATISFIED_WORDS)
            resolution = self.rng.choice([Resolution.UNRESOLVED, Resolution.PARTLY])
            ctx["unsatisfied_words"] = words
        else:
            words = self.rng.choice(texts.SATISFIED_WORDS)
            resolution = Resolution.RESOLVED if satisfaction is Satisfaction.SATISFIED else Resolution.PARTLY
        # A reasonable 不满意 reopens at once; an unreasonable one waits for the supervisor.
        # Tickets that stop at 回访不满意 are the flagged ones; others mix both paths.
        reasonable = True
        if satisfaction is Satisfaction.UNSATISFIED:
            reasonable = case.recipe.target != "unsatisfied" and self.rng.random() < 0.5
            ctx["auto_reopened"] = reasonable
        act("callback", ctx["id"], self.callback, reached=True, resolution=resolution, satisfaction=satisfaction,
             citizen_words=words, request_reasonable=reasonable)

    def _reopen(self, case, ctx):
        if ctx.pop("auto_reopened", False):
            return  # already reopened by the callback itself
        note = texts.REOPEN_NOTE.format(words=ctx.get("unsatisfied_words", "问题未解决"))
        act("reopen", ctx["id"], self.supervisor, note=note)

    def _unreachable(self, case, ctx):
        act("close_unreachable", ctx["id"], self.callback, note="三次回访均未联系上来电人，按未联系上办结")
