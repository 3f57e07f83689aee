import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from nengliangbang.uploads import PHOTO_MAX_SIDE, photo_clean, photo_upload_path


def image_bytes(image_format: str, size=(3000, 2000), exif_gps: bool = False) -> bytes:
    image = Image.new("RGB", size, color=(200, 30, 30))
    output = io.BytesIO()
    options = {}
    if exif_gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (30.0, 10.0, 5.0)}  # GPSInfo
        exif[0x0112] = 6  # Orientation: rotate 90 degrees to show upright
        options["exif"] = exif
    image.save(output, format=image_format, **options)
    return output.getvalue()


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "GIF"])
def test_photo_clean_accepts_formats(image_format):
    upload = SimpleUploadedFile("x.bin", image_bytes(image_format), content_type="text/plain")

    cleaned = Image.open(photo_clean(upload))

    assert cleaned.format == "JPEG"
    assert max(cleaned.size) == PHOTO_MAX_SIDE


def test_photo_clean_drops_metadata_and_turns_upright():
    upload = SimpleUploadedFile("p.jpg", image_bytes("JPEG", exif_gps=True), "image/jpeg")

    cleaned = Image.open(photo_clean(upload))

    assert not cleaned.getexif()
    assert cleaned.height > cleaned.width


def test_photo_clean_rejects_non_image():
    upload = SimpleUploadedFile("p.jpg", b"<script>alert(1)</script>", "image/jpeg")

    with pytest.raises(ValidationError) as raised:
        photo_clean(upload)

    assert raised.value.code == "photo_invalid"


def test_photo_clean_rejects_truncated_image():
    data = image_bytes("PNG")[:500]
    upload = SimpleUploadedFile("p.png", data, "image/png")

    with pytest.raises(ValidationError) as raised:
        photo_clean(upload)

    assert raised.value.code == "photo_invalid"


def test_photo_clean_rejects_other_image_formats():
    upload = SimpleUploadedFile("p.bmp", image_bytes("BMP", size=(10, 10)), "image/bmp")

    with pytest.raises(ValidationError) as raised:
        photo_clean(upload)

    assert raised.value.code == "photo_invalid"


def test_photo_clean_rejects_large_file(settings):
    settings.UPLOAD_PHOTO_MAX_BYTES = 1000
    upload = SimpleUploadedFile("p.png", image_bytes("PNG"), "image/png")

    with pytest.raises(ValidationError) as raised:
        photo_clean(upload)

    assert raised.value.code == "photo_too_large"


def test_photo_upload_path_is_random():
    first = photo_upload_path("claims")
    second = photo_upload_path("claims")

    assert first != second
    assert first.startswith("claims/")
    assert first.endswith(".jpg")
