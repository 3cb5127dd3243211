"""Attachments: checked before anything is saved, stored under instance/attachments/,
served only to users who may see the ticket."""
from __future__ import annotations

import hashlib
import os
import uuid

from flask import current_app
from werkzeug.datastructures import FileStorage

from hotline.auth.models import User
from hotline.clock import now as clock_now
from hotline.errors import ValidationFailed
from hotline.extensions import db
from hotline.tickets.models import Attachment, Ticket

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


def store_files(ticket: Ticket, files: list[FileStorage], user: User, reply_id: int | None = None) -> list[Attachment]:
    """Write checked files to disk and record them; commits."""
    rows, written = [], []
    try:
        for f in files:
            data = f.stream.read()
            stored = uuid.uuid4().hex
            path = os.path.join(storage_dir(), stored)
            with open(path, "wb") as out:
                out.write(data)
            written.append(path)
            name = os.path.basename(f.filename.replace("\\", "/"))[:255]
            row = Attachment(ticket_id=ticket.id, reply_id=reply_id, filename=name, stored_name=stored,
                             content_type=ALLOWED[_ext(name)], size=len(data),
                             sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=user.id,
                             uploaded_at=clock_now())
            db.session.add(row)
            rows.append(row)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for path in written:
            try:
                os.remove(path)
            except OSError:
                pass
        raise
    return rows


def attachment_path(att: Attachment) -> str:
    return os.path.join(storage_dir(), att.stored_name)
