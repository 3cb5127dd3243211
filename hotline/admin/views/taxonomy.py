"""Admin pages of the taxonomy and routing: categories, routing rules (with the auto
dispatch switch) and the knowledge base."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_login import current_user

from hotline.admin import forms
from hotline.admin.services import taxonomy as svc
from hotline.admin.services.organisation import unit_tree
from hotline.admin.services.settings import AUTO_DISPATCH, get_setting, set_setting
from hotline.admin.views.base import PER_PAGE, bp, form_page, get_or_404, post_action, post_form
from hotline.auth.models import User
from hotline.categories.models import Category
from hotline.enums import UnitKind
from hotline.extensions import db
from hotline.intake.models import KnowledgeArticle
from hotline.routing.models import RoutingRule
from hotline.security import page_arg


# --- categories -------------------------------------------------------------------
def _category_form(cat: Category | None):
    data = {} if cat is None else dict(code=cat.code, name=cat.name, parent_id=cat.parent_id,
                                       sort=str(cat.sort), active=cat.active, public=cat.public)
    form = forms.CategoryForm(data=data)
    form.parent_id.choices = forms.category_choices(svc.category_tree(), blank="（无：一级分类）")
    return form


@bp.route("/categories")
def categories():
    return render_template("admin/categories.html", tree=svc.category_tree())


@bp.route("/categories/new", methods=["GET", "POST"])
def new_category():
    form = _category_form(None)

    def save():
        cat = svc.create_category(form.data)
        return f"已创建分类 {cat.full_name}", url_for(".categories")

    return form_page(form, "admin/form.html", save, title="新建分类", back=url_for(".categories"))


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
def edit_category(category_id: int):
    cat = get_or_404(Category, category_id)
    form = _category_form(cat)

    def save():
        svc.update_category(cat, form.data)
        return f"已保存分类 {cat.full_name}", url_for(".categories")

    return form_page(form, "admin/form.html", save, title=f"编辑分类 {cat.full_name}",
                     back=url_for(".categories"))


@bp.route("/categories/<int:category_id>/deactivate", methods=["POST"])
def deactivate_category(category_id: int):
    cat = get_or_404(Category, category_id)
    return post_action(lambda: f"已停用 {svc.deactivate_category(cat)} 个分类（{cat.full_name} 及其下级）",
                       url_for(".categories"))


# --- routing rules ----------------------------------------------------------------
def _rule_form(rule: RoutingRule | None):
    data = {} if rule is None else dict(
        category_id=rule.category_id, district_id=rule.district_id, lead_unit_id=rule.lead_unit_id,
        co_unit_ids=list(rule.co_unit_ids or []), certain=rule.certain, active=rule.active, note=rule.note)
    form = forms.RoutingRuleForm(data=data)
    tree = unit_tree()
    form.category_id.choices = forms.category_choices(svc.category_tree(), blank="（请选择）")
    form.district_id.choices = [("", "全市（不限区县）")] + [
        (u.id, u.name) for u in tree if u.kind is UnitKind.DISTRICT]
    form.lead_unit_id.choices = forms.unit_choices(tree, blank="（请选择）")
    form.co_unit_ids.choices = forms.unit_choices(tree)
    return form


@bp.route("/routing")
def routing():
    rules, co_units = svc.routing_rules()
    setting = forms.AutoDispatchForm(data=dict(auto_dispatch=get_setting(AUTO_DISPATCH) == "1"))
    return render_template("admin/routing.html", rules=rules, co_units=co_units, setting=setting)


@bp.route("/routing/settings", methods=["POST"])
def routing_settings():
    form = forms.AutoDispatchForm()

    def save():
        set_setting(AUTO_DISPATCH, "1" if form.auto_dispatch.data else "0")
        return "已开启受理时自动派单" if form.auto_dispatch.data else "已关闭受理时自动派单"

    return post_form(form, save, url_for(".routing"))


@bp.route("/routing/new", methods=["GET", "POST"])
def new_rule():
    form = _rule_form(None)

    def save():
        svc.save_routing_rule(None, form.data)
        return "已添加派单规则", url_for(".routing")

    return form_page(form, "admin/form.html", save, title="新建派单规则", back=url_for(".routing"))


@bp.route("/routing/<int:rule_id>/edit", methods=["GET", "POST"])
def edit_rule(rule_id: int):
    rule = get_or_404(RoutingRule, rule_id)
    form = _rule_form(rule)

    def save():
        svc.save_routing_rule(rule, form.data)
        return "已保存派单规则", url_for(".routing")

    return form_page(form, "admin/form.html", save, title="编辑派单规则", back=url_for(".routing"))


@bp.route("/routing/<int:rule_id>/delete", methods=["POST"])
def delete_rule(rule_id: int):
    rule = get_or_404(RoutingRule, rule_id)

    def delete():
        svc.delete_routing_rule(rule)
        return "已删除派单规则"

    return post_action(delete, url_for(".routing"))


# --- knowledge base ---------------------------------------------------------------
def _article_form(article: KnowledgeArticle | None):
    data = {} if article is None else dict(title=article.title, category_id=article.category_id,
                                           keywords=article.keywords, body=article.body, active=article.active)
    form = forms.ArticleForm(data=data)
    form.category_id.choices = forms.category_choices(svc.category_tree(), blank="（不限分类）")
    return form


@bp.route("/knowledge")
def knowledge():
    q = (request.args.get("q") or "").strip()
    include_inactive = request.args.get("all") == "1"
    page = db.paginate(svc.article_query(q, include_inactive), page=page_arg(),
                       per_page=PER_PAGE, error_out=True)
    editor_ids = {a.updated_by_id for a in page.items if a.updated_by_id}
    editors = dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(editor_ids))).all()) \
        if editor_ids else {}
    return render_template("admin/knowledge.html", pagination=page, q=q, include_inactive=include_inactive,
                           editors=editors)


@bp.route("/knowledge/new", methods=["GET", "POST"])
def new_article():
    form = _article_form(None)

    def save():
        article = svc.save_article(None, form.data, current_user)
        return f"已添加知识「{article.title}」", url_for(".knowledge")

    return form_page(form, "admin/form.html", save, title="新建知识", back=url_for(".knowledge"))


@bp.route("/knowledge/<int:article_id>/edit", methods=["GET", "POST"])
def edit_article(article_id: int):
    article = get_or_404(KnowledgeArticle, article_id)
    form = _article_form(article)

    def save():
        svc.save_article(article, form.data, current_user)
        return f"已保存知识「{article.title}」", url_for(".knowledge")

    return form_page(form, "admin/form.html", save, title="编辑知识", back=url_for(".knowledge"))


@bp.route("/knowledge/<int:article_id>/deactivate", methods=["POST"])
def deactivate_article(article_id: int):
    article = get_or_404(KnowledgeArticle, article_id)

    def deactivate():
        svc.deactivate_article(article, current_user)
        return f"已停用知识「{article.title}」"

    return post_action(deactivate, url_for(".knowledge"))
