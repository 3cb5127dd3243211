"""Forms of the unit's actions."""
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, DateField, DateTimeLocalField, HiddenField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from hotline.enums import ReturnReason
from hotline.handling.operations import hand_down_options
from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class SignForm(ActionForm):
    pass


class HandDownForm(ActionForm):
    sub_unit_id = SelectField("下派至", coerce=int, validators=[InputRequired("请选择下级单位")])
    note = TextAreaField("下派说明", validators=[Length(max=2000)])

    def prepare(self, ticket, target, user, *, fresh):
        self.sub_unit_id.choices = []
        if target is not None:
            self.sub_unit_id.choices = [(u.id, "　" * max(u.level - 2, 0) + u.name)
                                        for u in hand_down_options(target, user)]


class ReturnForm(ActionForm):
    reason = SelectField("退单原因", choices=ReturnReason.choices(), validators=[DataRequired("请选择退单原因")])
    reason_text = TextAreaField("退单说明", validators=[Length(max=2000)])


class ExtensionRequestForm(ActionForm):
    requested_due_at = DateTimeLocalField("申请延期至", format="%Y-%m-%dT%H:%M",
                                          validators=[DataRequired("请填写申请延期至的时间")])
    reason = TextAreaField("延期理由", validators=[DataRequired("请填写延期理由"), Length(max=2000)])


class ExtensionDecisionForm(ActionForm):
    request_id = HiddenField(validators=[DataRequired()])
    decision = RadioField("审批", choices=[("approve", "同意"), ("refuse", "拒绝")],
                          validators=[DataRequired("请选择同意或拒绝")])
    note = TextAreaField("审批意见", validators=[Length(max=2000)])


class ReplyForm(ActionForm):
    result = TextAreaField("办理结果", validators=[DataRequired("请填写办理结果"), Length(max=10000)])
    actions_taken = TextAreaField("办理过程", validators=[Length(max=10000)])
    contacted_citizen = BooleanField("已与市民联系")
    contact_note = TextAreaField("联系情况", validators=[Length(max=2000)])
    public_text = TextAreaField("对市民公开的答复（不填则用办理结果）", validators=[Length(max=4000)])
    interim = BooleanField("阶段性答复（诉求合理但暂不能解决，纳入计划）")
    plan = TextAreaField("工作计划（阶段性答复时填写）", validators=[Length(max=10000)])
    follow_up_on = DateField("计划跟踪日期（阶段性答复时填写）", validators=[Optional()])
    attachments = MultipleFileField("附件")


attach_form("sign", SignForm, "assignment_id")
attach_form("hand_down", HandDownForm, "assignment_id")
attach_form("return", ReturnForm, "assignment_id")
attach_form("extension", ExtensionRequestForm, "assignment_id")
attach_form("decide_extension", ExtensionDecisionForm, "request_id")
attach_form("reply", ReplyForm, "assignment_id")
