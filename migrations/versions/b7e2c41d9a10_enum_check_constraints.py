"""enum columns: CHECK constraints on PostgreSQL (allowed values, supervision levels)

Enums are stored as strings (hotline.enums.enum_column); on PostgreSQL each enum column
gets a CHECK constraint listing its values, and the supervision levels are bounded to
1..3. SQLite cannot add a constraint to an existing table without rebuilding it, so there
the model's validation (SQLAlchemy's Enum) remains the guard.

Revision ID: b7e2c41d9a10
Revises: 45a51352b9d3
Create Date: 2026-11-30 18:40:00
"""
from alembic import op

revision = "b7e2c41d9a10"
down_revision = "45a51352b9d3"
branch_labels = None
depends_on = None

#: (table, column, allowed values) as of this revision.
ENUM_COLUMNS = [
    ("time_limit_policies", "clock", ("sign", "handle", "return", "callback", "extension_max",)),
    ("time_limit_policies", "request_type", ("consultation", "help", "complaint", "report", "suggestion", "praise", "other",)),
    ("time_limit_policies", "urgency", ("normal", "urgent", "critical",)),
    ("time_limit_policies", "unit", ("working_days", "hours", "minutes",)),
    ("units", "kind", ("centre", "district", "department", "enterprise", "street", "community",)),
    ("tickets", "state", ("pending_dispatch", "dispatched", "signed", "returned", "replied", "reviewed", "unsatisfied", "reopened", "closed",)),
    ("tickets", "closure", ("answered", "satisfied", "unreachable", "merged", "invalid", "unreasonable",)),
    ("tickets", "channel", ("phone", "website", "wechat", "app", "letter", "leader", "other",)),
    ("tickets", "request_type", ("consultation", "help", "complaint", "report", "suggestion", "praise", "other",)),
    ("tickets", "urgency", ("normal", "urgent", "critical",)),
    ("user_roles", "role", ("operator", "dispatcher", "callback_agent", "unit_staff", "supervisor", "manager", "admin",)),
    ("alerts", "subject", ("assignment", "ticket", "case",)),
    ("alerts", "clock", ("sign", "handle", "callback", "progress",)),
    ("alerts", "kind", ("warning", "urge", "overdue",)),
    ("assignments", "role", ("lead", "co",)),
    ("assignments", "state", ("dispatched", "signed", "returned", "replied", "cancelled", "done",)),
    ("callbacks", "resolution", ("resolved", "partly", "unresolved",)),
    ("callbacks", "satisfaction", ("satisfied", "basically", "unsatisfied",)),
    ("callbacks", "supervisor_decision", ("counted", "excluded",)),
    ("escalations", "subject", ("assignment", "ticket", "case",)),
    ("escalations", "reason", ("overdue", "supervision_overdue", "unsatisfied_again",)),
    ("notifications", "kind", ("sign_warning", "handle_warning", "sign_urge", "handle_urge", "sign_overdue", "handle_overdue", "escalation", "instruction", "progress_urge", "callback_overdue",)),
    ("supervision_cases", "reason", ("unsatisfied",)),
    ("supervision_cases", "state", ("open", "closed",)),
    ("extension_requests", "state", ("pending", "approved", "refused",)),
    ("ticket_events", "action", ("record", "answer", "dispatch", "sign", "hand_down", "return", "redispatch", "overrule_return", "request_extension", "approve_extension", "refuse_extension", "reply", "co_reply", "review_accept", "review_reject", "callback", "reopen", "merge", "close", "confirm_unreasonable", "progress", "instruction", "ack_instruction", "accept_case", "warning", "urge", "overdue", "escalate", "progress_urge", "callback_overdue",)),
    ("ticket_events", "from_state", ("pending_dispatch", "dispatched", "signed", "returned", "replied", "reviewed", "unsatisfied", "reopened", "closed",)),
    ("ticket_events", "to_state", ("pending_dispatch", "dispatched", "signed", "returned", "replied", "reviewed", "unsatisfied", "reopened", "closed",)),
    ("ticket_returns", "reason", ("not_our_duty", "wrong_area", "unclear_ownership", "other",)),
    ("ticket_returns", "decision", ("pending", "redispatched", "overruled",)),
]
LEVELS = [("supervision_cases", "level"), ("assignments", "escalation_level")]


def _name(table: str, column: str) -> str:
    return f"ck_{table}_{column}"[:63]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, values in ENUM_COLUMNS:
        allowed = ", ".join("'" + v + "'" for v in values)
        op.create_check_constraint(_name(table, column), table, f"{column} IS NULL OR {column} IN ({allowed})")
    for table, column in LEVELS:
        op.create_check_constraint(_name(table, column), table, f"{column} BETWEEN 1 AND 3")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in reversed(LEVELS):
        op.drop_constraint(_name(table, column), table, type_="check")
    for table, column, _ in reversed(ENUM_COLUMNS):
        op.drop_constraint(_name(table, column), table, type_="check")
