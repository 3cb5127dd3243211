"""Planning one ticket's story: its steps as (time, action, arguments), with absolute
times computed from the same deadline functions the lifecycle uses, placed so that the
whole story ends before the real "now"."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from hotline.callbacks.operations import MAX_FAILED_CALLBACKS
from hotline.deadlines.services import calendar, due_for
from hotline.demo.recipes import Case
from hotline.demo.world import World
from hotline.enums import DeadlineClock, LimitUnit, Satisfaction, Urgency

MARGIN = timedelta(minutes=3)  # the last step of every story happens at least this long before now


def fit(world: World, rng: random.Random, case: Case) -> None:
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

    def __init__(self, world: World, rng: random.Random, case: Case, start: datetime):
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
