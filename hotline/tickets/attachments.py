"""Attachments: checked before anything is saved, stored under instance/attachments/,
served only to users who may see the ticket."""
from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass

from flask import current_app
from werkzeug.datastructures import FileStorage

from hotline.auth.models import User
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.tickets.models import Attachment

ALLOWED = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
    "pdf": "application/pdf", "txt": "text/plain",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4", "amr": "audio/amr",
}
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10


def _ext(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def real_files(files) -> list[FileStorage]:
    return [f for f in (files or []) if isinstance(f, FileStorage) and f.filename]


def check_files(files, field: str = "attachments") -> list[FileStorage]:
    """Refuse the whole upload before anything is stored when one file is not acceptable."""
    files = real_files(files)
    if len(files) > MAX_FILES:
        raise ValidationFailed(f"一次最多上传 {MAX_FILES} 个附件", field=field)
    for f in files:
        if _ext(f.filename) not in ALLOWED:
            raise ValidationFailed(f"附件「{f.filename}」类型不允许（允许：{'、'.join(sorted(ALLOWED))}）", field=field)
        f.stream.seek(0, os.SEEK_END)
        size = f.stream.tell()
        f.stream.seek(0)
        if size == 0:
            raise ValidationFailed(f"附件「{f.filename}」是空文件", field=field)
        if size > MAX_FILE_BYTES:
            raise ValidationFailed(f"附件「{f.filename}」超过 10 MB", field=field)
    return files


def storage_dir() -> str:
    path = os.path.join(current_app.instance_path, "attachments")
    os.makedirs(path, exist_ok=True)
    return path


@dataclass
class Staged:
    """A checked file already written to disk, waiting for its row in the same
    transaction as the ticket or reply it belongs to."""

    filename: str
    stored_name: str
    content_type: str
    size: int
    sha256: str
    path: str


def stage_files(files: list[FileStorage]) -> list[Staged]:
    """Write checked files to disk; the caller discards them if its transaction fails."""
    staged: list[Staged] = []
    try:
        for f in files:
            data = f.stream.read()
            stored = uuid.uuid4().hex
            path = os.path.join(storage_dir(), stored)
            with open(path, "wb") as out:
                out.write(data)
            name = os.path.basename(f.filename.replace("\\", "/"))[:255]
            staged.append(Staged(name, stored, ALLOWED[_ext(name)], len(data), hashlib.sha256(data).hexdigest(), path))
    except BaseException:
        discard(staged)
        raise
    return staged


def discard(staged: list[Staged]) -> None:
    for s in staged:
        try:
            os.remove(s.path)
        except OSError:
            pass


def attachment_rows(ticket_id: int, staged: list[Staged], user: User, at, reply_id: int | None = None):
    return [Attachment(ticket_id=ticket_id, reply_id=reply_id, filename=s.filename, stored_name=s.stored_name,
                       content_type=s.content_type, size=s.size, sha256=s.sha256, uploaded_by_id=user.id,
                       uploaded_at=at) for s in staged]


def attachment_path(att: Attachment) -> str:
    return os.path.join(storage_dir(), att.stored_name)


def attach(ticket_id: int, staged, user: User, at, reply_id: int | None = None) -> None:
    """Rows for files staged on disk, in the same transaction as their ticket or reply."""
    if staged:
        db.session.add_all(attachment_rows(ticket_id, list(staged), user, at, reply_id))
