"""Forms of handling.suspension's actions (attached with attach_form)."""
from wtforms import DateField, HiddenField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class SuspensionRequestForm(ActionForm):
    reason = TextAreaField("挂起理由", validators=[DataRequired("请填写挂起理由"), Length(max=2000)])
    expected_resume_on = DateField("预计恢复办理日期", validators=[DataRequired("请填写预计恢复办理日期")])


class SuspensionDecisionForm(ActionForm):
    suspension_id = HiddenField(validators=[DataRequired()])
    decision = RadioField("审批", choices=[("approve", "同意挂起"), ("refuse", "驳回")],
                          validators=[DataRequired("请选择同意或驳回")])
    note = TextAreaField("审批意见（驳回时必填）", validators=[Length(max=2000)])

    NOT_INPUT = ActionForm.NOT_INPUT + ("suspension_id",)


class ResumeForm(ActionForm):
    suspension_id = HiddenField(validators=[DataRequired()])
    note = TextAreaField("说明", validators=[Length(max=2000)])

    NOT_INPUT = ActionForm.NOT_INPUT + ("suspension_id",)


class TerminationRequestForm(ActionForm):
    reason = TextAreaField("终止理由", validators=[DataRequired("请填写终止理由"), Length(max=2000)])


class TerminationDecisionForm(ActionForm):
    termination_id = HiddenField(validators=[DataRequired()])
    decision = RadioField("审批", choices=[("approve", "同意终止"), ("refuse", "驳回")],
                          validators=[DataRequired("请选择同意或驳回")])
    note = TextAreaField("审批意见（驳回时必填）", validators=[Length(max=2000)])

    NOT_INPUT = ActionForm.NOT_INPUT + ("termination_id",)


attach_form("request_suspension", SuspensionRequestForm, "assignment_id")
attach_form("decide_suspension", SuspensionDecisionForm, "suspension_id")
attach_form("resume", ResumeForm, "suspension_id")
attach_form("request_termination", TerminationRequestForm, "assignment_id")
attach_form("decide_termination", TerminationDecisionForm, "termination_id")
