"""Admin pages of webhooks (事件推送), on the admin blueprint (admins only): subscriptions
(list, create, edit, deactivate), the delivery log with each delivery's attempts, and
重新投递 of a delivered or failed delivery."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for

from hotline.admin.views.base import PER_PAGE, bp, form_page, get_or_404, post_action
from hotline.enums import EventAction
from hotline.extensions import db
from hotline.webhooks import services as svc
from hotline.webhooks.forms import SubscriptionEditForm, SubscriptionForm
from hotline.webhooks.models import WebhookDelivery, WebhookSubscription
from hotline.security import page_arg

EVENT_LABELS = {a.value: a.label for a in EventAction}


def _subscriptions():
    return db.session.scalars(sa.select(WebhookSubscription).order_by(WebhookSubscription.active.desc(),
                                                                      WebhookSubscription.id)).all()


@bp.route("/webhooks")
def webhooks():
    return render_template("admin/webhooks.html", subscriptions=_subscriptions(), counts=svc.counts_by_subscription(),
                           event_labels=EVENT_LABELS)


@bp.route("/webhooks/new", methods=["GET", "POST"])
def new_webhook():
    form = SubscriptionForm()

    def save():
        sub = svc.create_subscription(form.data)
        return (f"已创建推送订阅 {sub.system}，请把签名密钥告知接收方", url_for(".edit_webhook", sub_id=sub.id))

    return form_page(form, "admin/webhooks_form.html", save, title="新建推送订阅", sub=None,
                     back=url_for(".webhooks"))


@bp.route("/webhooks/<int:sub_id>/edit", methods=["GET", "POST"])
def edit_webhook(sub_id: int):
    sub = get_or_404(WebhookSubscription, sub_id)
    form = SubscriptionEditForm(data=dict(system=sub.system, url=sub.url, source=sub.source or "",
                                          event_types=list(sub.event_types or []), active=sub.active))

    def save():
        svc.update_subscription(sub, form.data)
        return f"已保存推送订阅 {sub.system}", url_for(".edit_webhook", sub_id=sub.id)

    page = form_page(form, "admin/webhooks_form.html", save, title=f"编辑推送订阅 {sub.system}", sub=sub,
                     back=url_for(".webhooks"))
    return _no_store(page)  # the page shows the secret


@bp.route("/webhooks/<int:sub_id>/deactivate", methods=["POST"])
def deactivate_webhook(sub_id: int):
    sub = get_or_404(WebhookSubscription, sub_id)

    def save():
        svc.deactivate(sub)
        return f"已停用推送订阅 {sub.system}"

    return post_action(save, url_for(".webhooks"))


@bp.route("/webhooks/deliveries")
def webhook_deliveries():
    state = request.args.get("state") or ""
    sub_id = request.args.get("subscription", type=int)
    page = db.paginate(svc.deliveries(state, sub_id), page=page_arg(),
                       per_page=PER_PAGE, error_out=True)
    return render_template("admin/webhooks_deliveries.html", pagination=page, state=state, sub_id=sub_id,
                           states=svc.STATES, subscriptions=_subscriptions(), event_labels=EVENT_LABELS,
                           attempts=svc.attempts_of([d.id for d in page.items]))


@bp.route("/webhooks/deliveries/<int:delivery_id>/replay", methods=["POST"])
def replay_webhook(delivery_id: int):
    delivery = get_or_404(WebhookDelivery, delivery_id)

    def save():
        svc.replay(delivery)
        return f"投递 #{delivery.id} 已重新排队，将由调度程序发送"

    back = request.form.get("next") or ""
    log = url_for(".webhook_deliveries")
    return post_action(save, back if back.startswith(log) else log)  # back to the filtered log, never elsewhere


def _no_store(page):
    if isinstance(page, tuple):
        body, status = page
        return body, status, {"Cache-Control": "no-store"}
    page.headers["Cache-Control"] = "no-store"
    return page
