"""Forms of review.signoff's actions (attached with attach_form)."""
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class SignoffApproveForm(ActionForm):
    words = TextAreaField("签批意见", validators=[DataRequired("请填写签批意见"), Length(max=4000)])


class SignoffReturnForm(ActionForm):
    words = TextAreaField("退回意见（签批要求）", validators=[DataRequired("请填写签批退回的意见"), Length(max=4000)])


attach_form("signoff_approve", SignoffApproveForm)
attach_form("signoff_return", SignoffReturnForm)
