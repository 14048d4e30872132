"""Reading an uploaded image safely and making the copies we keep (Pillow).

`process(data, max_pixels=..., thumbnail_px=...)` answers a `Processed` or raises AppError:

- the type comes from the content only: Pillow is asked to open the bytes as JPEG (MPO, the
  multi-picture JPEG some phones write, included), PNG or WebP and nothing else
  (ATTACHMENT_TYPE_UNSUPPORTED otherwise: a PDF, HTML page or GIF named ".jpg" never gets in);
- the pixel count is checked from the header before anything is decoded
  (ATTACHMENT_DIMENSIONS_TOO_LARGE: decompression bombs), and Pillow's own bomb guard is
  an error too; a file that does not decode completely is ATTACHMENT_IMAGE_INVALID;
- the EXIF orientation is applied (`ImageOps.exif_transpose`), an embedded colour profile
  is converted to sRGB, and the pixels are re-encoded into a fresh image carrying no
  metadata at all: no EXIF (GPS position, camera, time), XMP, ICC profile or comments.
  JPEG stays JPEG (quality 90), PNG stays PNG (transparency kept), WebP stays WebP; an
  animated PNG/WebP keeps its first frame;
- a JPEG thumbnail of at most `thumbnail_px` on its longer side (transparency on white);
- `check_image`: what WeChat's img_sec_check is sent: the thumbnail, unless it exceeds
  WeChat's limits (750 x 1334 px, 1 MB), then a copy made to fit.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from app.errors import AppError

log = logging.getLogger(__name__)

# Pillow format name -> (the format we write, its content type)
FORMATS = {"JPEG": ("JPEG", "image/jpeg"), "MPO": ("JPEG", "image/jpeg"), "PNG": ("PNG", "image/png"),
           "WEBP": ("WEBP", "image/webp")}
OPEN_FORMATS = ("JPEG", "PNG", "WEBP")  # Pillow's JPEG opener also answers MPO files
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
# WeChat img_sec_check: at most 750 x 1334 pixels and 1 MB.
CHECK_MAX_SIZE, CHECK_MAX_BYTES = (750, 1334), 1024 * 1024
_SRGB = None


@dataclass(frozen=True)
class Processed:
    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    thumbnail_sha256: str
    check_image: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def _srgb():
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.createProfile("sRGB")
    return _SRGB


def _to_srgb(img: Image.Image) -> Image.Image:
    """Convert pixels described by an embedded ICC profile to sRGB (the profile is then dropped,
    so colours must be converted first: a Display P3 photo would look washed out otherwise)."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if img.mode == "RGBA":
            alpha = img.getchannel("A")
            out = ImageCms.profileToProfile(img.convert("RGB"), source, _srgb(), outputMode="RGB")
            out.putalpha(alpha)
            return out
        if img.mode == "L":
            return img  # a grey profile: greys stay greys
        return ImageCms.profileToProfile(img, source, _srgb(), outputMode="RGB")
    except Exception:  # a broken or unusual profile: keep the pixels as they are
        log.info("colour profile not converted", exc_info=True)
        return img


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info


def _normalise(img: Image.Image, out_format: str) -> Image.Image:
    """A mode the output format can hold, transparency turned into an alpha channel."""
    if img.mode == "CMYK":
        img = img.convert("RGB")
    if out_format == "JPEG":
        return img if img.mode in ("L", "RGB") else img.convert("RGB")
    if _has_alpha(img):
        return img if img.mode == "RGBA" else img.convert("RGBA")
    if out_format == "PNG" and img.mode in ("1", "L", "RGB", "I;16", "I"):
        return img
    return img.convert("RGB")


def _encode(img: Image.Image, out_format: str) -> bytes:
    buf = io.BytesIO()
    if out_format == "JPEG":
        img.save(buf, "JPEG", quality=90, optimize=True)
    elif out_format == "PNG":
        img.save(buf, "PNG")
    else:
        img.save(buf, "WEBP", quality=90, method=4)
    return buf.getvalue()


def _jpeg_fit(img: Image.Image, box: tuple[int, int], quality: int = 82) -> bytes:
    """A JPEG of `img` fitted into `box` (never enlarged), transparency on white."""
    scale = min(box[0] / img.width, box[1] / img.height, 1.0)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    # resize() makes the small image directly (no full-size copy); reducing_gap speeds up big reductions.
    small = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0) if size != img.size else img
    if _has_alpha(small):
        rgba = small.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        small = flat
    elif small.mode != "RGB":
        small = small.convert("RGB")
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def process(data: bytes, *, max_pixels: int, thumbnail_px: int) -> Processed:
    if not data:
        raise AppError("ATTACHMENT_IMAGE_INVALID", details={"reason": "empty"})
    # Pillow's own bomb guard (an error at twice Image.MAX_IMAGE_PIXELS) stays on; our limit is
    # checked from the header before decoding. (No warnings filter: it is process-global state.)
    try:
        img = Image.open(io.BytesIO(data), formats=OPEN_FORMATS)
    except UnidentifiedImageError:
        raise AppError("ATTACHMENT_TYPE_UNSUPPORTED") from None
    except Image.DecompressionBombError:
        raise AppError("ATTACHMENT_DIMENSIONS_TOO_LARGE", details={"max_pixels": max_pixels}) from None
    except Exception:  # a header Pillow recognised but could not read
        log.info("image header unreadable", exc_info=True)
        raise AppError("ATTACHMENT_IMAGE_INVALID", details={"reason": "header"}) from None
    if img.format not in FORMATS:
        raise AppError("ATTACHMENT_TYPE_UNSUPPORTED")
    out_format, content_type = FORMATS[img.format]
    if img.width < 1 or img.height < 1:
        raise AppError("ATTACHMENT_IMAGE_INVALID", details={"reason": "empty"})
    if img.width * img.height > max_pixels:
        raise AppError("ATTACHMENT_DIMENSIONS_TOO_LARGE", details={"max_pixels": max_pixels})
    try:
        img.load()  # decode everything now: truncated or corrupt data fails here
    except Image.DecompressionBombError:
        raise AppError("ATTACHMENT_DIMENSIONS_TOO_LARGE", details={"max_pixels": max_pixels}) from None
    except Exception:
        log.info("image data undecodable", exc_info=True)
        raise AppError("ATTACHMENT_IMAGE_INVALID", details={"reason": "data"}) from None

    try:
        ImageOps.exif_transpose(img, in_place=True)  # in place: no second full-size copy
    except Exception:  # unreadable EXIF: the pixels as stored
        log.info("EXIF orientation unreadable", exc_info=True)
    upright = _normalise(_to_srgb(img), out_format)
    # Nothing from the source travels into what we write (Pillow would carry a JPEG comment and
    # a PNG colour profile from `info`, and resize() copies `info`): exif, icc, xmp, comment, dpi.
    upright.info = {}
    thumbnail = _jpeg_fit(upright, (thumbnail_px, thumbnail_px))
    stored = _encode(upright, out_format)
    check = thumbnail
    with Image.open(io.BytesIO(thumbnail)) as t:
        fits = t.width <= CHECK_MAX_SIZE[0] and t.height <= CHECK_MAX_SIZE[1]
    if not fits or len(check) > CHECK_MAX_BYTES:
        check = _jpeg_fit(upright, CHECK_MAX_SIZE, quality=75)
    return Processed(data=stored, content_type=content_type, width=upright.width, height=upright.height,
                     sha256=hashlib.sha256(stored).hexdigest(), thumbnail=thumbnail,
                     thumbnail_sha256=hashlib.sha256(thumbnail).hexdigest(), check_image=check)
