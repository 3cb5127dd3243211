import re

from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, DateTimeLocalField, HiddenField, SelectField, StringField, SubmitField,
                     TextAreaField, ValidationError)
from wtforms.validators import DataRequired, Length, Optional

from hotline.enums import Channel, EmergencyLine, RequestType, Urgency
from hotline.forms import Form
from hotline.intake.cases_forms import ANONYMOUS_LABEL, PHONE_MESSAGE, PHONE_PATTERN
from hotline.intake.drafts import NO_PHONE_CHANNELS
from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm

NO_PHONE_CHANNEL_VALUES = tuple(c.value for c in NO_PHONE_CHANNELS)


class IntakeForm(Form):
    # Required unless an anonymous letter or web message (validate_caller_phone; validate_draft).
    caller_phone = StringField("联系电话")
    caller_name = StringField("诉求人姓名", validators=[Optional(), Length(max=100)])
    anonymous = BooleanField(ANONYMOUS_LABEL)
    channel = SelectField("来源渠道", choices=Channel.choices(), default=Channel.PHONE.value)
    request_type = SelectField("诉求类型", choices=[("", "请选择")] + RequestType.choices(),
                               validators=[DataRequired("请选择诉求类型")])
    urgency = SelectField("紧急程度", choices=Urgency.choices(), default=Urgency.NORMAL.value)
    category_id = SelectField("诉求分类", coerce=lambda v: int(v) if v else None,
                              validators=[DataRequired("请选择诉求分类")])
    confidential = BooleanField("保密（不向承办单位显示诉求人）")
    address = StringField("事发地址", validators=[Optional(), Length(max=300)])
    district_id = SelectField("所属区县", coerce=lambda v: int(v) if v else None, validators=[Optional()])
    title = StringField("工单标题", validators=[DataRequired("请填写工单标题"), Length(max=200)])
    content = TextAreaField("诉求内容", validators=[DataRequired("请填写诉求内容"), Length(max=10000)])
    attachments = MultipleFileField("附件")
    answer = TextAreaField("直接答复内容", validators=[Optional(), Length(max=4000)])
    kb_article_id = HiddenField()
    # 不予受理 / 转应急处置: the call's other endings (hotline.intake.cases).
    refusal_reason = SelectField("不予受理理由", default="")  # choices: the setting (views._choices)
    emergency_line = SelectField("转接的应急热线", choices=[("", "请选择")] + EmergencyLine.choices(), default="")
    transferred_at = DateTimeLocalField("转接时间（不填为当前时间）", format="%Y-%m-%dT%H:%M", validators=[Optional()])
    ending_note = TextAreaField("不予受理或转接说明", validators=[Optional(), Length(max=2000)])
    save = SubmitField("保存并转派单")
    answer_now = SubmitField("直接答复并办结")
    refuse_now = SubmitField("不予受理并办结")
    transfer_now = SubmitField("转应急处置并办结")

    def validate_caller_phone(self, field):
        if (field.data or "").strip():
            if not re.match(PHONE_PATTERN, field.data):
                raise ValidationError(PHONE_MESSAGE)
            return
        if self.anonymous.data and self.channel.data in NO_PHONE_CHANNEL_VALUES:
            return
        raise ValidationError("请填写联系电话" + ("（仅信件、网站、微信、APP 匿名诉求可不留电话）"
                                                 if self.anonymous.data else ""))

    def validate_refusal_reason(self, field):
        if self.refuse_now.data and not field.data:
            raise ValidationError("请选择不予受理的理由")

    def validate_emergency_line(self, field):
        if self.transfer_now.data and not field.data:
            raise ValidationError("请选择转接的应急热线")

    def ending(self) -> tuple[str, dict] | None:
        """The call's ending other than saving or answering: (action key, its input)."""
        if self.refuse_now.data:
            return "refuse_intake", {"reason": self.refusal_reason.data, "note": self.ending_note.data}
        if self.transfer_now.data:
            return "transfer", {"line": self.emergency_line.data, "transferred_at": self.transferred_at.data,
                                "note": self.ending_note.data}
        return None


class AnswerForm(ActionForm):
    answer = TextAreaField("直接答复内容", validators=[DataRequired("请填写答复内容"), Length(max=4000)])
    kb_article_id = HiddenField()


attach_form("answer", AnswerForm)
