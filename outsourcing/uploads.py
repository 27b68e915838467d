"""Upload checks shared by documents and attachments: size and real file type."""

from __future__ import annotations

from pathlib import PurePath

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# Extension -> content type. Binary formats are also checked by their magic
# bytes, so a renamed executable is refused.
ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".zip": "application/zip",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".md": "text/markdown",
    ".eml": "message/rfc822",
}
# Office formats are zip containers: their magic bytes say "zip".
_ZIP_BASED = {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".zip"}
_TEXT = {".txt", ".csv", ".md", ".eml"}


def check_upload(upload: UploadedFile) -> str:
    """Validate size and type; return the content type to store."""
    max_size = settings.MAX_UPLOAD_SIZE
    if upload.size is None or upload.size > max_size:
        raise ValidationError(
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(upload.size or 0), "limit": filesizeformat(max_size)}
        )
    if upload.size == 0:
        raise ValidationError(_("The file is empty."))
    suffix = PurePath(upload.name or "").suffix.lower()
    if suffix not in ALLOWED_TYPES:
        raise ValidationError(
            _("Files of this type cannot be uploaded. Allowed: %(types)s.")
            % {"types": ", ".join(sorted(s.lstrip(".") for s in ALLOWED_TYPES))}
        )
    head = upload.read(8192)
    upload.seek(0)
    if suffix in _TEXT:
        if b"\x00" in head:
            raise ValidationError(_("The file's content does not match its name."))
        return ALLOWED_TYPES[suffix]
    kind = filetype.guess(head)
    expected = "application/zip" if suffix in _ZIP_BASED else ALLOWED_TYPES[suffix]
    if kind is None or (
        kind.mime != expected
        and not (suffix in _ZIP_BASED and kind.extension in {"zip", "docx", "xlsx", "pptx", "odt", "ods"})
    ):
        raise ValidationError(_("The file's content does not match its name."))
    return ALLOWED_TYPES[suffix]
