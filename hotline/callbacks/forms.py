from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from hotline.enums import Resolution, Satisfaction
from hotline.forms import Form
from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class CallbackForm(ActionForm):
    reached = RadioField("是否联系上", choices=[("1", "已联系上"), ("0", "未联系上")],
                         validators=[DataRequired("请选择是否联系上")])
    resolution = SelectField("解决情况", choices=[("", "—")] + Resolution.choices(), validators=[Optional()])
    satisfaction = SelectField("满意度", choices=[("", "—")] + Satisfaction.choices(), validators=[Optional()])
    request_reasonable = SelectField("诉求合理性", choices=[("", "—"), ("1", "合理"), ("0", "不合理")],
                                     validators=[Optional()])
    citizen_words = TextAreaField("市民意见", validators=[Length(max=4000)])
    note = TextAreaField("备注", validators=[Length(max=2000)])


class CloseUnreachableForm(ActionForm):
    note = TextAreaField("说明", validators=[Length(max=2000)])


class StatusForm(Form):
    number = StringField("工单编号", validators=[DataRequired("请输入工单编号"), Length(max=24)])
    #: The phone's last 4 digits, or an anonymous ticket's 8-character query code.
    phone_tail = StringField("联系电话后四位或查询码", validators=[
        DataRequired("请输入联系电话后四位或查询码"),
        Regexp(r"^\s*(\d{4}|[A-Za-z0-9]{8})\s*$", message="请输入 4 位数字或 8 位查询码")])


attach_form("callback", CallbackForm)
attach_form("close_unreachable", CloseUnreachableForm)
