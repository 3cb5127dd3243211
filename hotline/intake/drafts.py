"""The recorded fields of a request, checked the same way at intake and at 修改."""
from __future__ import annotations

import re

from hotline import refcache
from hotline.enums import Channel, RequestType, UnitKind, Urgency
from hotline.errors import ValidationFailed
from hotline.lifecycle.guards import coerce, text

PHONE_RE = re.compile(r"^[0-9+\-]{5,20}$")
TICKET_FIELDS = ("channel", "request_type", "category_id", "urgency", "anonymous", "caller_name", "caller_phone",
                 "confidential", "address", "district_id", "title", "content")
#: Channels where an anonymous citizen need not leave a phone (letters, web messages).
NO_PHONE_CHANNELS = (Channel.LETTER, Channel.WEBSITE, Channel.WECHAT, Channel.APP)



def int_or_none(value, field: str, message: str):
    if value in (None, "", 0, "0"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(message, field=field) from None


def validate_draft(draft: dict) -> dict:
    """The recorded fields of a request, checked (intake and 修改 alike). An anonymous
    (匿名) request leaves no name, and by letter or web message no phone either."""
    channel = coerce(Channel, draft.get("channel") or Channel.PHONE, "channel", "来源渠道")
    anonymous = bool(draft.get("anonymous"))
    phone = re.sub(r"\s+", "", draft.get("caller_phone") or "")
    if not phone and not (anonymous and channel in NO_PHONE_CHANNELS):
        raise ValidationFailed("请填写联系电话" + ("（仅信件、网站、微信、APP 匿名诉求可不留电话）" if anonymous else ""),
                               field="caller_phone")
    if phone and not PHONE_RE.match(phone):
        raise ValidationFailed("联系电话格式不正确（5-20位数字，可含 + 和 -）", field="caller_phone")
    category_id = int_or_none(draft.get("category_id"), "category_id", "请选择有效的诉求分类")
    category = refcache.category(category_id) if category_id else None
    if category is None or not category.active:
        raise ValidationFailed("请选择有效的诉求分类", field="category_id")
    district_id = int_or_none(draft.get("district_id"), "district_id", "所选区县无效")
    if district_id is not None:
        district = refcache.unit(district_id)
        if district is None or district.kind is not UnitKind.DISTRICT:
            raise ValidationFailed("所选区县无效", field="district_id")
    return {
        "channel": channel,
        "request_type": coerce(RequestType, draft.get("request_type"), "request_type", "诉求类型"),
        "urgency": coerce(Urgency, draft.get("urgency") or Urgency.NORMAL, "urgency", "紧急程度"),
        "category_id": category.id,
        "anonymous": anonymous,
        "caller_name": "" if anonymous else text(draft.get("caller_name"), "caller_name", "诉求人姓名",
                                                 required=False, max_len=100),
        "caller_phone": phone,
        "confidential": bool(draft.get("confidential")),
        "address": text(draft.get("address"), "address", "事发地址", required=False, max_len=300),
        "district_id": district_id,
        "title": text(draft.get("title"), "title", "工单标题", max_len=200),
        "content": text(draft.get("content"), "content", "诉求内容", max_len=10000),
    }
