"""Images on disk for ``gdfast denoise``: PNG, TIFF and JPEG through Pillow
(an optional extra: ``pip install "gdfast[images]"``), and numpy's .npy.

A file becomes a ``Picture``: float64 planes to denoise one by one, plus what
is needed to write the result back in the file's own type. Integer images
(8 and 16 bit) are divided by their type's maximum (255, 65535), so every
image lives on [0, 1] and ``lam`` means the same for both depths (as
scikit-image's ``img_as_float``); they are written back rounded to the same
type. Float data (.npy, 32-bit float TIFF) are denoised as stored and
written back in their own float type.

Colour: each of R, G and B is denoised on its own, as a gray image with the
same ``lam`` (channel-by-channel TV; the channels are not coupled). An alpha
channel is copied through untouched. Palette images are expanded to RGB(A).
"""
import dataclasses
import io
import os

import numpy as np

from .files import write_bytes_atomically

PILLOW_MESSAGE = ('reading and writing PNG, TIFF and JPEG needs Pillow, an optional extra: '
                  'pip install Pillow  (or pip install "gdfast[images]")')
FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG",
           ".npy": "NPY"}
INTEGER_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
_PILLOW_GRAY_16 = ("I;16", "I;16L", "I;16B", "I;16N")
_PILLOW_EXPAND = {"1": "L", "P": "RGB", "PA": "RGBA"}


@dataclasses.dataclass
class Picture:
    """An image or volume as ``gdfast denoise`` handles it.

    planes  list of float64 arrays, each (H, W) (or one (D, H, W) volume), the
            parts denoised independently: one for gray, three for RGB.
    dtype   the stored type: uint8, uint16 (planes scaled to [0, 1]), float32
            or float64 (planes as stored).
    layout  'gray', 'rgb' or 'volume'.
    alpha   the alpha channel as stored ((H, W), dtype), or None.
    """
    planes: list
    dtype: np.dtype
    layout: str
    alpha: np.ndarray = None

    @property
    def shape(self):
        """The stored array's shape: (H, W), (H, W, 3 or 4) or (D, H, W)."""
        s = self.planes[0].shape
        if self.layout == "rgb":
            return s + (3 + (self.alpha is not None),)
        return s + ((2,) if self.alpha is not None else ())

    def describe(self):
        kind = {"gray": "gray", "rgb": "RGB", "volume": "volume"}[self.layout]
        alpha = "+alpha" if self.alpha is not None else ""
        return f"{kind}{alpha} {'x'.join(map(str, self.shape))} {self.dtype.name}"

    def with_planes(self, planes):
        return dataclasses.replace(self, planes=list(planes))

    def stored_array(self):
        """The planes back in the stored type and shape (integers rounded and
        clipped to the type's range), alpha appended."""
        parts = [_to_stored(p, self.dtype) for p in self.planes]
        if self.alpha is not None:
            parts.append(self.alpha)
        return parts[0] if len(parts) == 1 else np.stack(parts, axis=-1)


def image_format(path):
    """'PNG', 'TIFF', 'JPEG' or 'NPY' from the file name's suffix; ValueError otherwise."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"{os.fspath(path)}: unknown file type {suffix or '(no suffix)'!r}; "
                         f"expected one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def read_picture(path, volume=False):
    """Read an image file into a Picture.

    .npy: (H, W) gray; (H, W, 3) RGB or (H, W, 4) RGBA; any other 3-D array,
    or any 3-D array with volume=True, a (D, H, W) volume denoised in 3-D.
    dtype uint8, uint16, float32 or float64; float data must be finite.
    PNG / TIFF / JPEG: 8-bit gray, 16-bit gray, 32-bit float gray (TIFF), RGB
    and RGBA (8 bit), gray+alpha, palette and 1-bit images (read as 8-bit).
    Raises FileNotFoundError for a missing file, ValueError for a file that
    is not a readable image of these kinds.
    """
    path = os.fspath(path)
    fmt = image_format(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if fmt != "NPY":
        return _picture_of(path, _read_with_pillow(path), channels_last=True)
    array = _read_npy(path)
    colour = array.ndim == 3 and array.shape[-1] in (3, 4) and not volume
    return _picture_of(path, array, channels_last=colour)


def check_writable(path, picture, overwrite):
    """Raise before any work if ``picture`` cannot be written to ``path``:
    unknown suffix, missing folder, existing file (FileExistsError unless
    overwrite), or a type the format cannot hold (ValueError)."""
    path = os.fspath(path)
    fmt = image_format(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{path}: the folder {folder} does not exist")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    if fmt == "NPY":
        return
    what = picture.describe()
    if picture.layout == "volume":
        raise ValueError(f"{path}: a {what} can only be written as .npy")
    if picture.dtype in FLOAT_TYPES and not (
            fmt == "TIFF" and picture.dtype == np.float32 and picture.layout == "gray"
            and picture.alpha is None):
        raise ValueError(f"{path}: {fmt} cannot hold {what} data; write .npy "
                         "(or TIFF for 2-D float32 gray)")
    if picture.dtype == np.uint16 and (picture.layout != "gray" or picture.alpha is not None):
        raise ValueError(f"{path}: Pillow cannot write 16-bit colour or alpha ({what}); "
                         "write .npy to keep 16 bits")
    if fmt == "JPEG" and (picture.dtype != np.uint8 or picture.alpha is not None):
        raise ValueError(f"{path}: JPEG holds 8-bit gray or RGB without alpha, not {what}; "
                         "write PNG or TIFF")


def write_picture(path, picture, overwrite=False):
    """Write ``picture`` to ``path`` in its stored type (check_writable's
    checks first); the file appears whole or not at all (gdfast.files)."""
    check_writable(path, picture, overwrite)
    fmt = image_format(path)
    array = picture.stored_array()
    buf = io.BytesIO()
    if fmt == "NPY":
        np.save(buf, array, allow_pickle=False)
    else:
        image = _pillow().fromarray(np.ascontiguousarray(array))
        options = dict(quality=95) if fmt == "JPEG" else {}
        image.save(buf, format=fmt, **options)
    write_bytes_atomically(path, buf.getvalue(), overwrite)


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ModuleNotFoundError(PILLOW_MESSAGE) from None
    return Image


def _read_npy(path):
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy file ({err})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{path}: not a .npy array")
    if array.dtype not in INTEGER_MAX and array.dtype not in FLOAT_TYPES:
        raise ValueError(f"{path}: expected a uint8, uint16, float32 or float64 array, "
                         f"got {array.dtype}")
    if array.dtype in FLOAT_TYPES and not np.isfinite(array).all():
        raise ValueError(f"{path}: the array holds NaN or inf")
    return array


def _read_with_pillow(path):
    Image = _pillow()
    from PIL import UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image.load()
            if image.format == "PNG" and image.mode in ("RGB", "RGBA") and _png_bit_depth(path) == 16:
                raise ValueError(f"{path}: a 16-bit colour PNG, which Pillow reads only as 8 bits "
                                 "per channel; save it as .npy (uint16, (H, W, 3)) to keep 16 bits")
            image = image.convert(_PILLOW_EXPAND[image.mode]) if image.mode in _PILLOW_EXPAND \
                else image
            mode = image.mode
            array = np.asarray(image)
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image Pillow can read") from None
    except (OSError, SyntaxError) as err:              # truncated or corrupt data
        raise ValueError(f"{path}: unreadable image ({err})") from None
    if mode in _PILLOW_GRAY_16:
        return array.astype(np.uint16)
    if mode in ("L", "LA", "RGB", "RGBA", "F"):
        return array
    raise ValueError(f"{path}: Pillow mode {mode!r} is not supported (gray, 16-bit gray, "
                     "float gray, RGB, RGBA); convert the image first")


def _png_bit_depth(path):
    with open(path, "rb") as fh:
        header = fh.read(25)
    return header[24] if len(header) == 25 else None


def _picture_of(path, array, channels_last):
    if array.ndim == 2:
        return Picture([_to_plane(array)], array.dtype, "gray")
    if array.ndim == 3 and channels_last:
        n = array.shape[-1]
        colours = 1 if n <= 2 else 3
        alpha = array[..., colours].copy() if n in (2, 4) else None
        return Picture([_to_plane(array[..., c]) for c in range(colours)], array.dtype,
                       "gray" if colours == 1 else "rgb", alpha)
    if array.ndim == 3:
        return Picture([_to_plane(array)], array.dtype, "volume")
    raise ValueError(f"{path}: expected a 2-D image, an (H, W, 3 or 4) colour image or a "
                     f"(D, H, W) volume, got shape {array.shape}")


def _to_plane(a):
    scale = INTEGER_MAX.get(a.dtype)
    plane = np.ascontiguousarray(a, dtype=np.float64)
    return plane / scale if scale else plane


def _to_stored(plane, dtype):
    scale = INTEGER_MAX.get(dtype)
    if scale is None:
        return plane.astype(dtype)
    return np.rint(np.clip(plane, 0.0, 1.0) * scale).astype(dtype)
