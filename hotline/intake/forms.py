from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from hotline.enums import Channel, RequestType, Urgency
from hotline.forms import Form
from hotline.lifecycle.registry import attach_form
from hotline.tickets.forms import ActionForm


class IntakeForm(Form):
    caller_phone = StringField("来电号码", validators=[
        DataRequired("请填写来电号码"),
        Regexp(r"^\s*[0-9+\-]{5,20}\s*$", message="来电号码格式不正确（5-20位数字，可含 + 和 -）")])
    caller_name = StringField("来电人姓名", validators=[Optional(), Length(max=100)])
    channel = SelectField("来源渠道", choices=Channel.choices(), default=Channel.PHONE.value)
    request_type = SelectField("诉求类型", choices=[("", "请选择")] + RequestType.choices(),
                               validators=[DataRequired("请选择诉求类型")])
    urgency = SelectField("紧急程度", choices=Urgency.choices(), default=Urgency.NORMAL.value)
    category_id = SelectField("诉求分类", coerce=lambda v: int(v) if v else None,
                              validators=[DataRequired("请选择诉求分类")])
    confidential = BooleanField("保密（不向承办单位显示来电人）")
    address = StringField("事发地址", validators=[Optional(), Length(max=300)])
    district_id = SelectField("所属区县", coerce=lambda v: int(v) if v else None, validators=[Optional()])
    title = StringField("工单标题", validators=[DataRequired("请填写工单标题"), Length(max=200)])
    content = TextAreaField("诉求内容", validators=[DataRequired("请填写诉求内容"), Length(max=10000)])
    attachments = MultipleFileField("附件")
    answer = TextAreaField("直接答复内容", validators=[Optional(), Length(max=4000)])
    kb_article_id = HiddenField()
    save = SubmitField("保存并转派单")
    answer_now = SubmitField("直接答复并办结")


class AnswerForm(ActionForm):
    answer = TextAreaField("直接答复内容", validators=[DataRequired("请填写答复内容"), Length(max=4000)])
    kb_article_id = HiddenField()


attach_form("answer", AnswerForm)
