"""The weekly overdue report (周报) for an ISO week, kept as a snapshot."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from hotline.units.models import Unit
from hotline.clock import now as clock_now
from hotline.deadlines.services import calendar
from hotline.enums import AssignmentRole, AssignmentState
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.reports.aggregate import centre_id, figures, unit_nodes
from hotline.reports.metrics import METRICS, Period
from hotline.reports.models import WeeklyReport
from hotline.supervision.levels import level_names
from hotline.tickets.models import Assignment, Ticket

WEEKLY_KEYS = ["received", "signed_on_time", "closed_on_time", "overdue_now", "closed_late", "returned",
               "returns_overruled", "extensions", "reopened", "cases_open", "cases_closed", "unreachable"]


def parse_week(week: str) -> tuple[datetime, datetime]:
    """'2026-W48' -> (Monday 00:00, next Monday 00:00)."""
    try:
        year, num = week.strip().upper().split("-W")
        monday = date.fromisocalendar(int(year), int(num), 1)
    except (ValueError, AttributeError):
        raise ValidationFailed("周次格式应为 YYYY-Www，例如 2026-W48", field="week") from None
    start = datetime.combine(monday, datetime.min.time())
    return start, start + timedelta(days=7)


def week_of(moment: datetime) -> str:
    y, w, _ = moment.isocalendar()
    return f"{y}-W{w:02d}"


def previous_week(moment: datetime) -> str:
    return week_of(moment - timedelta(days=7))


def build_weekly_report(week: str, now: datetime | None = None) -> dict:
    """The report's data. States ("overdue now", "cases open") are taken at the end of the
    week, or at `now` while the week is still running."""
    start, end = parse_week(week)
    now = now or clock_now()
    as_of = min(now, end)
    period = Period(start, end, as_of)
    nodes = unit_nodes()
    own, total = figures(WEEKLY_KEYS, period, nodes)
    centre = centre_id(nodes)
    rows = []
    for n in nodes:
        if n.id == centre:
            continue
        values = {k: total[k].get(n.id, 0) for k in WEEKLY_KEYS}
        if not any(values.values()) and n.level > 2:
            continue  # streets and communities with nothing to report are left out
        rows.append({"unit_id": n.id, "unit": n.name, "level": n.level, "depth": n.level - 2, **values})
    city = {k: sum(own[k].values()) for k in WEEKLY_KEYS}
    return {
        "week": week_of(start), "start": start.isoformat(), "end": end.isoformat(), "as_of": as_of.isoformat(),
        "columns": [{"key": k, "label": METRICS[k].label, "explain": METRICS[k].explain} for k in WEEKLY_KEYS],
        "rows": rows, "city": city, "overdue": overdue_list(as_of),
    }


def overdue_list(as_of: datetime, limit: int = 2000) -> list[dict]:
    cal, names = calendar(), level_names()
    stmt = (sa.select(Ticket.id, Ticket.number, Ticket.title, Unit.name, Unit.id.label("unit_id"),
                      Assignment.handle_due_at, Assignment.escalation_level)
            .join(Assignment, Assignment.ticket_id == Ticket.id).join(Unit, Unit.id == Assignment.unit_id)
            .where(Assignment.role == AssignmentRole.LEAD, Assignment.active.is_(True),
                   Assignment.state.in_((AssignmentState.DISPATCHED, AssignmentState.SIGNED)),
                   Assignment.dispatched_at < as_of, Assignment.handle_due_at < as_of)
            .order_by(Assignment.handle_due_at).limit(limit))
    return [{"ticket_id": r.id, "number": r.number, "title": r.title, "unit": r.name, "unit_id": r.unit_id,
             "due_at": r.handle_due_at.isoformat(), "days_overdue": cal.working_days_between(r.handle_due_at, as_of),
             "level": r.escalation_level, "level_name": names.get(r.escalation_level, "")}
            for r in db.session.execute(stmt)]


def generate_weekly_report(week: str, now: datetime | None = None, *, force: bool = False) -> WeeklyReport:
    """Store the snapshot of a finished week (once; `force` regenerates it). Flushes; the
    caller (page, CLI command, job runner) commits."""
    now = now or clock_now()
    start, end = parse_week(week)
    if now < end:
        raise ValidationFailed(f"{week_of(start)} 尚未结束，周报快照须在该周结束后生成", field="week")
    data = build_weekly_report(week, now)
    row = db.session.scalars(sa.select(WeeklyReport).where(WeeklyReport.week == data["week"])).first()
    if row is not None and not force:
        return row
    if row is None:
        row = WeeklyReport(week=data["week"])
        db.session.add(row)
    row.start, row.end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
    row.as_of, row.generated_at, row.data = datetime.fromisoformat(data["as_of"]), now, data
    db.session.flush()
    return row


def weekly_report_job(now: datetime | None = None) -> dict:
    """Monday 08:00: the past week's report, generated and stored."""
    now = now or clock_now()
    row = generate_weekly_report(previous_week(now), now)
    return {"week": row.week, "units": len(row.data["rows"]), "overdue": len(row.data["overdue"])}
