"""Where a ticket came from when an interface records it: the telephony switch (CTI: call
id, the number as the switch gave it, the agent's login, the recording) or a provincial or
national platform that handed it over (上级转办: the platform, its number, its time limit).

`receive` is intake through an interface: a platform's number is one ticket however often
the platform sends it (the unique index on (external_source, external_number) settles a
race; the caller retries once and finds the winner's ticket here).
"""
from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa

from hotline.auth.models import User
from hotline.clock import TZ
from hotline.errors import ValidationFailed, clean_text
from hotline.extensions import db
from hotline.intake.operations import INTAKE_ROLES, record_ticket
from hotline.lifecycle.guards import require_role
from hotline.tickets.models import Ticket

#: Chinese mobile numbers: 11 digits from 13x to 19x.
MOBILE = re.compile(r"1[3-9]\d{9}")
#: What a number is after normalising: digits (a foreign number keeps its +).
NUMBER = re.compile(r"\+?\d{3,20}")


def normalise_phone(raw: str | None) -> str:
    """The number as the intake stores it (and the caller's history is looked up by), from
    the number as a switch presents it:

    - spaces, dashes, dots and brackets go: "138 0013-8000" -> "13800138000";
    - the country code goes: "+86", "0086", and a bare "86" before a mobile number;
    - a landline given with the country code gets its trunk 0 back:
      "+86 21 6234 5678" -> "02162345678";
    - a mobile number dialled with a trunk 0 loses it: "013800138000" -> "13800138000";
    - anything else (a local landline, a service number, a foreign "+44 …") stays as it is.
    """
    number = re.sub(r"[\s\-().]", "", raw or "")
    national = False
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            number, national = number[len(prefix):], True
            break
    else:
        if number.startswith("86") and MOBILE.fullmatch(number[2:]):
            number, national = number[2:], True
    if national:
        return number if MOBILE.fullmatch(number) or number.startswith("0") else "0" + number
    if number.startswith("0") and MOBILE.fullmatch(number[1:]):
        return number[1:]
    return number


def _local(value: datetime | None) -> datetime | None:
    """A moment as the hotline stores it: naive local time (an aware one is converted)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(TZ).replace(tzinfo=None)


def _optional(value, field: str, label: str, max_len: int) -> str | None:
    return clean_text(value, field, label, required=False, max_len=max_len) or None


def origin_fields(data: dict) -> dict:
    """The telephony and platform columns of a new ticket, checked. `data` uses the
    interface's names: call_id, caller_number, agent, recording_ref, external_source,
    external_number, external_due_at."""
    out = {
        "call_id": _optional(data.get("call_id"), "call_id", "通话编号", 64),
        "caller_number_raw": _optional(data.get("caller_number"), "caller_number", "来电号码", 64),
        "cti_agent": _optional(data.get("agent"), "agent", "坐席工号", 64),
        "recording_ref": _optional(data.get("recording_ref"), "recording_ref", "录音编号", 255),
        "external_source": _optional(data.get("external_source"), "external_source", "来源平台", 32),
        "external_number": _optional(data.get("external_number"), "external_number", "平台工单编号", 64),
        "external_due_at": _local(data.get("external_due_at")),
    }
    if bool(out["external_source"]) != bool(out["external_number"]):
        missing = "external_number" if out["external_source"] else "external_source"
        raise ValidationFailed("上级转办须同时提供来源平台和平台工单编号", field=missing)
    if out["external_due_at"] is not None and not out["external_source"]:
        raise ValidationFailed("平台办理时限仅用于上级转办工单（请同时提供来源平台和平台工单编号）",
                               field="external_due_at")
    return out


def caller_phone(draft: dict, origin: dict) -> dict:
    """The draft with the caller's phone taken from the switch's number when the draft
    has none (a number typed by the operator wins)."""
    if (draft.get("caller_phone") or "").strip() or not origin.get("caller_number_raw"):
        return draft
    phone = normalise_phone(origin["caller_number_raw"])
    if not NUMBER.fullmatch(phone):
        raise ValidationFailed("来电号码无法识别（可能是隐藏号码），请填写联系电话 caller_phone", field="caller_number")
    return {**draft, "caller_phone": phone}


def handed_over(source: str | None, number: str | None) -> Ticket | None:
    """The ticket a platform's number already made, if any."""
    if not source or not number:
        return None
    return db.session.scalars(sa.select(Ticket).where(Ticket.external_source == source,
                                                      Ticket.external_number == number)).first()


def receive(actor: User, draft: dict, data: dict, *, answer: str | None = None,
            with_rows=()) -> tuple[Ticket, bool]:
    """受理 through an interface: (ticket, created). `data` carries the origin (see
    origin_fields). A platform's number sent again returns the ticket it made, unchanged
    (created False; `with_rows` are then not written). Flushes; the caller commits.
    `with_rows`: see record_ticket."""
    require_role(actor, *INTAKE_ROLES)
    origin = origin_fields(data)
    existing = handed_over(origin["external_source"], origin["external_number"])
    if existing is not None:
        return existing, False
    return record_ticket(actor, caller_phone(draft, origin), answer=answer, origin=origin,
                         with_rows=with_rows), True
