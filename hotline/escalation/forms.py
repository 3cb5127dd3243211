from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from hotline.forms import Form


class ProgressForm(Form):
    text = TextAreaField("本周进展", validators=[DataRequired("请填写进展情况"), Length(max=4000)])


class InstructionForm(Form):
    text = TextAreaField("领导批示", validators=[DataRequired("请填写批示内容"), Length(max=4000)])


class AcceptForm(Form):
    note = TextAreaField("验收意见", validators=[DataRequired("请填写验收意见"), Length(max=4000)])
