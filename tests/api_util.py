"""Helpers of the API tests: a bearer token for a test user, and a client that sends it."""
from __future__ import annotations

from hotline.api.auth import create_token
from hotline.extensions import db
from hotline.lifecycle import unit_of_work


def token_for(user, name: str = "测试令牌") -> str:
    with unit_of_work():
        _, text = create_token(db.session.merge(user), name)
    return text


class Api:
    """The test client with `Authorization: Bearer <token>` on every request."""

    def __init__(self, client, token: str):
        self.client, self.token = client, token

    def headers(self, extra=None) -> dict:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers(kw.pop("headers", None)), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, headers=self.headers(kw.pop("headers", None)), **kw)


def api_as(client, user) -> Api:
    return Api(client, token_for(user, f"{user.username} 的令牌"))
