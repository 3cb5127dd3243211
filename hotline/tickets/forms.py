"""The ticket search form, and the base of every lifecycle action's form.

An action form carries the ticket version the user saw and, where the action acts on one
row (an assignment, a pending return or extension request, a supervision case), that
row's id; the stage's forms module attaches each form to its action in the registry.
"""
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from hotline.enums import Channel, RequestType, TicketState
from hotline.forms import Form


class ActionForm(Form):
    version = HiddenField(validators=[DataRequired("缺少版本号，请刷新页面")])
    assignment_id = HiddenField()

    #: Fields that are not the action's input.
    NOT_INPUT = ("csrf_token", "version", "assignment_id", "return_id", "request_id", "case_id", "instruction_id")

    def prepare(self, ticket, target, user, *, fresh: bool) -> None:
        """Choices and defaults that depend on the ticket and on what the action acts on."""

    def has_input(self) -> bool:
        """Whether the user fills anything in (else the action is a single button)."""
        return any(f.type not in ("HiddenField", "CSRFTokenField") for f in self)

    def has_files(self) -> bool:
        return any(f.type == "MultipleFileField" for f in self)

    def action_data(self) -> dict:
        """The action's input, as the operation reads it."""
        return {name: f.data for name, f in self._fields.items() if name not in self.NOT_INPUT}


class SearchForm(Form):
    class Meta:
        csrf = False

    number = StringField("工单编号", validators=[Optional(), Length(max=24)])
    phone = StringField("联系电话", validators=[Optional(), Length(max=32)])
    text = StringField("关键词", validators=[Optional(), Length(max=100)])
    category_id = SelectField("分类", coerce=lambda v: int(v) if v else None, validators=[Optional()])
    unit_id = SelectField("承办单位", coerce=lambda v: int(v) if v else None, validators=[Optional()])
    state = SelectField("状态", choices=[("", "全部")] + TicketState.choices(), validators=[Optional()])
    date_from = DateField("受理日期从", validators=[Optional()])
    date_to = DateField("至", validators=[Optional()])
    queue = HiddenField()
    sort = SelectField("排序", choices=[("relevance", "相关度（无关键词时按受理时间）"), ("created_desc", "受理时间（新→旧）"), ("created_asc", "受理时间（旧→新）"),
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
                    sort=self.sort.data or "relevance", **self.drilldown_filters())

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
