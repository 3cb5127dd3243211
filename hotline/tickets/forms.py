"""Forms of the ticket actions. Each carries the ticket version the user saw."""
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, DateField, DateTimeLocalField, HiddenField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from hotline.forms import Form
from hotline.enums import Channel, Closure, RequestType, Resolution, ReturnReason, Satisfaction, TicketState

REQ = "此项必填"


class ActionForm(Form):
    version = HiddenField(validators=[DataRequired("缺少版本号，请刷新页面")])
    assignment_id = HiddenField()


class SignForm(ActionForm):
    pass


class DispatchForm(ActionForm):
    lead_unit_id = SelectField("主办单位", coerce=int, validators=[InputRequired("请选择主办单位")])
    co_unit_ids = SelectMultipleField("协办单位", coerce=int, validators=[Optional()])
    note = TextAreaField("派单说明", validators=[Length(max=2000)])


class RedispatchForm(DispatchForm):
    return_id = HiddenField(validators=[DataRequired()])
    lead_unit_id = SelectField("主办单位", coerce=int, validators=[Optional()])


class OverruleForm(ActionForm):
    return_id = HiddenField(validators=[DataRequired()])
    note = TextAreaField("驳回理由", validators=[DataRequired("请填写驳回理由"), Length(max=2000)])


class HandDownForm(ActionForm):
    sub_unit_id = SelectField("下派至", coerce=int, validators=[InputRequired("请选择下级单位")])
    note = TextAreaField("下派说明", validators=[Length(max=2000)])


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
    attachments = MultipleFileField("附件")


class ReviewForm(ActionForm):
    decision = RadioField("审核", choices=[("accept", "通过，转回访"), ("reject", "退回单位重新办理")],
                          validators=[DataRequired("请选择审核结果")])
    note = TextAreaField("审核意见（退回时必填）", validators=[Length(max=2000)])


class CallbackForm(ActionForm):
    reached = RadioField("是否联系上", choices=[("1", "已联系上"), ("0", "未联系上")],
                         validators=[DataRequired("请选择是否联系上")])
    resolution = SelectField("解决情况", choices=[("", "—")] + Resolution.choices(), validators=[Optional()])
    satisfaction = SelectField("满意度", choices=[("", "—")] + Satisfaction.choices(), validators=[Optional()])
    request_reasonable = SelectField("诉求合理性", choices=[("", "—"), ("1", "合理"), ("0", "不合理")],
                                     validators=[Optional()])
    citizen_words = TextAreaField("市民意见", validators=[Length(max=4000)])
    note = TextAreaField("备注", validators=[Length(max=2000)])


class ReopenForm(ActionForm):
    note = TextAreaField("重办要求", validators=[DataRequired("请填写重办要求"), Length(max=2000)])


class AnswerForm(ActionForm):
    answer = TextAreaField("直接答复内容", validators=[DataRequired("请填写答复内容"), Length(max=4000)])
    kb_article_id = HiddenField()


class ConfirmUnreasonableForm(ActionForm):
    note = TextAreaField("裁定理由", validators=[DataRequired("请填写裁定理由"), Length(max=2000)])


class MergeForm(ActionForm):
    into_number = StringField("并入工单编号", validators=[DataRequired("请填写主工单编号"), Length(max=24)])
    note = TextAreaField("说明", validators=[Length(max=2000)])


class CloseForm(ActionForm):
    closure = SelectField("办结方式", choices=[(Closure.UNREACHABLE.value, Closure.UNREACHABLE.label),
                                           (Closure.INVALID.value, Closure.INVALID.label)])
    note = TextAreaField("说明", validators=[Length(max=2000)])


class SearchForm(Form):
    class Meta:
        csrf = False

    number = StringField("工单编号", validators=[Optional(), Length(max=24)])
    phone = StringField("来电号码", validators=[Optional(), Length(max=32)])
    text = StringField("关键词", validators=[Optional(), Length(max=100)])
    category_id = SelectField("分类", coerce=lambda v: int(v) if v else None, validators=[Optional()])
    unit_id = SelectField("承办单位", coerce=lambda v: int(v) if v else None, validators=[Optional()])
    state = SelectField("状态", choices=[("", "全部")] + TicketState.choices(), validators=[Optional()])
    date_from = DateField("受理日期从", validators=[Optional()])
    date_to = DateField("至", validators=[Optional()])
    queue = HiddenField()
    sort = SelectField("排序", choices=[("created_desc", "受理时间（新→旧）"), ("created_asc", "受理时间（旧→新）"),
                                      ("updated_desc", "最近更新"), ("state", "状态")], validators=[Optional()])
    # Filters the dashboard drills down with (search_tickets documents them).
    request_type = SelectField("诉求类型", choices=[("", "全部")] + RequestType.choices(), validators=[Optional()])
    channel = SelectField("渠道", choices=[("", "全部")] + Channel.choices(), validators=[Optional()])
    district_id = SelectField("所属区县", coerce=lambda v: None if v in ("", None) else int(v),
                              validators=[Optional()])
    address = StringField("地址", widget=HiddenInput(), validators=[Optional(), Length(max=300)])
    category_root = StringField("大类", widget=HiddenInput(), validators=[Optional(), Length(max=100)])
    category_exact = StringField("仅本分类", widget=HiddenInput(), validators=[Optional()])
    overdue_on = DateField("办理超期日", widget=HiddenInput(), validators=[Optional()])

    def drilldown_filters(self) -> dict:
        """The dashboard's extra filters, as keyword arguments of search_tickets."""
        return dict(request_type=self.request_type.data or None, channel=self.channel.data or None,
                    district_id=self.district_id.data, address=self.address.data or None,
                    category_root=self.category_root.data or None,
                    category_exact=self.category_exact.data == "1", overdue_on=self.overdue_on.data)

    def filters(self) -> dict:
        """Every filter of the form, as keyword arguments of search_tickets (for the export)."""
        return dict(number=self.number.data, phone=self.phone.data, text=self.text.data,
                    category_id=self.category_id.data, unit_id=self.unit_id.data, state=self.state.data or None,
                    date_from=self.date_from.data, date_to=self.date_to.data,
                    sort=self.sort.data or "created_desc", **self.drilldown_filters())

    def drilldown_labels(self) -> list[str]:
        """The hidden drill-down filters in words, so the list says why it is narrowed."""
        labels = []
        if self.category_root.data:
            labels.append(f"大类：{self.category_root.data}")
        if self.category_exact.data == "1" and self.category_id.data:
            labels.append("仅本分类（不含下级分类）")
        if self.address.data:
            labels.append(f"地址：{self.address.data}")
        if self.overdue_on.data:
            labels.append(f"主办单位办理时限于 {self.overdue_on.data:%Y-%m-%d} 到期而未按时反馈")
        return labels
