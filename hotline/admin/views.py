"""Admin pages (users, units, categories, routing rules, policy, calendar, knowledge base)."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
