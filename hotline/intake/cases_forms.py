"""Forms of intake.cases's actions (attached with attach_form)."""
from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from hotline import refcache
from hotline.categories.queries import category_choices
from hotline.enums import Channel, EmergencyLine, RequestType, Urgency
from hotline.intake.cases import refusal_reasons
from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm

PHONE_PATTERN = r"^\s*[0-9+\-]{5,20}\s*$"
PHONE_MESSAGE = "联系电话格式不正确（5-20位数字，可含 + 和 -）"
ANONYMOUS_LABEL = "匿名（不留姓名、不回访；信件和网站、微信、APP 留言可不留电话）"


def reason_choices() -> list[tuple[str, str]]:
    return [("", "请选择不予受理的理由")] + [(r["key"], r["label"]) for r in refusal_reasons()]


def district_choices() -> list:
    """Active districts in tree order (the per-process reference cache)."""
    return [("", "—")] + [(u.id, u.name) for u in refcache.districts()]


class RefuseIntakeForm(ActionForm):
    reason = SelectField("不予受理理由", validators=[DataRequired("请选择不予受理的理由")])
    note = TextAreaField("说明（选“其他”时必填）", validators=[Length(max=2000)])

    def prepare(self, ticket, target, user, *, fresh):
        self.reasons = refusal_reasons()  # with the words to read out (actions/refuse_intake_info.html)
        self.reason.choices = [("", "请选择不予受理的理由")] + [(r["key"], r["label"]) for r in self.reasons]


class TransferForm(ActionForm):
    line = SelectField("转接的应急热线", choices=[("", "请选择")] + EmergencyLine.choices(),
                       validators=[DataRequired("请选择转接的应急热线")])
    transferred_at = DateTimeLocalField("转接时间（不填为当前时间）", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    note = TextAreaField("转接说明", validators=[Length(max=2000)])


class SendBackForm(ActionForm):
    note = TextAreaField("退回说明（需修改的内容）", validators=[DataRequired("请填写退回说明"), Length(max=2000)])


class EditForm(ActionForm):
    """The recorded fields, as on the intake page, filled with the ticket's values."""

    channel = SelectField("来源渠道", choices=Channel.choices())
    request_type = SelectField("诉求类型", choices=RequestType.choices(), validators=[DataRequired("请选择诉求类型")])
    urgency = SelectField("紧急程度", choices=Urgency.choices())
    category_id = SelectField("诉求分类", coerce=lambda v: int(v) if v else None,
                              validators=[DataRequired("请选择诉求分类")])
    anonymous = BooleanField(ANONYMOUS_LABEL)
    caller_name = StringField("诉求人姓名", validators=[Optional(), Length(max=100)])
    caller_phone = StringField("联系电话", validators=[Optional(), Regexp(PHONE_PATTERN, message=PHONE_MESSAGE)])
    confidential = BooleanField("保密（不向承办单位显示诉求人）")
    address = StringField("事发地址", validators=[Optional(), Length(max=300)])
    district_id = SelectField("所属区县", coerce=lambda v: int(v) if v else None, validators=[Optional()])
    title = StringField("工单标题", validators=[DataRequired("请填写工单标题"), Length(max=200)])
    content = TextAreaField("诉求内容", validators=[DataRequired("请填写诉求内容"), Length(max=10000)])
    note = TextAreaField("修改说明", validators=[Length(max=2000)])

    def prepare(self, ticket, target, user, *, fresh):
        self.category_id.choices = [("", "请选择")] + category_choices()
        self.district_id.choices = district_choices()
        if fresh:
            for name in ("channel", "request_type", "urgency"):
                getattr(self, name).data = getattr(ticket, name).value
            for name in ("category_id", "anonymous", "caller_name", "caller_phone", "confidential", "address",
                         "district_id", "title", "content"):
                getattr(self, name).data = getattr(ticket, name)


class WithdrawForm(ActionForm):
    note = TextAreaField("诉求人撤单的说法", validators=[DataRequired("请记录诉求人撤单的说法"), Length(max=2000)])


attach_form("refuse_intake", RefuseIntakeForm)
attach_form("transfer", TransferForm)
attach_form("send_back", SendBackForm)
attach_form("edit", EditForm)
attach_form("withdraw", WithdrawForm)
