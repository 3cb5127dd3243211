from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class ReopenForm(ActionForm):
    note = TextAreaField("重办要求", validators=[DataRequired("请填写重办要求"), Length(max=2000)])


class ConfirmUnreasonableForm(ActionForm):
    note = TextAreaField("裁定理由", validators=[DataRequired("请填写裁定理由"), Length(max=2000)])


class CaseForm(ActionForm):
    """A supervision case's action: it acts on the case, not on a ticket version."""

    version = HiddenField()
    case_id = HiddenField()


class ProgressForm(CaseForm):
    text = TextAreaField("本周进展", validators=[DataRequired("请填写进展情况"), Length(max=4000)])


class InstructionForm(ActionForm):
    version = HiddenField()
    text = TextAreaField("批示内容", validators=[DataRequired("请填写批示内容"), Length(max=4000)])


class AckForm(ActionForm):
    version = HiddenField()
    instruction_id = HiddenField()


class AcceptForm(CaseForm):
    note = TextAreaField("验收意见", validators=[DataRequired("请填写验收意见"), Length(max=4000)])


attach_form("reopen", ReopenForm)
attach_form("confirm_unreasonable", ConfirmUnreasonableForm)
attach_form("progress", ProgressForm, "case_id")
attach_form("instruction", InstructionForm)
attach_form("ack_instruction", AckForm, "instruction_id")
attach_form("accept_case", AcceptForm, "case_id")
