"""Checks and clean-up for photos that users upload as evidence.

Phones send large JPEGs that carry EXIF metadata, often with the GPS position of
the villager's home. Every accepted photo is therefore decoded by Pillow, turned
upright, scaled down and saved again as a JPEG without metadata. A file is
accepted only if Pillow decodes it as one of ``PHOTO_FORMATS``; its name and the
content type the browser claims are ignored.
"""

import io
import uuid
from datetime import date
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

PHOTO_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
# Maximum length, in pixels, of a stored photo's longer side: enough to read a sign on a phone.
PHOTO_MAX_SIDE = 1600
PHOTO_JPEG_QUALITY = 82
# Refuse images whose pixel count could exhaust memory while decoding.
PHOTO_MAX_PIXELS = 50_000_000


def photo_clean(upload: IO[bytes]) -> ContentFile:
    """Check an uploaded photo and return it re-encoded as a JPEG without metadata.

    Raises ``ValidationError`` with a message for the user when the file is too
    large, is not an image, or is an image in a format that is not accepted.
    """
    size = getattr(upload, "size", None)
    max_bytes = settings.UPLOAD_PHOTO_MAX_BYTES
    if size is not None and size > max_bytes:
        raise ValidationError(
            _("The photo is %(size)s MB; the limit is %(limit)s MB. Send a smaller photo.")
            % {"size": round(size / 1_000_000, 1), "limit": round(max_bytes / 1_000_000, 1)},
            code="photo_too_large",
        )
    image = _photo_open(upload)
    image = ImageOps.exif_transpose(image)
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    if image.mode != "RGB":
        image = image.convert("RGB")
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=PHOTO_JPEG_QUALITY, optimize=True)
    return ContentFile(output.getvalue(), name="photo.jpg")


def _photo_open(upload: IO[bytes]) -> Image.Image:
    not_an_image = ValidationError(
        _("The file is not a photo. Send a JPEG, PNG, WebP or GIF picture."),
        code="photo_invalid",
    )
    upload.seek(0)
    try:
        with Image.open(upload) as probe:
            image_format = probe.format
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise ValidationError(
                    _("The photo is too large to process. Send a smaller photo."),
                    code="photo_too_many_pixels",
                )
            probe.verify()
        upload.seek(0)
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise not_an_image from None
    if image_format not in PHOTO_FORMATS:
        raise not_an_image
    return image


# Codes of the ValidationErrors that photo_clean raises.
PHOTO_ERROR_CODES = {"photo_too_large", "photo_invalid", "photo_too_many_pixels"}


def photo_error_field(error: ValidationError, field: str = "photo") -> str | None:
    """Return ``field`` when a service's ``error`` is about the uploaded photo, else None.

    Views pass the result to ``form.add_error``, so the message shows beside
    the photo field instead of above the form.
    """
    codes = {getattr(item, "code", None) for item in error.error_list}
    return field if codes & PHOTO_ERROR_CODES else None


def photo_upload_path(folder: str) -> str:
    """Return a fresh storage path for a photo under ``folder``, such as ``claims/2026/12/<uuid>.jpg``.

    The name is random so that it neither reveals nor trusts what the user
    called the file.
    """
    today = date.today()
    return f"{folder}/{today:%Y/%m}/{uuid.uuid4().hex}.jpg"
