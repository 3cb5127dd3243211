"""One story through the National Day week 2026-W41, every figure of its weekly report
counted by hand.

The week: Mon 5 Oct 00:00 to Mon 12 Oct 00:00. 5, 6 and 7 Oct are National Day holidays,
Thu 8 and Fri 9 Oct are working days and Sat 10 Oct is a make-up working day (调休); Sun
11 Oct is off. Working hours 09:00-18:00 (540 minutes a day). Normal urgency throughout:
sign within 1 working day, return within 2, handle a consultation (咨询) within 3 and a
help request (求助) within 5; a co-unit's handle deadline is 1 working day before the
lead's.

Units: 东城区人民政府 (the district) with 东华街道办事处 (the street) below it,
市住房和城乡建设局 (housing), 市自来水公司 (water), 西城区人民政府 (the other district).

The tickets (W40 is the week before, W42 and W43 the weeks after):

  A  district: dispatched in W40, replied and reviewed in W40; 不满意 on Thu 8 Oct
     reopens it under a supervision case; re-replied, signed off and closed 满意 in W41,
     after its first deadline; the case is accepted (验收销号) in W42.
  B  street: dispatched on the holiday Mon 5 Oct, signed late, replied; 不满意 (reasonable)
     on Sat 10 Oct reopens it under a case; the street disputes the 不满意 in W42 (upheld).
  C  water: dispatched in W40, replied late in W41 (due Fri 9 Oct), closed 基本满意.
  D  housing: dispatched in W40, due Thu 8 Oct 14:00, still open at the week's end:
     overdue; replied late and closed in W42.
  E  district: dispatched in W40, suspended over the holidays, resumed Fri 9 Oct (the
     deadline moves by the working time stood still), still open: overdue by 0 days.
  F  district lead with housing and water as co-units: housing signs and replies in
     time, water signs late and has not replied by its co-unit deadline (Sat 10 Oct).
  G  housing returns it in time, it is redispatched to water; water asks for an
     extension on Saturday that is approved in W42. Called from B's number.
  H  housing: replied, 不满意 judged unreasonable by the agent on Sat 10 Oct: waits for
     the supervisor's ruling at the week's end; ruled 诉求不合理 in W42.
  I  street: a help request, extension asked and approved on Fri 9 Oct.
  J  answered on the call (直接答复) from A's number.
  K  district: returned, the return overruled, signed in time, replied, closed 满意.
  L  西城: dispatched in W40, suspended since 30 Sep over the whole week: not overdue.

The report is checked when generated on time (Monday 08:00 after the week), built again
a week later after more events, and regenerated after further events: all equal; and every
figure drills down, through the page, to exactly as many items as it shows.
"""
from __future__ import annotations

import copy
import re
from datetime import date, datetime
from fractions import Fraction

import pytest
import sqlalchemy as sa

from hotline.enums import AssignmentRole
from hotline.extensions import db
from hotline.reports.definitions import Definitions
from hotline.reports.metrics import METRICS, THINGS
from hotline.reports.models import ReportSnapshot
from hotline.reports.rates import as_fraction
from hotline.reports.snapshots import build_report, diff, generate_report, latest, revisions
from hotline.supervision.models import SupervisionCase
from hotline.tickets.models import ExtensionRequest, Ticket
from hotline.units.models import Unit
from tests import svc
from tests.factories import at
from tests.test_pages import login

W41 = "2026-W41"
ON_TIME = datetime(2026, 10, 12, 8, 0)  # Monday 08:00 after the week: the scheduled report
WEEK_LATER = datetime(2026, 10, 19, 8, 0)  # a week later, after the W42 events
REVIEWED_AT = datetime(2026, 10, 21, 9, 0)  # after the W43 events: 复核

UNITS = {"district": "东城区人民政府", "street": "东华街道办事处", "housing": "市住房和城乡建设局",
         "water": "市自来水公司", "xicheng": "西城区人民政府", "centre": "12345热线中心"}
#: The columns of the tables below: the city line, then the report's rows (the district
#: rolled up with its street).
COLUMNS = ("city", "district", "street", "housing", "water", "xicheng")


# --- helpers ---------------------------------------------------------------------------
def v(tid: int) -> int:
    db.session.expire_all()
    return db.session.get(Ticket, tid).version


def assignment(tid: int, unit, role=AssignmentRole.LEAD):
    db.session.expire_all()
    t = db.session.get(Ticket, tid)
    return next(a for a in t.assignments if a.active and a.unit_id == unit.id and a.role is role)


def staff(w, unit):
    return w.staff_of(unit)


def reply(w, tid, unit, when, contacted, text="已办理并答复市民。"):
    at(when)
    return svc.reply(tid, staff(w, unit), v(tid), text, contacted_citizen=contacted)


def review(w, tid, when):
    at(when)
    svc.review(tid, w.dispatcher, v(tid), accept=True)


def callback(w, tid, when, satisfaction, resolution="resolved", reasonable=None):
    at(when)
    svc.record_callback(tid, w.callback_agent, v(tid), reached=True, resolution=resolution,
                        satisfaction=satisfaction, citizen_words="市民意见", request_reasonable=reasonable)


def signoff(w, tid, when):
    at(when)
    svc.act("signoff_approve", tid, w.leader, v(tid), words="同意重新办理结果")


def suspend(w, tid, unit, asked, approved, resume_on):
    at(asked)
    svc.act("request_suspension", tid, staff(w, unit), v(tid), reason="市民外出，待其返回后现场核实",
            expected_resume_on=resume_on)
    at(approved)
    svc.act("decide_suspension", tid, w.dispatcher, v(tid), decision="approve", note="同意挂起")


def resume(w, tid, unit, when):
    at(when)
    svc.act("resume", tid, staff(w, unit), v(tid), note="市民已返回")


def case_of(tid: int) -> SupervisionCase:
    return db.session.scalars(sa.select(SupervisionCase).where(SupervisionCase.ticket_id == tid)).one()


def dispatched(w, when, lead, phone, request_type="consultation", cos=()):
    at(when)
    return w.dispatched(lead=lead, cos=cos, request_type=request_type, caller_phone=phone).id


# --- the story ---------------------------------------------------------------------------
def build_story(w) -> dict[str, int]:
    """Tickets A-L driven through W40 and W41 with the clock set at every step; returns
    their ids by letter. The deadlines asserted on the way are worked out by hand."""
    ids: dict[str, int] = {}
    D, S, H, W, X = w.district, w.street, w.housing, w.water, w.other_district

    # A: district, consultation. Mon 28 Sep 10:00 + 3 working days = 29, 30 Sep, 8 Oct.
    ids["A"] = a = dispatched(w, datetime(2026, 9, 28, 10, 0), D, "13900000001")
    assert assignment(a, D).handle_due_at == datetime(2026, 10, 8, 10, 0)
    at(datetime(2026, 9, 28, 10, 30))
    svc.sign(a, staff(w, D), v(a))
    reply(w, a, D, datetime(2026, 9, 29, 10, 0), contacted=True)
    review(w, a, datetime(2026, 9, 29, 11, 0))
    # W41: 不满意 (reasonable) -> reopened under a case, a fresh 3-day clock from Thu 09:30
    callback(w, a, datetime(2026, 10, 8, 9, 30), "unsatisfied", "unresolved")
    assert assignment(a, D).handle_due_at == datetime(2026, 10, 12, 9, 30)  # 9, 10 (Sat), 12 Oct
    reply(w, a, D, datetime(2026, 10, 9, 10, 0), contacted=True)  # after the first deadline (8 Oct 10:00)
    review(w, a, datetime(2026, 10, 9, 10, 30))  # supervised: waits for a leader's sign-off
    signoff(w, a, datetime(2026, 10, 9, 11, 0))
    callback(w, a, datetime(2026, 10, 9, 14, 0), "satisfied")  # closed

    # B: street, dispatched on the holiday: its clocks start Thu 8 Oct 09:00.
    ids["B"] = b = dispatched(w, datetime(2026, 10, 5, 10, 0), S, "13900000002")
    ab = assignment(b, S)
    assert (ab.sign_due_at, ab.return_due_at, ab.handle_due_at) == (
        datetime(2026, 10, 9, 9, 0), datetime(2026, 10, 10, 9, 0), datetime(2026, 10, 12, 9, 0))
    at(datetime(2026, 10, 9, 11, 0))
    svc.sign(b, staff(w, S), v(b))  # late: due Fri 09:00
    reply(w, b, S, datetime(2026, 10, 10, 10, 0), contacted=True)
    review(w, b, datetime(2026, 10, 10, 10, 30))
    callback(w, b, datetime(2026, 10, 10, 11, 30), "unsatisfied", "unresolved")  # reopened, a case for the street
    assert assignment(b, S).handle_due_at == datetime(2026, 10, 14, 11, 30)  # 12, 13, 14 Oct

    # C: water, consultation, Tue 29 Sep 14:00: due 30 Sep, 8, 9 Oct -> Fri 9 Oct 14:00.
    ids["C"] = c = dispatched(w, datetime(2026, 9, 29, 14, 0), W, "13900000003")
    assert assignment(c, W).handle_due_at == datetime(2026, 10, 9, 14, 0)
    at(datetime(2026, 9, 29, 15, 0))
    svc.sign(c, staff(w, W), v(c))
    reply(w, c, W, datetime(2026, 10, 10, 10, 15), contacted=False)  # late
    review(w, c, datetime(2026, 10, 10, 10, 45))
    callback(w, c, datetime(2026, 10, 10, 11, 15), "basically")  # closed

    # D: housing, Mon 28 Sep 14:00: due Thu 8 Oct 14:00, not replied in the week.
    ids["D"] = d = dispatched(w, datetime(2026, 9, 28, 14, 0), H, "13900000004")
    assert assignment(d, H).handle_due_at == datetime(2026, 10, 8, 14, 0)
    at(datetime(2026, 9, 28, 15, 0))
    svc.sign(d, staff(w, H), v(d))

    # E: district, Mon 28 Sep 16:00: due Thu 8 Oct 16:00; suspended Wed 30 Sep 11:00,
    # resumed Fri 9 Oct 11:00: 420 (30 Sep) + 540 (8 Oct) + 120 (9 Oct) = 1080 working
    # minutes stood still, so the deadline moves from Thu 16:00 by 120 + 540 + 420 minutes
    # to Sat 10 Oct 16:00.
    ids["E"] = e = dispatched(w, datetime(2026, 9, 28, 16, 0), D, "13900000005")
    assert assignment(e, D).handle_due_at == datetime(2026, 10, 8, 16, 0)
    at(datetime(2026, 9, 28, 16, 30))
    svc.sign(e, staff(w, D), v(e))
    suspend(w, e, D, datetime(2026, 9, 30, 10, 0), datetime(2026, 9, 30, 11, 0), date(2026, 10, 9))
    resume(w, e, D, datetime(2026, 10, 9, 11, 0))
    assert assignment(e, D).handle_due_at == datetime(2026, 10, 10, 16, 0)

    # F: district lead, housing and water co-units, Thu 8 Oct 09:30. Lead due Mon 12 Oct
    # 09:30; the co-units' deadline is a working day earlier: the make-up Saturday.
    ids["F"] = f = dispatched(w, datetime(2026, 10, 8, 9, 30), D, "13900000006", cos=(H, W))
    assert assignment(f, D).handle_due_at == datetime(2026, 10, 12, 9, 30)
    for unit in (H, W):
        co = assignment(f, unit, AssignmentRole.CO)
        assert (co.sign_due_at, co.handle_due_at) == (datetime(2026, 10, 9, 9, 30), datetime(2026, 10, 10, 9, 30))
    at(datetime(2026, 10, 8, 10, 0))
    svc.sign(f, staff(w, D), v(f))
    at(datetime(2026, 10, 8, 14, 0))
    svc.sign(f, staff(w, H), v(f))  # co-unit housing, in time
    at(datetime(2026, 10, 9, 10, 0))
    svc.sign(f, staff(w, W), v(f))  # co-unit water, late (Fri 09:30)
    reply(w, f, H, datetime(2026, 10, 9, 15, 0), contacted=False)  # co-unit reply, in time
    # water's co deadline (Sat 09:30) has passed: the lead replies without waiting for it
    reply(w, f, D, datetime(2026, 10, 10, 14, 0), contacted=True)

    # G: housing, Thu 8 Oct 14:00; returned in time (due Sat 10 Oct 14:00), redispatched
    # to water Fri 9 Oct 09:30: sign by Sat 09:30, handle by 10, 12, 13 Oct -> Tue 13 Oct 09:30.
    ids["G"] = g = dispatched(w, datetime(2026, 10, 8, 14, 0), H, "13900000002")  # B's number
    assert assignment(g, H).return_due_at == datetime(2026, 10, 10, 14, 0)
    at(datetime(2026, 10, 9, 9, 0))
    ret = svc.return_ticket(g, staff(w, H), v(g), "not_our_duty", "属供水管网问题")
    at(datetime(2026, 10, 9, 9, 30))
    svc.redispatch(g, w.dispatcher, v(g), ret.id, lead_unit_id=W.id)
    ag = assignment(g, W)
    assert (ag.sign_due_at, ag.handle_due_at) == (datetime(2026, 10, 10, 9, 30), datetime(2026, 10, 13, 9, 30))
    at(datetime(2026, 10, 10, 9, 0))
    svc.sign(g, staff(w, W), v(g))
    at(datetime(2026, 10, 10, 15, 0))
    svc.request_extension(g, staff(w, W), v(g), datetime(2026, 10, 16, 9, 30), "需更换管道")  # approved in W42

    # H: housing, Thu 8 Oct 15:00; 不满意 judged unreasonable: waits for a ruling.
    ids["H"] = h = dispatched(w, datetime(2026, 10, 8, 15, 0), H, "13900000008")
    at(datetime(2026, 10, 8, 16, 0))
    svc.sign(h, staff(w, H), v(h))
    reply(w, h, H, datetime(2026, 10, 9, 11, 0), contacted=True)
    review(w, h, datetime(2026, 10, 9, 11, 30))
    callback(w, h, datetime(2026, 10, 10, 16, 0), "unsatisfied", "unresolved", reasonable=False)

    # I: street, a help request (5 working days), Thu 8 Oct 10:00 -> Wed 14 Oct 10:00;
    # extended to Wed 21 Oct on Friday.
    ids["I"] = i = dispatched(w, datetime(2026, 10, 8, 10, 0), S, "13900000009", request_type="help")
    assert assignment(i, S).handle_due_at == datetime(2026, 10, 14, 10, 0)
    at(datetime(2026, 10, 8, 11, 0))
    svc.sign(i, staff(w, S), v(i))
    at(datetime(2026, 10, 9, 15, 0))
    req = svc.request_extension(i, staff(w, S), v(i), datetime(2026, 10, 21, 10, 0), "需多部门现场会商")
    at(datetime(2026, 10, 9, 16, 0))
    svc.approve_extension(i, w.dispatcher, v(i), req.id)

    # J: answered on the call, Fri 9 Oct 09:15, from A's number.
    at(datetime(2026, 10, 9, 9, 15))
    ids["J"] = svc.record_ticket(w.operator, w.draft(caller_phone="13900000001"), answer="已告知办理流程。").id

    # K: district, Thu 8 Oct 11:00: sign by Fri 11:00, return by Sat 11:00, handle by Mon 12 Oct 11:00.
    ids["K"] = k = dispatched(w, datetime(2026, 10, 8, 11, 0), D, "13900000011")
    ak = assignment(k, D)
    assert (ak.sign_due_at, ak.return_due_at, ak.handle_due_at) == (
        datetime(2026, 10, 9, 11, 0), datetime(2026, 10, 10, 11, 0), datetime(2026, 10, 12, 11, 0))
    at(datetime(2026, 10, 8, 15, 0))
    ret = svc.return_ticket(k, staff(w, D), v(k), "not_our_duty", "")
    at(datetime(2026, 10, 8, 16, 0))
    svc.overrule_return(k, w.dispatcher, v(k), ret.id, "属本单位职责")
    at(datetime(2026, 10, 9, 10, 0))
    svc.sign(k, staff(w, D), v(k))  # in time
    reply(w, k, D, datetime(2026, 10, 9, 15, 0), contacted=False)
    review(w, k, datetime(2026, 10, 9, 15, 30))
    callback(w, k, datetime(2026, 10, 9, 16, 30), "satisfied")  # closed

    # L: 西城, Tue 29 Sep 10:00: due 30 Sep, 8, 9 Oct -> Fri 9 Oct 10:00; suspended since
    # Wed 30 Sep 09:45 and not resumed in the week.
    ids["L"] = l_ = dispatched(w, datetime(2026, 9, 29, 10, 0), X, "13900000012")
    assert assignment(l_, X).handle_due_at == datetime(2026, 10, 9, 10, 0)
    at(datetime(2026, 9, 29, 10, 30))
    svc.sign(l_, staff(w, X), v(l_))
    suspend(w, l_, X, datetime(2026, 9, 30, 9, 30), datetime(2026, 9, 30, 9, 45), date(2026, 10, 15))
    return ids


def after_the_week(w, ids):
    """W42: the late reply to the overdue ticket, the pending ruling made, closings, a
    dispute, an extension approved, a case accepted, a suspension ended."""
    D, S, H, W, X = w.district, w.street, w.housing, w.water, w.other_district
    at(datetime(2026, 10, 12, 10, 0))
    request = db.session.scalars(sa.select(ExtensionRequest).where(ExtensionRequest.ticket_id == ids["G"])).one()
    svc.approve_extension(ids["G"], w.dispatcher, v(ids["G"]), request.id)
    reply(w, ids["E"], D, datetime(2026, 10, 12, 10, 30), contacted=True)  # late
    reply(w, ids["F"], W, datetime(2026, 10, 12, 11, 0), contacted=False)  # co-unit water, late
    at(datetime(2026, 10, 13, 9, 0))
    svc.confirm_unreasonable(ids["H"], w.supervisor, v(ids["H"]), "诉求超出政策范围")  # H closes
    at(datetime(2026, 10, 13, 10, 0))
    svc.accept_case(case_of(ids["A"]).id, w.supervisor, "整改到位")
    reply(w, ids["D"], H, datetime(2026, 10, 13, 10, 30), contacted=True)  # the overdue ticket, late
    review(w, ids["D"], datetime(2026, 10, 13, 11, 0))
    callback(w, ids["D"], datetime(2026, 10, 13, 11, 30), "satisfied")  # D closes
    at(datetime(2026, 10, 13, 14, 0))
    svc.act("dispute", ids["B"], staff(w, S), reason="市民诉求超出职责范围", evidence="现场照片与政策文件")
    at(datetime(2026, 10, 14, 10, 0))
    svc.act("decide_dispute", ids["B"], w.supervisor, decision="uphold", note="甄别成立")
    resume(w, ids["L"], X, datetime(2026, 10, 14, 10, 30))


def further_events(w, ids):
    """W43: the reopened street ticket re-handled and closed, its case accepted; F closed;
    I replied."""
    S = w.street
    b = ids["B"]
    reply(w, ids["I"], S, datetime(2026, 10, 19, 10, 0), contacted=True)  # within the extension
    review(w, ids["F"], datetime(2026, 10, 20, 9, 0))
    callback(w, ids["F"], datetime(2026, 10, 20, 9, 30), "basically")  # F closes
    reply(w, b, S, datetime(2026, 10, 20, 10, 0), contacted=True)
    review(w, b, datetime(2026, 10, 20, 10, 30))
    signoff(w, b, datetime(2026, 10, 20, 11, 0))
    callback(w, b, datetime(2026, 10, 20, 14, 0), "satisfied")  # B closes
    at(datetime(2026, 10, 20, 15, 0))
    svc.accept_case(case_of(b).id, w.supervisor, "整改到位")


# --- the figures, by hand ------------------------------------------------------------------
#                          city dist street hous water 西城
FIGURES = {
    # 派件: assignments dispatched Mon 5 - Sun 11 Oct: F K + the street's B I; housing G
    # (then returned) and H; water G (the redispatch). A C D E L were dispatched in W40.
    "received":             (7,   4,   2,    2,   1,   0),
    # G's housing assignment was returned in time, not overruled: left out; K's return was
    # overruled, so K stays in; every other one was signed
    "should_sign":          (6,   4,   2,    1,   1,   0),
    "signed_on_time":       (5,   3,   1,    1,   1,   0),  # all those but B (signed Fri 11:00, due 09:00)
    "signed":               (6,   4,   2,    1,   1,   0),  # all but G's housing assignment
    "answered":             (4,   3,   1,    1,   0,   0),  # replied by Sunday: F K, B, H (not I, not G at water)
    "redispatched":         (1,   0,   0,    1,   0,   0),  # G's housing assignment
    "closed":               (3,   2,   0,    0,   1,   0),  # A K, C; J (answered on the call) is no counted closure
    "closed_on_time":       (1,   1,   0,    0,   0,   0),  # K: replied Fri 15:00, due Mon 12 Oct 11:00
    # A: last reply Fri 9 Oct 10:00 after its deadline before the first reopen (Thu 8 Oct
    # 10:00; the reopened round's Mon 12 Oct does not count); C: replied Sat, due Fri 14:00
    "closed_late":          (2,   1,   0,    0,   1,   0),
    "unreachable":          (0,   0,   0,    0,   0,   0),
    # D (due Thu 14:00) and E (due Sat 16:00 after the suspension) open at Mon 00:00; L is
    # past its deadline but suspended; B's reopened round is due Wed 14 Oct
    "overdue_now":          (2,   1,   0,    1,   0,   0),
    "returned":             (2,   1,   0,    1,   0,   0),  # K (district), G (housing)
    "returned_timely":      (2,   1,   0,    1,   0,   0),  # both before their return deadlines
    "returns_overruled":    (1,   1,   0,    0,   0,   0),  # K, overruled Thu 16:00
    "extensions":           (2,   1,   1,    0,   1,   0),  # I (street), G (water)
    "extensions_approved":  (1,   1,   1,    0,   0,   0),  # I on Fri; G's was approved on Mon 12 Oct
    "reopened":             (2,   2,   1,    0,   0,   0),  # A (district), B (street)
    # lead replies made in the week: A's second, F's, K's; B's; H's; C's (F's co-unit
    # reply from housing is not a lead reply)
    "replies":              (6,   4,   1,    1,   1,   0),
    "contacted":            (4,   3,   1,    1,   0,   0),  # A F, B, H; K and C did not contact
    # per ticket the week's last counted callback: A (满意), K (满意), B (不满意), C (基本满意);
    # H's 不满意 waits for a ruling and is not counted
    "callbacks_reached":    (4,   3,   1,    0,   1,   0),
    "resolved":             (3,   2,   0,    0,   1,   0),  # A K, C
    "satisfied":            (2,   2,   0,    0,   0,   0),  # A K
    "basically":            (1,   0,   0,    0,   1,   0),  # C
    "unsatisfied":          (1,   1,   1,    0,   0,   0),  # B
    "pending_decision":     (1,   0,   0,    1,   0,   0),  # H
    "cases_opened":         (2,   2,   1,    0,   0,   0),  # A's case (district), B's (street)
    "cases_closed":         (0,   0,   0,    0,   0,   0),  # A's case is accepted on Tue 13 Oct
    "cases_open":           (2,   2,   1,    0,   0,   0),
    "co_received":          (2,   0,   0,    1,   1,   0),  # F's co-units
    "co_should_sign":       (2,   0,   0,    1,   1,   0),  # both signed
    "co_signed_on_time":    (1,   0,   0,    1,   0,   0),  # water signed Fri 10:00, due 09:30
    "co_should_reply":      (2,   0,   0,    1,   1,   0),  # housing replied; water's Sat 09:30 passed
    "co_replied_on_time":   (1,   0,   0,    1,   0,   0),  # housing, Fri 15:00
    "co_overdue_now":       (1,   0,   0,    0,   1,   0),  # water, still signed at Mon 00:00
    "calls":                (7,   0,   0,    0,   0,   0),  # recorded in the week: B F G H I J K (the centre's)
    "direct":               (1,   0,   0,    0,   0,   0),  # J
    "repeat_calls":         (2,   0,   0,    0,   0,   0),  # G (B's number, 5 Oct), J (A's number, 28 Sep)
}

#: The tickets behind each figure, per unit counted (the unit's own items, not rolled up).
BEHIND = {
    "received": {"district": "F K", "street": "B I", "housing": "G H", "water": "G"},
    "should_sign": {"district": "F K", "street": "B I", "housing": "H", "water": "G"},
    "signed_on_time": {"district": "F K", "street": "I", "housing": "H", "water": "G"},
    "signed": {"district": "F K", "street": "B I", "housing": "H", "water": "G"},
    "answered": {"district": "F K", "street": "B", "housing": "H"},
    "redispatched": {"housing": "G"},
    "closed": {"district": "A K", "water": "C"},
    "closed_on_time": {"district": "K"},
    "closed_late": {"district": "A", "water": "C"},
    "unreachable": {},
    "overdue_now": {"district": "E", "housing": "D"},
    "returned": {"district": "K", "housing": "G"},
    "returned_timely": {"district": "K", "housing": "G"},
    "returns_overruled": {"district": "K"},
    "extensions": {"street": "I", "water": "G"},
    "extensions_approved": {"street": "I"},
    "reopened": {"district": "A", "street": "B"},
    "replies": {"district": "A F K", "street": "B", "housing": "H", "water": "C"},
    "contacted": {"district": "A F", "street": "B", "housing": "H"},
    "callbacks_reached": {"district": "A K", "street": "B", "water": "C"},
    "resolved": {"district": "A K", "water": "C"},
    "satisfied": {"district": "A K"},
    "basically": {"water": "C"},
    "unsatisfied": {"street": "B"},
    "pending_decision": {"housing": "H"},
    "cases_opened": {"district": "A", "street": "B"},
    "cases_closed": {},
    "cases_open": {"district": "A", "street": "B"},
    "co_received": {"housing": "F", "water": "F"},
    "co_should_sign": {"housing": "F", "water": "F"},
    "co_signed_on_time": {"housing": "F"},
    "co_should_reply": {"housing": "F", "water": "F"},
    "co_replied_on_time": {"housing": "F"},
    "co_overdue_now": {"water": "F"},
    "calls": {"centre": "B F G H I J K"},
    "direct": {"centre": "J"},
    "repeat_calls": {"centre": "G J"},
}

F_ = Fraction
#: The rates from the figures above, exact (a rate with no basis is None).
RATES = {  #             city        district     street     housing    water      西城
    # signed_on_time / should_sign: 5/6, 3/4, 1/2, 1/1, 1/1
    "sign_rate":         (F_(5, 6),  F_(3, 4),    F_(1, 2),  F_(1),     F_(1),     None),
    # contacted / replies: 4/6, 3/4, 1/1, 1/1, 0/1
    "contact_rate":      (F_(4, 6),  F_(3, 4),    F_(1),     F_(1),     F_(0),     None),
    # closed_on_time / closed: 1/3, 1/2, -, -, 0/1
    "close_rate":        (F_(1, 3),  F_(1, 2),    None,      None,      F_(0),     None),
    # resolved / callbacks_reached: 3/4, 2/3, 0/1, -, 1/1
    "resolution_rate":   (F_(3, 4),  F_(2, 3),    F_(0),     None,      F_(1),     None),
    # (satisfied + 1 x basically) / callbacks_reached: (2+1)/4, 2/3, 0/1, -, (0+1)/1
    "satisfaction_rate": (F_(3, 4),  F_(2, 3),    F_(0),     None,      F_(1),     None),
    # returned / received: 2/7, 1/4, 0/2, 1/2, 0/1
    "return_rate":       (F_(2, 7),  F_(1, 4),    F_(0),     F_(1, 2),  F_(0),     None),
    # redispatched / received: 1/7, 0/4, 0/2, 1/2, 0/1
    "redispatch_rate":   (F_(1, 7),  F_(0),       F_(0),     F_(1, 2),  F_(0),     None),
    # reopened / callbacks_reached: 2/4, 2/3, 1/1, -, 0/1
    "reopen_rate":       (F_(2, 4),  F_(2, 3),    F_(1),     None,      F_(0),     None),
    # co_signed_on_time / co_should_sign: 1/2, -, -, 1/1, 0/1
    "co_sign_rate":      (F_(1, 2),  None,        None,      F_(1),     F_(0),     None),
    # co_replied_on_time / co_should_reply: 1/2, -, -, 1/1, 0/1
    "co_reply_rate":     (F_(1, 2),  None,        None,      F_(1),     F_(0),     None),
    # direct / calls, repeat_calls / calls: the centre's, in the city line only
    "direct_rate":       (F_(1, 7),  None,        None,      None,      None,      None),
    "repeat_rate":       (F_(2, 7),  None,        None,      None,      None,      None),
    # 1/2 sign_rate + 1/2 contact_rate: city (5/6 + 4/6) / 2; district (3/4 + 3/4) / 2;
    # street (1/2 + 1) / 2; housing (1 + 1) / 2; water (1 + 0) / 2
    "response_rate":     (F_(3, 4),  F_(3, 4),    F_(3, 4),  F_(1),     F_(1, 2),  None),
    # (response + resolution + satisfaction) / 3 over those present: city (3/4 * 3) / 3;
    # district (3/4 + 2/3 + 2/3) / 3 = 25/36; street (3/4 + 0 + 0) / 3; housing: response
    # only; water (1/2 + 1 + 1) / 3
    "score":             (F_(3, 4),  F_(25, 36),  F_(1, 4),  F_(1),     F_(5, 6),  None),
}

#: The overdue list at Mon 12 Oct 00:00: (ticket, unit, deadline, working minutes past it,
#: whole working days, supervision level).
OVERDUE = [
    # Thu 8 Oct 14:00-18:00 (240) + Fri 9 (540) + Sat 10, the make-up day (540) = 1320 -> 2 days
    ("D", "市住房和城乡建设局", "2026-10-08T14:00:00", 1320, 2, 1),
    # Sat 10 Oct 16:00-18:00 = 120 -> 0 whole days (without the suspension it would have
    # been due Thu 16:00: 1200 minutes, 2 days)
    ("E", "东城区人民政府", "2026-10-10T16:00:00", 120, 0, 1),
]


def values(data: dict, column: str) -> dict:
    if column == "city":
        return data["city"]["values"]
    return next(r for r in data["rows"] if r["unit"] == UNITS[column])["values"]


def rates(data: dict, column: str) -> dict:
    if column == "city":
        return data["city"]["rates"]
    return next(r for r in data["rows"] if r["unit"] == UNITS[column])["rates"]


def behind(data: dict, key: str, ids: dict[str, int]) -> dict[str, str]:
    """{unit: "A K"}: the story's tickets behind a figure's item ids, per unit (own)."""
    _, model, ticket_col, _ = THINGS[METRICS[key].counts]
    letter = {tid: name for name, tid in ids.items()}
    unit_key = {uid: key_ for key_, uid in _unit_ids().items()}
    out = {}
    for uid, items in data["ids"][key].items():
        tickets = dict(db.session.execute(sa.select(model.id, ticket_col).where(model.id.in_(items))).all())
        out[unit_key[int(uid)]] = " ".join(sorted(letter[tickets[i]] for i in items))
    return out


def _unit_ids() -> dict[str, int]:
    by_name = dict(db.session.execute(sa.select(Unit.name, Unit.id)).all())
    return {k: by_name[name] for k, name in UNITS.items()}


def assert_story_figures(data: dict, ids: dict[str, int]) -> None:
    assert set(FIGURES) == set(METRICS) and set(BEHIND) == set(METRICS)  # every figure, no other
    assert set(RATES) == set(data["city"]["rates"])  # every rate
    for key, expected in FIGURES.items():
        got = tuple(values(data, col)[key] for col in COLUMNS)
        assert got == expected, key
    for key, expected in RATES.items():
        got = tuple(as_fraction(rates(data, col)[key]) for col in COLUMNS)
        assert got == expected, key
    for key, expected in BEHIND.items():
        assert behind(data, key, ids) == expected, key
    letter = {tid: name for name, tid in ids.items()}
    assert [(letter[o["ticket_id"]], o["unit"], o["due_at"], o["overdue_minutes"], o["days_overdue"], o["level"])
            for o in data["overdue"]] == OVERDUE


# --- the tests -----------------------------------------------------------------------------
def test_every_figure_of_the_holiday_week(world):
    ids = build_story(world)
    at(ON_TIME)
    data = build_report("weekly", W41, ids=True)
    assert (data["start"], data["end"], data["as_of"]) == (
        "2026-10-05T00:00:00", "2026-10-12T00:00:00", "2026-10-12T00:00:00")
    # the level-2 units always, the street because it has figures; the community has none
    assert {r["unit"] for r in data["rows"]} == {UNITS[c] for c in COLUMNS[1:]}
    assert all(n == 0 for n in values(data, "xicheng").values())  # L: suspended, so not even overdue
    assert_story_figures(data, ids)


def test_report_on_time_a_week_later_and_regenerated_are_equal(world):
    ids = build_story(world)
    # (a) on time: the scheduled report, Monday 08:00
    at(ON_TIME)
    rev1 = generate_report("weekly", W41)
    db.session.commit()
    assert (rev1.revision, rev1.as_of, rev1.reason) == (1, datetime(2026, 10, 12), "定时生成")
    first = copy.deepcopy(rev1.data)
    assert_story_figures(first, ids)

    # (b) a week later, after the late reply, the ruling, closings, a dispute ...
    after_the_week(world, ids)
    at(WEEK_LATER)
    later = build_report("weekly", W41, ids=True)
    for part in ("rows", "city", "ids", "overdue"):
        assert later[part] == first[part], part
    assert generate_report("weekly", W41).id == rev1.id  # stored once: not made again

    # (c) regenerated for a review after further events: revision 2, the same figures
    further_events(world, ids)
    at(REVIEWED_AT)
    rev2 = generate_report("weekly", W41, force=True, reason="复核")
    db.session.commit()
    assert (rev2.revision, rev2.reason, rev2.as_of) == (2, "复核", datetime(2026, 10, 12))
    assert diff(rev1.data, rev2.data) == []
    for part in ("rows", "city", "ids", "overdue"):
        assert rev2.data[part] == first[part], part
    db.session.expire_all()
    stored = {r.revision: r for r in revisions("weekly", W41)}
    assert set(stored) == {1, 2} and latest("weekly", W41).revision == 2
    assert stored[1].data == first and stored[1].reason == "定时生成"  # revision 1 kept as it was
    assert diff(stored[1].data, stored[2].data) == []


def test_every_figure_drills_down_to_as_many_items(world, client):
    ids = build_story(world)
    at(ON_TIME)
    login(client, "manager")
    html = client.get(f"/reports/weekly/{W41}").get_data(as_text=True)
    assert "12345热线周报 2026-W41" in html
    snapshot = db.session.scalars(sa.select(ReportSnapshot)).one()  # the page stored it
    assert snapshot.revision == 1
    after_the_week(world, ids)  # the drill-down reads the snapshot's items, not today's
    at(WEEK_LATER)
    unit_ids = _unit_ids()
    for key in METRICS:
        for col in COLUMNS:
            query = {"snapshot": snapshot.id, "metric": key}
            if col != "city":
                query["unit_id"] = unit_ids[col]
            page = client.get("/reports/drill", query_string=query)
            assert page.status_code == 200, (key, col)
            total = int(re.search(r"共 (\d+) 条", page.get_data(as_text=True)).group(1))
            shown = values(snapshot.data, col)[key]
            assert total == shown == FIGURES[key][COLUMNS.index(col)], (key, col)



# --- two bugs the story found, now fixed: rulings are read from the events and 甄别 rows
# (a dispute overwrites the callback's decision columns), and a closing is an event that closes
def test_a_ruling_later_overturned_by_a_dispute_still_counts_in_its_week(world):
    w = world
    h = dispatched(w, datetime(2026, 10, 8, 15, 0), w.housing, "13900000021")
    at(datetime(2026, 10, 8, 16, 0))
    svc.sign(h, staff(w, w.housing), v(h))
    reply(w, h, w.housing, datetime(2026, 10, 9, 11, 0), contacted=True)
    review(w, h, datetime(2026, 10, 9, 11, 30))
    callback(w, h, datetime(2026, 10, 9, 14, 0), "unsatisfied", "unresolved", reasonable=False)
    at(datetime(2026, 10, 9, 15, 0))
    svc.reopen(h, w.supervisor, v(h), "裁定计入")  # ruled 计入 in the week: counted, reopened
    at(ON_TIME)
    first = generate_report("weekly", W41).data
    db.session.commit()
    picked = ("callbacks_reached", "unsatisfied", "pending_decision", "reopened")
    # by hand: the 不满意 counts (ruled 计入 Fri 15:00), nothing waits for a ruling
    assert [first["city"]["values"][k] for k in picked] == [1, 1, 0, 1]
    at(datetime(2026, 10, 13, 14, 0))  # W42: housing disputes the counted 不满意, upheld
    svc.act("dispute", h, staff(w, w.housing), reason="诉求超出政策范围", evidence="政策文件")
    at(datetime(2026, 10, 14, 10, 0))
    svc.act("decide_dispute", h, w.supervisor, decision="uphold", note="甄别成立")
    at(WEEK_LATER)
    later = build_report("weekly", W41)
    assert [later["city"]["values"][k] for k in picked] == [1, 1, 0, 1]


def test_a_ticket_closed_in_one_week_is_not_closed_again_by_a_later_event(world):
    ids = build_story(world)
    after_the_week(world, ids)
    at(WEEK_LATER)
    w42 = build_report("weekly", "2026-W42", ids=True)
    # by hand: closed in W42 are D (满意 Tue 13 Oct 11:30) and H (诉求不合理, Tue 13 Oct 09:00),
    # both housing; A closed in W41 and its case's 验收销号 on Tue 13 Oct closes nothing
    assert behind(w42, "closed", ids) == {"housing": "D H"}


VARIANTS = [Definitions(), Definitions(sign_returns="include", close_basis="round", callback_pick="first",
                                       basic_weight="0.5", overdue_days="started", repeat_days=3)]


@pytest.mark.parametrize("defs", VARIANTS, ids=["defaults", "every-other-choice"])
def test_figures_counted_in_the_database_equal_the_lengths_of_their_id_lists(world, defs):
    """The pages count in the database (COUNT FILTER per unit), snapshots list ids: the same
    rows and predicates, so every figure of every unit is equal, under either definitions,
    for the week, the week after it and the month, on time and a week later."""
    ids = build_story(world)
    after_the_week(world, ids)
    for moment in (ON_TIME, WEEK_LATER):
        at(moment)
        for kind, key in (("weekly", W41), ("weekly", "2026-W42"), ("monthly", "2026-10")):
            listed = build_report(kind, key, defs=defs, ids=True)
            counted = build_report(kind, key, defs=defs)
            assert "ids" not in counted
            assert counted["rows"] == listed["rows"] and counted["city"] == listed["city"], (kind, key, moment)
            assert counted["overdue"] == listed["overdue"]
            city = listed["city"]["values"]
            assert all(city[k] == sum(len(v) for v in listed["ids"][k].values()) for k in METRICS), (kind, key)
    assert any(v for v in city.values())  # the month has figures: the comparison compared something


def test_average_working_minutes_summed_in_the_database_equal_the_calendars(world):
    """The averages' working minutes (summed per unit and first/last day in SQL) equal the
    calendar's working_minutes_between summed row by row, over the holiday week (make-up
    Saturday, holidays, times before opening and after closing, with seconds)."""
    from hotline.deadlines.services import calendar
    from hotline.reports.aggregate import AVERAGES, working_minutes
    from hotline.reports.definitions import current
    from hotline.reports.metrics import Period
    from hotline.reports.queries import rows_of

    ids = build_story(world)
    after_the_week(world, ids)
    # a W42 dispatch after hours, signed just before opening, seconds on the clock
    late = dispatched(world, datetime(2026, 10, 14, 19, 30, 17), world.housing, "13900000009")
    at(datetime(2026, 10, 15, 8, 59, 59))
    svc.act("sign", late, staff(world, world.housing), v(late), target=assignment(late, world.housing).id)
    at(WEEK_LATER)
    cal, d = calendar(), current()
    checked = 0
    for start, end in ((datetime(2026, 10, 5), datetime(2026, 10, 12)), (datetime(2026, 9, 28), datetime(2026, 10, 19)),
                       (datetime(2026, 10, 1), datetime(2026, 11, 1))):
        p = Period.of(start, end, WEEK_LATER)
        rows = rows_of("dispatched", p, d)
        for name, (basis, first, last) in AVERAGES.items():
            expected: dict[int, int] = {}
            for r in rows:
                if getattr(r, last) is not None:
                    expected[r.unit_id] = expected.get(r.unit_id, 0) + cal.working_minutes_between(
                        getattr(r, first), getattr(r, last))
                    checked += 1
            got = working_minutes(basis, first, last, p, d)
            assert {u: m for u, m in got.items() if m} == {u: m for u, m in expected.items() if m}, (name, start)
    assert checked >= 10


def test_the_ranking_of_a_stored_week_reads_its_figures_and_equals_the_count(world):
    """The ranking over exactly a stored week (taken at its end, by the same definitions)
    reads the snapshot's figures; they equal the ranking counted afresh, at both levels.
    Other definitions or another range are counted afresh."""
    from hotline.reports.rates import unit_ranking

    build_story(world)
    at(ON_TIME)
    monday, sunday = date(2026, 10, 5), date(2026, 10, 11)
    counted = {level: unit_ranking(monday, sunday, level) for level in (2, 3)}
    assert all(c["snapshot"] is None for c in counted.values())
    generate_report("weekly", W41)
    db.session.commit()
    for level in (2, 3):
        stored = unit_ranking(monday, sunday, level)
        assert stored["snapshot"] == ("weekly", W41, 1)
        assert stored["rows"] == counted[level]["rows"] and stored["rows"], level
    other = Definitions(callback_pick="first")
    assert unit_ranking(monday, sunday, 2, defs=other)["snapshot"] is None
    assert unit_ranking(monday, date(2026, 10, 10), 2)["snapshot"] is None
