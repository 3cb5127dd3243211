"""Webhook subscriptions and deliveries as the admin manages them (each flushes; the page's
unit of work commits). The rules: the URL is http(s) with a host; the secret is made here
and only changed on request; event types are EventAction values (none = every event); a
delivered or failed delivery of an active subscription may be sent again (重新投递); a
pending one is still waiting."""
from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa

from hotline.admin.services.base import flushing, text
from hotline.clock import now as clock_now
from hotline.enums import EventAction
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.webhooks import outbox
from hotline.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

STATES = {"pending": "待发送", "delivered": "已送达", "failed": "投递失败"}
EVENT_VALUES = {a.value for a in EventAction}


def new_secret() -> str:
    return secrets.token_hex(32)


def clean_url(value) -> str:
    url = (value or "").strip()
    if not url:
        raise ValidationFailed("请填写推送地址", field="url")
    if len(url) > 500:
        raise ValidationFailed("推送地址不能超过 500 个字符", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname or any(
            c.isspace() for c in url):
        raise ValidationFailed("推送地址须为 http:// 或 https:// 开头的完整网址", field="url")
    return url


def _clean(data: dict) -> dict:
    types = sorted({str(t) for t in (data.get("event_types") or ())})
    unknown = [t for t in types if t not in EVENT_VALUES]
    if unknown:
        raise ValidationFailed(f"未知的事件类型：{'、'.join(unknown)}", field="event_types")
    return dict(system=text(data.get("system"), "外部系统", "system", 64), url=clean_url(data.get("url")),
                event_types=types, source=text(data.get("source"), "来源平台", "source", 32, required=False) or None)


def create_subscription(data: dict) -> WebhookSubscription:
    sub = WebhookSubscription(**_clean(data), secret=new_secret(), active=True, created_at=clock_now())
    with flushing():
        db.session.add(sub)
    outbox.forget()
    return sub


def update_subscription(sub: WebhookSubscription, data: dict) -> WebhookSubscription:
    values = _clean(data)
    with flushing():
        for key, value in values.items():
            setattr(sub, key, value)
        sub.active = bool(data.get("active", sub.active))
        if data.get("new_secret"):
            sub.secret = new_secret()
    outbox.forget()
    return sub


def deactivate(sub: WebhookSubscription) -> None:
    """No new deliveries; its pending ones wait (sent if it is enabled again)."""
    with flushing():
        sub.active = False
    outbox.forget()


def replay(delivery: WebhookDelivery) -> WebhookDelivery:
    """重新投递: queue a delivered or failed delivery again, due now, with a fresh round of
    attempts; its attempt log is kept."""
    if delivery.state == "pending":
        raise ValidationFailed("该投递正在等待发送，无需重新投递", code="NOT_REPLAYABLE")
    if not delivery.subscription.active:
        raise ValidationFailed("该推送订阅已停用，请先启用后再重新投递", code="NOT_REPLAYABLE")
    with flushing():
        delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, clock_now()
        delivery.delivered_at = None
    return delivery


def deliveries(state: str | None = None, subscription_id: int | None = None) -> sa.Select:
    """The delivery log, newest first, filtered by state and subscription."""
    stmt = sa.select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
    if state in STATES:
        stmt = stmt.where(WebhookDelivery.state == state)
    if subscription_id:
        stmt = stmt.where(WebhookDelivery.subscription_id == subscription_id)
    return stmt


def attempts_of(delivery_ids) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        for row in db.session.scalars(sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
                                      .order_by(WebhookAttempt.id)):
            found[row.delivery_id].append(row)
    return found


def counts_by_subscription() -> dict[int, dict[str, int]]:
    """{subscription id: {state: deliveries}} of the pending and failed ones (the list page;
    read through the (state, next_attempt_at) index, never the whole delivered history)."""
    out: dict[int, dict[str, int]] = {}
    for sid, state, n in db.session.execute(
            sa.select(WebhookDelivery.subscription_id, WebhookDelivery.state, sa.func.count())
            .where(WebhookDelivery.state.in_(("pending", "failed")))
            .group_by(WebhookDelivery.subscription_id, WebhookDelivery.state)):
        out.setdefault(sid, {})[state] = n
    return out
