"""Forms of the webhook admin pages: the shape of the input; the rules (an http(s) URL,
known event types) are in hotline.webhooks.services."""
from __future__ import annotations

from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from hotline.admin.forms import AdminForm, MultiCheckboxField
from hotline.enums import EventAction


class SubscriptionForm(AdminForm):
    system = StringField("外部系统", description="接收推送的系统名称，例如：省级政务服务平台、微信公众号",
                         validators=[DataRequired("请填写外部系统"), Length(max=64, message="外部系统不能超过 64 个字")])
    url = StringField("推送地址", description="http:// 或 https:// 开头；系统以 POST 发送 JSON",
                      validators=[DataRequired("请填写推送地址")])
    source = StringField("仅限来源平台", description="填写来源平台代码（如 province）则只推送该平台转来的工单；不填则推送全部工单",
                         validators=[Length(max=32, message="来源平台不能超过 32 个字符")])
    event_types = MultiCheckboxField("推送的事件类型（不选则推送全部事件）", choices=EventAction.choices(),
                                     validate_choice=False)


class SubscriptionEditForm(SubscriptionForm):
    active = BooleanField("启用")
    new_secret = BooleanField("重新生成签名密钥", description="生成后原密钥立即失效，接收方须同时更换")
