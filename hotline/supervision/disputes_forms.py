"""Forms of supervision.disputes's actions (attached with attach_form)."""
from wtforms import HiddenField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class DisputeForm(ActionForm):
    """申请甄别 of a 不满意 callback: it does not act on a ticket version."""

    NOT_INPUT = ActionForm.NOT_INPUT + ("callback_id",)

    version = HiddenField()
    callback_id = HiddenField()
    reason = TextAreaField("甄别理由", validators=[DataRequired("请填写甄别理由"), Length(max=4000)])
    evidence = TextAreaField("佐证材料说明", validators=[DataRequired("请填写佐证材料说明"), Length(max=10000)])


class DecideDisputeForm(ActionForm):
    NOT_INPUT = ActionForm.NOT_INPUT + ("dispute_id",)

    version = HiddenField()
    dispute_id = HiddenField()
    decision = RadioField("裁定结果", choices=[("uphold", "甄别成立（不计入单位）"), ("reject", "甄别不成立（仍计入单位）")],
                          validators=[DataRequired("请选择裁定结果")])
    note = TextAreaField("裁定意见", validators=[DataRequired("请填写裁定意见"), Length(max=4000)])


attach_form("dispute", DisputeForm, "callback_id")
attach_form("decide_dispute", DecideDisputeForm, "dispute_id")
