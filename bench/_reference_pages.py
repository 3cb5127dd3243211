"""The reference for bench/pages_1m.py: the ticket pages a minimal Flask + SQLAlchemy
(Flask-SQLAlchemy, ORM) application would have on the same `tickets` table, written the
way such pages usually are: `GET /tickets?page=N` (the newest 50 tickets, counted with
db.paginate, as an HTML table from a Jinja template) and `GET /tickets/<id>` (one ticket
by primary key). No login, roles, visibility, queues, filters or history: the gap to the
real pages is what those cost.
"""
from __future__ import annotations

from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy

LIST = """<!doctype html><title>工单</title><table>
{% for t in page.items %}<tr><td><a href="/tickets/{{ t.id }}">{{ t.number }}</a></td><td>{{ t.title }}</td>
<td>{{ t.state }}</td><td>{{ t.created_at }}</td></tr>{% endfor %}</table>
<p>第 {{ page.page }} / {{ page.pages }} 页，共 {{ page.total }} 条</p>"""
ONE = """<!doctype html><title>{{ t.number }}</title><h1>{{ t.title }}</h1><p>{{ t.content }}</p>
<p>{{ t.address }} {{ t.state }} {{ t.created_at }}</p>"""


def create_reference_app(url: str) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db = SQLAlchemy(app)

    with app.app_context():
        db.metadata.reflect(bind=db.engine, only=["tickets"])

        class Ticket(db.Model):
            __table__ = db.metadata.tables["tickets"]

    @app.get("/tickets")
    def tickets():
        from flask import request

        page = db.paginate(db.select(Ticket).order_by(Ticket.id.desc()), per_page=50,
                           page=request.args.get("page", 1, type=int))
        return render_template_string(LIST, page=page)

    @app.get("/tickets/<int:ticket_id>")
    def ticket(ticket_id: int):
        return render_template_string(ONE, t=db.get_or_404(Ticket, ticket_id))

    return app
