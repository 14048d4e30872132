"""Uploading photos: the type from the content, limits, metadata stripped, orientation applied,
thumbnails, hashes, shared files for identical uploads, serving with ETags, deletion, rate limit."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from app.extensions import db
from app.storage import get_storage
from models.attachments import Attachment
from tests.attachments.helpers import (
    API,
    RED,
    image_bytes,
    noisy_jpeg,
    photo_with_gps,
    stored_files,
    upload,
)
from tests.support.wechat import assert_error

FIELDS = {"id", "purpose", "content_type", "size", "width", "height", "sha256", "created_at", "url",
          "thumbnail_url", "bound", "order_type", "order_id"}


def count() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count()).select_from(Attachment)).scalar_one()


def fetch(client, headers, url: str) -> bytes:
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200, resp.get_data()[:300]
    return resp.data


def test_upload_answers_201_and_stores_a_stripped_copy(client, staff, staff_h):
    resp = upload(client, staff_h, photo_with_gps(), purpose="repair")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert set(body) == FIELDS
    assert body["purpose"] == "repair" and body["content_type"] == "image/jpeg" and body["bound"] is False
    assert body["url"] == f"{API}/attachments/{body['id']}"
    assert body["thumbnail_url"] == f"{API}/attachments/{body['id']}/thumbnail"
    assert body["created_at"].endswith("+08:00")
    row = db.session.get(Attachment, body["id"])
    assert row.uploader_id == staff.id and row.security_verdict == "skipped"  # no WeChat in this app

    stored = fetch(client, staff_h, body["url"])
    assert len(stored) == body["size"] == row.size
    assert hashlib.sha256(stored).hexdigest() == body["sha256"] == row.sha256
    assert get_storage().get(row.sha256) == stored


def test_gps_exif_and_every_other_metadata_are_gone(client, staff_h):
    original = photo_with_gps(orientation=1)
    with Image.open(io.BytesIO(original)) as src:  # the test image really carries them
        assert src.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert b"\xff\xe1" in original and b"secret comment" in original and b"ICC_PROFILE" in original
    body = upload(client, staff_h, original).get_json()
    stored = fetch(client, staff_h, body["url"])
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == "JPEG"
        exif = img.getexif()
        assert len(exif) == 0 and not exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "comment", "icc_profile", "xmp"} & set(img.info)
    assert b"\xff\xe1" not in stored  # no APP1 segment (EXIF or XMP) at all
    for secret in (b"Exif", b"PhoneCo", b"Secret Model", b"secret comment", b"2026:11:20", b"ICC_PROFILE"):
        assert secret not in stored
    thumb = fetch(client, staff_h, body["thumbnail_url"])
    assert b"\xff\xe1" not in thumb and b"PhoneCo" not in thumb and b"secret comment" not in thumb
    small = fetch(client, staff_h, upload(client, staff_h, photo_with_gps(size=(30, 20))).get_json()["thumbnail_url"])
    assert b"secret comment" not in small and b"\xff\xe1" not in small  # a thumbnail not resized at all


@pytest.mark.parametrize("fmt, content_type, chunks", [
    ("PNG", "image/png", (b"eXIf", b"iCCP")), ("WEBP", "image/webp", (b"EXIF", b"ICCP"))])
def test_png_and_webp_keep_their_format_without_exif(client, staff_h, fmt, content_type, chunks):
    original = photo_with_gps(orientation=1, fmt=fmt)
    assert all(chunk in original for chunk in chunks)
    body = upload(client, staff_h, original, filename="x.jpg").get_json()
    assert body["content_type"] == content_type
    stored = fetch(client, staff_h, body["url"])
    assert not any(chunk in stored for chunk in chunks) and b"PhoneCo" not in stored
    with Image.open(io.BytesIO(stored)) as img:
        assert img.format == fmt and len(img.getexif()) == 0


def test_orientation_is_applied_before_stripping(client, staff_h):
    body = upload(client, staff_h, photo_with_gps(size=(60, 40), orientation=6)).get_json()
    assert (body["width"], body["height"]) == (40, 60)  # stored sideways, shown upright
    with Image.open(io.BytesIO(fetch(client, staff_h, body["url"]))) as img:
        assert img.size == (40, 60)
        # Orientation 6 (turn 90° clockwise to view): the stored top-left corner shows top-right.
        r, g, b = img.convert("RGB").getpixel((img.width - 3, 3))
        assert r > 200 and g < 60 and b < 60
        r, g, b = img.convert("RGB").getpixel((3, 3))
        assert r < 60 and g > 150


def test_thumbnail_is_a_jpeg_at_most_the_configured_size(client, staff_h):
    body = upload(client, staff_h, image_bytes((1200, 800), fmt="PNG")).get_json()
    thumb_resp = client.get(body["thumbnail_url"], headers=staff_h)
    assert thumb_resp.status_code == 200 and thumb_resp.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(thumb_resp.data)) as thumb:
        assert thumb.format == "JPEG" and thumb.size == (480, 320)
    row = db.session.get(Attachment, body["id"])
    assert hashlib.sha256(thumb_resp.data).hexdigest() == row.thumbnail_sha256
    assert len(thumb_resp.data) == row.thumbnail_size

    small = upload(client, staff_h, image_bytes((100, 50), color=(1, 2, 3))).get_json()
    with Image.open(io.BytesIO(fetch(client, staff_h, small["thumbnail_url"]))) as thumb:
        assert thumb.size == (100, 50)  # never enlarged


def test_transparent_png_keeps_alpha_and_thumbnail_is_flattened(client, staff_h):
    body = upload(client, staff_h, image_bytes((50, 50), color=(0, 0, 255, 0), fmt="PNG", mode="RGBA")).get_json()
    with Image.open(io.BytesIO(fetch(client, staff_h, body["url"]))) as img:
        assert img.mode == "RGBA" and img.getpixel((1, 1))[3] == 0
    with Image.open(io.BytesIO(fetch(client, staff_h, body["thumbnail_url"]))) as thumb:
        assert thumb.mode == "RGB" and min(thumb.getpixel((1, 1))) > 240  # on white


@pytest.mark.parametrize("data, filename, mimetype", [
    (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF", "scan.jpg", "image/jpeg"),
    (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "photo.jpg", "image/jpeg"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "photo.png", "image/png"),
    ("就是一段文字，不是图片".encode(), "photo.jpeg", "image/jpeg"),
    (image_bytes(fmt="GIF"), "photo.jpg", "image/jpeg"),
    (image_bytes(fmt="BMP"), "photo.png", "image/png"),
    (image_bytes(fmt="TIFF"), "photo.jpg", "image/jpeg"),
])
def test_content_that_is_not_jpeg_png_or_webp_is_415(client, staff_h, data, filename, mimetype):
    resp = upload(client, staff_h, data, filename=filename, content_type=mimetype)
    assert_error(resp, 415, "ATTACHMENT_TYPE_UNSUPPORTED")
    assert count() == 0 and stored_files() == set()


def test_truncated_jpeg_is_422(client, staff_h):
    whole = noisy_jpeg()
    resp = upload(client, staff_h, whole[: len(whole) * 2 // 3])
    assert_error(resp, 422, "ATTACHMENT_IMAGE_INVALID")
    assert_error(upload(client, staff_h, b""), 422, "ATTACHMENT_IMAGE_INVALID")
    assert count() == 0 and stored_files() == set()


def test_decompression_bomb_png_is_refused_before_decoding(client, staff_h):
    bomb = image_bytes((20000, 20000), color=0, fmt="PNG", mode="1")  # 400 million pixels in ~50 KB
    assert len(bomb) < 100_000
    body = assert_error(upload(client, staff_h, bomb, filename="bomb.png"), 422, "ATTACHMENT_DIMENSIONS_TOO_LARGE")
    assert body["details"]["max_pixels"] == 40_000_000
    assert count() == 0


def test_pixel_limit_comes_from_configuration(app, client, staff_h, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_PIXELS", 100 * 100)
    assert_error(upload(client, staff_h, image_bytes((101, 100))), 422, "ATTACHMENT_DIMENSIONS_TOO_LARGE")
    assert upload(client, staff_h, image_bytes((100, 100))).status_code == 201


def test_oversize_upload_is_413_in_the_error_shape(app, client, staff_h, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 200_000)
    big = noisy_jpeg((700, 500), seed=2)
    assert len(big) > 200_000 + 64 * 1024  # refused by its Content-Length, before parsing
    resp = upload(client, staff_h, big)
    body = assert_error(resp, 413, "ATTACHMENT_TOO_LARGE")
    assert resp.mimetype == "application/json" and body["details"] == {"max_bytes": 200_000}
    assert "MB" in body["message"]
    # Within the multipart allowance but over the limit itself: refused when the file is read.
    medium = noisy_jpeg((480, 480), seed=3)
    assert 200_000 < len(medium) < 200_000 + 64 * 1024
    assert_error(upload(client, staff_h, medium), 413, "ATTACHMENT_TOO_LARGE")
    assert count() == 0 and stored_files() == set()


def test_oversize_body_without_content_length_is_413_json(app, client, staff_h, monkeypatch):
    """A chunked body (no Content-Length): the stream is capped, and werkzeug's
    RequestEntityTooLarge comes back in our error shape, not as an HTML page."""
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100_000)
    boundary = "XyZ"
    payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\ncheckin\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
               f"Content-Type: image/jpeg\r\n\r\n").encode() + noisy_jpeg((700, 500), seed=4) \
        + f"\r\n--{boundary}--\r\n".encode()
    resp = client.post(f"{API}/attachments", headers={**staff_h, "Transfer-Encoding": "chunked"},
                       input_stream=io.BytesIO(payload), content_type=f"multipart/form-data; boundary={boundary}",
                       environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": None})
    assert resp.request.environ.get("CONTENT_LENGTH") in (None, "")
    assert_error(resp, 413, "ATTACHMENT_TOO_LARGE")
    assert count() == 0


def test_bad_requests_are_422_validation_errors(client, staff_h):
    no_file = client.post(f"{API}/attachments", headers=staff_h, data={"purpose": "checkin"},
                          content_type="multipart/form-data")
    assert "file" in assert_error(no_file, 422, "VALIDATION_ERROR")["details"]["fields"]["files"]
    bad_purpose = upload(client, staff_h, image_bytes(), purpose="selfie")
    assert "purpose" in assert_error(bad_purpose, 422, "VALIDATION_ERROR")["details"]["fields"]["files"]
    as_json = client.post(f"{API}/attachments", headers=staff_h, json={"purpose": "checkin"})
    assert as_json.status_code == 422
    assert_error(upload(client, {}, image_bytes()), 401, "AUTH_REQUIRED")
    assert count() == 0


def test_identical_uploads_share_one_stored_file(client, staff_h, make):
    data = noisy_jpeg(seed=5)
    first = upload(client, staff_h, data).get_json()
    second = upload(client, make.headers(make.user()), data, purpose="suggestion").get_json()
    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    rows = [db.session.get(Attachment, i) for i in (first["id"], second["id"])]
    assert rows[0].thumbnail_sha256 == rows[1].thumbnail_sha256
    assert stored_files() == {first["sha256"], rows[0].thumbnail_sha256}
    other = upload(client, staff_h, noisy_jpeg(seed=6)).get_json()
    assert other["sha256"] != first["sha256"] and len(stored_files()) == 4


def test_image_served_with_type_etag_and_cache_headers(client, staff_h):
    body = upload(client, staff_h, image_bytes((80, 60), fmt="WEBP")).get_json()
    resp = client.get(body["url"], headers=staff_h)
    assert resp.status_code == 200 and resp.mimetype == "image/webp"
    assert resp.headers["ETag"] == f'"{body["sha256"]}"'
    assert resp.headers["Cache-Control"] == "private, max-age=3600"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Authorization" in resp.headers["Vary"]
    assert resp.headers["Content-Disposition"] == f'inline; filename="attachment-{body["id"]}.webp"'

    again = client.get(body["url"], headers={**staff_h, "If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == resp.headers["ETag"]
    changed = client.get(body["url"], headers={**staff_h, "If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.data == resp.data

    thumb = client.get(body["thumbnail_url"], headers=staff_h)
    row = db.session.get(Attachment, body["id"])
    assert thumb.headers["ETag"] == f'"{row.thumbnail_sha256}"' and thumb.mimetype == "image/jpeg"
    assert client.get(body["thumbnail_url"], headers={**staff_h, "If-None-Match": thumb.headers["ETag"]}) \
        .status_code == 304

    meta = client.get(f"{API}/attachments/{body['id']}/meta", headers=staff_h)
    assert meta.status_code == 200 and meta.get_json() == body


def test_uploader_deletes_an_unbound_upload_and_its_files(client, staff_h, make):
    shared = noisy_jpeg(seed=7)
    mine = upload(client, staff_h, shared).get_json()
    theirs = upload(client, make.headers(make.user()), shared).get_json()
    own = upload(client, staff_h, noisy_jpeg(seed=8)).get_json()
    own_thumb = db.session.get(Attachment, own["id"]).thumbnail_sha256
    assert client.delete(f"{API}/attachments/{own['id']}", headers=staff_h).status_code == 204
    assert own["sha256"] not in stored_files() and own_thumb not in stored_files()
    assert client.delete(f"{API}/attachments/{mine['id']}", headers=staff_h).status_code == 204
    assert theirs["sha256"] in stored_files()  # another row still names the shared file
    assert_error(client.delete(f"{API}/attachments/{mine['id']}", headers=staff_h), 404, "NOT_FOUND")
    assert_error(client.get(mine["url"], headers=staff_h), 404, "NOT_FOUND")
    assert count() == 1


def test_admin_may_look_but_not_delete_someone_elses_upload(client, staff_h, make):
    body = upload(client, staff_h, image_bytes()).get_json()
    admin_h = make.headers(make.user("admin"))
    assert client.get(body["url"], headers=admin_h).status_code == 200
    assert_error(client.delete(f"{API}/attachments/{body['id']}", headers=admin_h), 403, "FORBIDDEN")
    assert count() == 1


def test_uploads_are_rate_limited_per_user(app, client, staff_h, make, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_UPLOAD", "2 per day")  # a fixed window: no boundary mid-test
    for n in range(2):
        assert upload(client, staff_h, image_bytes(color=(n, n, n))).status_code == 201
    resp = upload(client, staff_h, image_bytes(color=(9, 9, 9)))
    assert_error(resp, 429, "RATE_LIMITED")
    assert int(resp.headers["Retry-After"]) > 0
    # Another user has their own allowance.
    assert upload(client, make.headers(make.user()), image_bytes(color=(7, 7, 7))).status_code == 201
    assert count() == 3


def test_storage_keys_cannot_escape_the_directory(app):
    storage = get_storage()
    for key in ("../../etc/passwd", "a" * 63, "A" * 64, "/" + "a" * 63, "a" * 64 + "/..", ""):
        with pytest.raises(ValueError):
            storage.put(key, b"x", "image/jpeg")
        with pytest.raises(ValueError):
            storage.get(key)
    key = hashlib.sha256(b"x").hexdigest()
    storage.put(key, b"x", "image/jpeg")
    assert storage.exists(key) and storage.get(key) == b"x"
    assert storage.path(key).relative_to(storage.root).parts == (key[:2], key[2:4], key)
    storage.put(key, b"x", "image/jpeg")  # idempotent
    assert storage.delete(key) and not storage.delete(key) and not storage.exists(key)


def test_red_top_left_pixel_survives_the_thumbnail(client, staff_h):
    """The stand-in's "risky" signal (a red top-left pixel) is still recognisable in the JPEG thumbnail."""
    body = upload(client, staff_h, image_bytes((900, 700), color=RED)).get_json()
    with Image.open(io.BytesIO(fetch(client, staff_h, body["thumbnail_url"]))) as thumb:
        r, g, b = thumb.convert("RGB").getpixel((0, 0))
    assert r >= 247 and g <= 8 and b <= 8
