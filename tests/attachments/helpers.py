"""Images made in memory (no binary files in the repository) and upload helpers."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import ExifTags, Image, ImageCms

API = "/api/v1"
RED = (255, 0, 0)


def image_bytes(size=(64, 48), color=(20, 160, 60), fmt="JPEG", mode="RGB", **save) -> bytes:
    img = Image.new(mode, size, color)
    out = io.BytesIO()
    img.save(out, fmt, **save)
    return out.getvalue()


def noisy_jpeg(size=(400, 300), seed=1) -> bytes:
    """A JPEG of random pixels: no two seeds give the same file, and it does not compress away."""
    img = Image.frombytes("RGB", size, _random_bytes(size[0] * size[1] * 3, seed))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def _random_bytes(n: int, seed: int) -> bytes:
    import random

    return random.Random(seed).randbytes(n)


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Model] = "Secret Model 9"
    exif[ExifTags.Base.DateTime] = "2026:11:20 08:30:00"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (39.0, 54.0, 27.0),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (116.0, 23.0, 17.0)}
    return exif


def photo_with_gps(size=(60, 40), orientation: int = 6, fmt="JPEG") -> bytes:
    """A photo as a phone writes it: stored sideways with an EXIF orientation, GPS position,
    camera model, a colour profile and (JPEG) a comment; the top-left 10 x 10 pixels are red (where they show upright
    tells whether the orientation was applied)."""
    img = Image.new("RGB", size, (10, 200, 30))
    img.paste(RED, (0, 0, 10, 10))
    out = io.BytesIO()
    extra = {"comment": b"secret comment"} if fmt == "JPEG" else {}
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    img.save(out, fmt, exif=gps_exif(orientation), icc_profile=icc, **extra)
    return out.getvalue()


def upload(client, headers: dict, data: bytes, filename: str = "photo.jpg", purpose: str = "checkin",
           content_type: str = "image/jpeg"):
    return client.post(f"{API}/attachments", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), filename, content_type), "purpose": purpose})


def stored_files() -> set[str]:
    """The keys of every file in the attachment directory."""
    root = Path(os.environ["ATTACHMENT_DIR"])
    return {p.name for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}
