"""The reference for bench/api_create.py: a minimal Flask + SQLAlchemy (Flask-SQLAlchemy,
ORM) create endpoint on the same `tickets` table, written the way such an endpoint usually
is. `POST /tickets` reads the JSON body, adds one row (every NOT NULL column filled, a
unique number), commits, and answers 201 with the stored row. No authentication,
validation, rules or history: the gap to the real API is what those cost.

    BENCH_REF_DATABASE_URL=postgresql+psycopg://… gunicorn -w 4 bench._reference_app:app
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BENCH_REF_DATABASE_URL"]
db = SQLAlchemy(app)

with app.app_context():
    db.metadata.reflect(bind=db.engine, only=["tickets"])

    class Ticket(db.Model):
        __table__ = db.metadata.tables["tickets"]


@app.post("/tickets")
def create():
    data = request.get_json()
    now = datetime.now()
    ticket = Ticket(number="R" + uuid.uuid4().hex[:20], version=1, state="pending_dispatch",
                    channel=data.get("channel") or "phone", request_type=data["request_type"],
                    category_id=data["category_id"], urgency=data.get("urgency") or "normal",
                    caller_name=data.get("caller_name") or "", caller_phone=data.get("caller_number") or "",
                    confidential=bool(data.get("confidential")), address=data.get("address") or "",
                    district_id=data.get("district_id"), title=data["title"], content=data["content"],
                    created_at=now, updated_at=now, reopen_count=0, anonymous=bool(data.get("anonymous")),
                    call_id=data.get("call_id"), caller_number_raw=data.get("caller_number"),
                    cti_agent=data.get("agent"), recording_ref=data.get("recording_ref"))
    db.session.add(ticket)
    db.session.commit()
    return jsonify({c.name: getattr(ticket, c.name) for c in Ticket.__table__.columns}), 201
