from wtforms import RadioField, TextAreaField
from wtforms.validators import DataRequired, Length

from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class ReviewForm(ActionForm):
    decision = RadioField("审核", choices=[("accept", "通过，转回访"), ("reject", "退回单位重新办理")],
                          validators=[DataRequired("请选择审核结果")])
    note = TextAreaField("审核意见（退回时必填）", validators=[Length(max=2000)])


attach_form("review", ReviewForm)
