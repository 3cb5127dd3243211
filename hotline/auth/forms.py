from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from hotline.forms import Form


class LoginForm(Form):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码")])
    remember = BooleanField("记住我")
