"""Images on disk for ``gdfast denoise``: PNG, TIFF and JPEG through Pillow
(an optional extra: ``pip install "gdfast[images]"``), 16-bit colour TIFF
through tifffile (in the same extra), and numpy's .npy.

A file becomes a ``Picture``: float64 planes to denoise one by one, plus what
is needed to write the result back in the file's own type. Integer images
(8 and 16 bit) are divided by their type's maximum (255, 65535), so every
image lives on [0, 1] and ``lam`` means the same for both depths (as
scikit-image's ``img_as_float``); they are written back rounded to the same
type. Float data (.npy, 32-bit float TIFF) are denoised as stored and
written back in their own float type (a float32 result beyond float32's
range is clipped to its largest finite value, never written as inf). A .npy
of a non-native byte order (">f8") is read byte-swapped and written back in
its own byte order.

16-bit colour: Pillow opens 16-bit RGB and RGBA TIFFs as 8-bit images, so
those (and TIFFs Pillow cannot open: 16-bit gray+alpha) are read with
tifffile, and 16-bit colour or alpha is written to TIFF with tifffile; a
one-line error names it when it is missing. tifffile also reads, when it
is installed, a TIFF with an Orientation tag other than 1 (8- or 16-bit,
or float32 gray), whose pixels Pillow turns upright when reading them: they
are denoised as stored and the tag is kept. (Without tifffile, and for
palette or 1-bit TIFFs, Pillow reads them turned, and the tag is dropped.)
Pillow reads 16-bit colour PNGs only at 8 bits and cannot write 16-bit
colour PNG: the first are refused, the second is refused before any work.

Colour: each of R, G and B is denoised on its own, as a gray image with the
same ``lam`` (channel-by-channel TV; the channels are not coupled). An alpha
channel is copied through untouched. Palette images are expanded to RGB(A).
Transparency stored without an alpha channel (a PNG's tRNS chunk: one
transparent gray or RGB value, or a palette's alpha per entry) becomes an
alpha channel (gray+alpha, RGBA; 16-bit gray keeps 16 bits), so it is kept.

Several pages (a multi-page TIFF, an animated PNG): every page is denoised,
none dropped. Gray pages of one size form a stack, denoised page by page
(or in 3-D as one volume with ``volume=True``) and written back as a
multi-page TIFF or a (D, H, W) .npy; colour stacks are refused.

Before any pixel is read, the size the file declares is checked against the
memory available (estimate_memory), so a huge or forged header is a one-line
error, not a crash (this check replaces Pillow's decompression-bomb limit).
Results are streamed to disk (gdfast._files.write_atomically): a .npy of
float64 data is written from the denoised planes without any copy.

Metadata: what the input says about its pixels travels to the output
(``Metadata``, carried by the Picture) as far as the output's format can
hold it; the rest is dropped without a message. The pixels are denoised as
stored, never rotated by the orientation, which is written back so viewers
show the result as they showed the input.

- JPEG: EXIF (orientation included), ICC profile, DPI (JFIF density, whole
  dots per inch).
- PNG: EXIF (eXIf chunk, orientation included), ICC profile, DPI (pHYs, in
  pixels per metre). Text chunks are not kept.
- TIFF (read and written by Pillow or by tifffile, the same): XResolution,
  YResolution and ResolutionUnit as stored (inch, centimetre or none), the
  ICC profile, the Orientation tag; ImageJ's calibration (unit, spacing =
  z-spacing, finterval, origins, display range, labels, the hyperstack's
  frames, slices and channels), which needs tifffile: a TIFF with ImageJ
  metadata is written with tifffile in ImageJ's format. Other tags (EXIF
  beyond the orientation, ImageJ-less ImageDescription, XMP, ...) are not
  kept.
- .npy: holds no metadata, none is kept.

Across formats: the orientation goes from EXIF to TIFF's Orientation tag
and back; a JPEG's or PNG's DPI becomes a TIFF resolution in inches, and a
TIFF resolution in inches or centimetres becomes DPI (a resolution of no
unit, as ImageJ writes it, has no DPI); the ICC profile goes everywhere but
.npy; ImageJ calibration goes only to TIFF; an EXIF block JPEG cannot hold
(over 64 KiB) is dropped, its orientation kept.
"""
import contextlib
import dataclasses
import math
import numbers
import os
from fractions import Fraction

import numpy as np

from .._files import check_can_write, write_atomically

PILLOW_MESSAGE = ('reading and writing PNG, TIFF and JPEG needs Pillow, an optional extra: '
                  'pip install Pillow  (or pip install "gdfast[images]")')
TIFFFILE_MESSAGE = ('needs tifffile, an optional extra: pip install tifffile  '
                    '(or pip install "gdfast[images]")')
FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG", ".jpeg": "JPEG",
           ".npy": "NPY"}
INTEGER_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
FLOAT_TYPES = (np.dtype(np.float32), np.dtype(np.float64))
_PILLOW_GRAY_16 = ("I;16", "I;16L", "I;16B", "I;16N")
_PILLOW_EXPAND = {"1": "L", "P": "RGB", "PA": "RGBA"}
# modes whose transparency (a tRNS chunk) becomes an alpha channel
_PILLOW_TRANSPARENT = {"1": "LA", "L": "LA", "P": "RGBA", "RGB": "RGBA"}


ORIENTATION = 0x0112                 # the EXIF and TIFF Orientation tag
_RESOLUTION_TAGS = (282, 283, 296)   # TIFF XResolution, YResolution, ResolutionUnit
_ICC_TAG = 34675
_INCH, _CENTIMETRE = 2, 3            # TIFF ResolutionUnit codes (1: no unit)
_JPEG_EXIF_MAX = 65533               # bytes of EXIF one JPEG APP1 segment holds
# ImageJ entries tifffile writes from the data's shape, not from the metadata
_IMAGEJ_LAYOUT = {"ImageJ", "images", "channels", "slices", "frames", "hyperstack", "axes"}
_IMAGEJ_AXES = (("T", "frames"), ("Z", "slices"), ("C", "channels"))


@dataclasses.dataclass(frozen=True)
class Metadata:
    """What an image file says about its pixels besides their values, kept
    from input to output as far as the output format can hold it (the
    module docstring lists what each format keeps).

    exif         the EXIF block of a JPEG or PNG, as Pillow reads and writes
                 it (b'Exif\\0\\0...'), or None.
    orientation  the EXIF or TIFF Orientation (1 to 8), or None.
    icc_profile  the ICC colour profile's bytes, or None.
    resolution   (x, y) pixels per resolution_unit as Fractions, or None.
    resolution_unit  TIFF's ResolutionUnit: 1 no unit, 2 inch, 3 centimetre.
    imagej       ImageJ's metadata as tifffile reads it (unit, spacing,
                 slices, frames, ...), or None.
    """
    exif: bytes | None = None
    orientation: int | None = None
    icc_profile: bytes | None = None
    resolution: tuple[Fraction, Fraction] | None = None
    resolution_unit: int = _INCH
    imagej: dict | None = None

    def dpi(self):
        """(x, y) dots per inch, or None without a resolution in inches or
        centimetres."""
        if self.resolution is None or self.resolution_unit not in (_INCH, _CENTIMETRE):
            return None
        scale = 2.54 if self.resolution_unit == _CENTIMETRE else 1.0
        return tuple(float(r) * scale for r in self.resolution)

    def exif_for(self, fmt):
        """The EXIF block to write to a JPEG or PNG: the one read, or one
        holding only the orientation read from a TIFF; None if neither."""
        if self.exif is not None and (fmt != "JPEG" or len(self.exif) <= _JPEG_EXIF_MAX):
            return self.exif
        if self.orientation in (None, 1):
            return None
        exif = _pillow().Exif()
        exif[ORIENTATION] = self.orientation
        return exif.tobytes()

    def tiff_resolution(self):
        """((numerator, denominator), (numerator, denominator)) of 32-bit
        integers, as TIFF stores a resolution, or None."""
        if self.resolution is None:
            return None
        return tuple(_tiff_rational(r) for r in self.resolution)


@dataclasses.dataclass
class Picture:
    """An image or volume as ``gdfast denoise`` handles it.

    planes  list of float64 arrays, each (H, W) (or one (D, H, W) volume), the
            parts denoised independently: one for gray, three for RGB, one
            per page for a stack.
    dtype   the stored type: uint8, uint16 (planes scaled to [0, 1]), float32
            or float64 (planes as stored).
    layout  'gray', 'rgb', 'volume' or 'pages' (a stack of gray pages).
    alpha   the alpha channel as stored ((H, W), dtype), or None.
    npy_byteorder  '=' (native), or '>' / '<': the byte order of the .npy
            read, in which a .npy output is written (dtype itself is native).
    metadata  the file's Metadata (EXIF, ICC profile, resolution, ImageJ
            calibration), written with the result as far as its format can
            hold it.
    """
    planes: list
    dtype: np.dtype
    layout: str
    alpha: np.ndarray | None = None
    npy_byteorder: str = "="
    metadata: Metadata = dataclasses.field(default_factory=Metadata)

    @property
    def shape(self):
        """The stored array's shape: (H, W), (H, W, 3 or 4) or (D, H, W)."""
        s = self.planes[0].shape
        if self.layout == "pages":
            return (len(self.planes),) + s
        if self.layout == "rgb":
            return s + (3 + (self.alpha is not None),)
        return s + ((2,) if self.alpha is not None else ())

    def describe(self, gloss=False):
        """'RGB 512x600 uint8' for a photograph 512 wide and 600 high: the
        kind, the size as width x height (x pages, or x depth for a volume),
        as photographers read a size, and the stored type; with gloss, what
        the sides are: '(width x height)'. The one describer of a picture, on
        the command's lines and in its error messages."""
        kind = {"gray": "gray", "rgb": "RGB", "volume": "volume",
                "pages": "page stack"}[self.layout]
        alpha = "+alpha" if self.alpha is not None else ""
        height, width = self.planes[0].shape[-2:]
        depth = None
        if self.layout in ("volume", "pages"):
            depth = len(self.planes) if self.layout == "pages" else self.planes[0].shape[0]
        said = ""
        if gloss:
            names = ["width", "height"] + ([] if depth is None else
                                           ["pages" if self.layout == "pages" else "depth"])
            said = f" ({' x '.join(names)})"
        return f"{kind}{alpha} {size_text(width, height, depth)} {self.dtype.name}{said}"

    def plane_names(self):
        """Names of the planes, as the CLI reports them and tags checkpoints:
        ('R', 'G', 'B'), ('page1', 'page2', ...) or ('',) for one plane."""
        if self.layout == "rgb":
            return ("R", "G", "B")
        if self.layout == "pages":
            return tuple(f"page{k + 1}" for k in range(len(self.planes)))
        return ("",)

    def with_planes(self, planes):
        """The same picture (type, layout, alpha, metadata) with other planes:
        the denoised result, written as the input was."""
        return dataclasses.replace(self, planes=list(planes))

    def stored_array(self):
        """The planes back in the stored type and shape (integers rounded and
        clipped to the type's range), alpha appended: one new array."""
        stored = np.empty(self.shape, self.dtype)
        for rows, chunk in self._stored_chunks():
            stored[rows] = chunk
        return stored

    def stored_pages(self):
        """The picture in its stored type, one array per page: the stored
        array ((H, W) or (H, W, C)) for one image, each (H, W) page of a
        stack or volume."""
        if self.layout in ("pages", "volume"):
            return list(self.stored_array())
        return [self.stored_array()]

    def _stored_chunks(self):
        """(slice of axis 0, stored-type array of those rows or pages) in
        order, converted a few MiB at a time; a float64 plane is not copied."""
        if self.layout == "pages":
            for k, plane in enumerate(self.planes):
                yield slice(k, k + 1), _to_stored(plane, self.dtype)[None]
            return
        first = self.planes[0]
        step = max(1, _CHUNK_ELEMENTS // (first[0].size * len(self.planes)))
        for start in range(0, first.shape[0], step):
            rows = slice(start, start + step)
            parts = [_to_stored(p[rows], self.dtype) for p in self.planes]
            if self.alpha is not None:
                parts.append(self.alpha[rows])
            yield rows, parts[0] if len(parts) == 1 else np.stack(parts, axis=-1)

    def write_npy(self, fh):
        """Stream the picture as a .npy file (numpy's format 1.0, as np.save
        writes it) to the binary file handle fh, in the byte order read."""
        dtype = self.dtype.newbyteorder(self.npy_byteorder)
        header = dict(descr=np.lib.format.dtype_to_descr(dtype), fortran_order=False,
                      shape=self.shape)
        np.lib.format.write_array_header_1_0(fh, header)
        for _, chunk in self._stored_chunks():
            fh.write(memoryview(np.ascontiguousarray(chunk, dtype=dtype)).cast("B"))


def size_text(width, height, depth=None):
    """'512x600' for an image 512 wide and 600 high (x depth or pages for a
    stack): width first, as photographers read a size."""
    return "x".join(map(str, (width, height) + (() if depth is None else (depth,))))


def _declared_size(shape, colour, pages=1):
    """A stored shape as size_text reads it: (H, W), (H, W, C) with colour,
    or (D, H, W); '7x6, 3 channels' for (6, 7, 3), ', in 2 pages' added."""
    shape = tuple(shape)
    channels = shape[-1] if colour else None
    sides = shape[:-1] if colour else shape
    depth = sides[0] if len(sides) == 3 else None
    text = size_text(sides[-1], sides[-2], depth)
    if channels is not None:
        text += f", {channels} channels"
    return text + (f", in {pages} pages" if pages > 1 else "")


# elements converted to the stored type at a time when writing (8 MiB of float64)
_CHUNK_ELEMENTS = 1 << 20


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
    dtype uint8, uint16, float32 or float64, in either byte order; float data
    must be finite.
    PNG / TIFF / JPEG: 8-bit gray, 16-bit gray, 32-bit float gray (TIFF), RGB
    and RGBA (8 bit; 16 bit in TIFF, read with tifffile), gray+alpha, palette
    and 1-bit images (read as 8-bit); a tRNS chunk's transparency as alpha.
    Several gray pages of one size (multi-page TIFF, animated PNG): a stack
    denoised page by page, or with volume=True one (D, H, W) volume.
    The picture carries the file's Metadata (the module docstring).
    Raises FileNotFoundError for a missing file, ValueError for a file that
    is not a readable image of these kinds or too large for the memory
    available (checked from the header, before reading the pixels).
    """
    path = os.fspath(path)
    fmt = image_format(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if fmt != "NPY":
        pages, metadata = _read_with_pillow(path)
        if len(pages) > 1:
            picture = _stack_of(path, pages, volume)
        else:
            picture = _picture_of(path, pages[0], channels_last=True)
        return dataclasses.replace(picture, metadata=metadata)
    array, byteorder = _read_npy(path)
    colour = array.ndim == 3 and array.shape[-1] in (3, 4) and not volume
    picture = _picture_of(path, array, channels_last=colour)
    return dataclasses.replace(picture, npy_byteorder=byteorder)


def estimate_memory(shape, itemsize, colour):
    """Bytes ``gdfast denoise`` needs for a file declaring ``shape`` of items
    of ``itemsize`` bytes (colour: the last axis holds channels): the stored
    array and its copy in the output type, the float64 planes, and the four
    float64 buffers of the largest plane's run (two iterates, the gradient or
    spare buffer, and the optimizer's state)."""
    elements = math.prod(shape)
    plane = elements // shape[-1] if colour else elements
    return 2 * elements * itemsize + 8 * elements + 4 * 8 * plane


def available_memory():
    """Bytes of memory available to a new allocation (Linux: MemAvailable of
    /proc/meminfo), or None where that cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _check_memory(path, shape, itemsize, colour, pages=1):
    needed = estimate_memory((pages,) + tuple(shape) if pages > 1 else tuple(shape),
                             itemsize, colour)
    free = available_memory()
    if free is not None and needed > free:
        raise ValueError(f"{path}: declares an image of {_declared_size(shape, colour, pages)} "
                         f"(width x height) of {itemsize}-byte values; "
                         f"denoising it needs about {needed / 2**30:.1f} GiB of memory and "
                         f"{free / 2**30:.1f} GiB are available")


def check_writable(path, picture, overwrite):
    """Raise before any work if ``picture`` cannot be written to ``path``:
    unknown suffix, missing folder, a folder or a dangling link at path, an
    existing file (FileExistsError unless overwrite), a folder where no file
    can be created (PermissionError and the like: gdfast._files.
    check_can_write), or a type the format cannot hold (ValueError)."""
    path = os.fspath(path)
    fmt = image_format(path)
    if os.path.isfile(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass --force to overwrite it")
    check_can_write(path, "OUTPUT", overwrite)
    if fmt == "NPY":
        return
    what = picture.describe()
    stack = picture.layout in ("volume", "pages")
    if stack and fmt != "TIFF":
        raise ValueError(f"{path}: a {what} can only be written as .npy or as a multi-page TIFF")
    if picture.dtype in FLOAT_TYPES and not (
            fmt == "TIFF" and picture.dtype == np.float32 and picture.layout != "rgb"
            and picture.alpha is None):
        raise ValueError(f"{path}: {fmt} cannot hold {what} data; write .npy "
                         "(or TIFF for float32 gray)")
    if _needs_tifffile(picture):
        if fmt == "TIFF":
            _tifffile(f"{path}: writing {what} as TIFF {TIFFFILE_MESSAGE}")
        else:
            raise ValueError(f"{path}: Pillow cannot write 16-bit colour or alpha ({what}); "
                             "write .npy or TIFF to keep 16 bits")
    if fmt == "JPEG" and (picture.dtype != np.uint8 or picture.alpha is not None):
        raise ValueError(f"{path}: JPEG holds 8-bit gray or RGB without alpha, not {what}; "
                         "write PNG or TIFF")


def write_picture(path, picture, overwrite=False):
    """Write ``picture`` to ``path`` in its stored type (check_writable's
    checks first), with the metadata the format holds (the module
    docstring); the file appears whole or not at all (gdfast._files). A
    stack or volume becomes one TIFF page per 2-D slice."""
    check_writable(path, picture, overwrite)
    fmt = image_format(path)
    if fmt == "NPY":
        write_atomically(path, picture.write_npy, overwrite)
    elif _needs_tifffile(picture) or (fmt == "TIFF" and _keeps_imagej(picture)):
        _write_with_tifffile(os.fspath(path), picture, overwrite)
    else:
        _write_with_pillow(path, fmt, picture, overwrite)


def _write_with_tifffile(path, picture, overwrite):
    """Write a TIFF with tifffile: 16-bit colour or alpha, or a picture
    with ImageJ metadata (then in ImageJ's format)."""
    tifffile = _tifffile(f"{path}: writing {picture.describe()} as TIFF {TIFFFILE_MESSAGE}")
    array = picture.stored_array()
    options = _tifffile_options(picture)
    if _keeps_imagej(picture):
        array, metadata = _imagej_layout(array, picture)
        options.update(imagej=True, metadata=metadata)
    # a FileHandle with a name: tifffile takes the name of a file object
    # for a path, and the temporary's file object is named by its descriptor
    name = os.path.basename(path)
    write_atomically(path, lambda fh: tifffile.imwrite(tifffile.FileHandle(fh, name=name),
                                                       array, **options), overwrite)


def _tifffile_options(picture):
    """tifffile.imwrite's options for the picture's samples and metadata
    (resolution, ICC profile, orientation)."""
    metadata = picture.metadata
    options = dict(photometric="rgb" if picture.layout == "rgb" else "minisblack")
    if picture.alpha is not None:
        options.update(extrasamples=["unassalpha"])
    if metadata.resolution is not None:
        options.update(resolution=metadata.tiff_resolution(),
                       resolutionunit=metadata.resolution_unit)
    if metadata.icc_profile:
        options.update(iccprofile=metadata.icc_profile)
    if metadata.orientation is not None:
        options.update(extratags=[(ORIENTATION, "H", 1, metadata.orientation, False)])
    return options


def _keeps_imagej(picture):
    """Whether the picture has ImageJ metadata that an ImageJ TIFF can hold
    (8-bit, 16-bit or float32 gray; 8-bit RGB; no alpha) and tifffile,
    which writes it, is installed."""
    holds = picture.dtype in (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32)) \
        and picture.alpha is None and (picture.layout != "rgb" or picture.dtype == np.uint8)
    return picture.metadata.imagej is not None and holds and _tifffile() is not None


def _imagej_layout(array, picture):
    """The stored array shaped as the input's ImageJ hyperstack (frames,
    slices, channels, Y, X) and the ImageJ metadata to write with it: the
    input's, less the entries tifffile derives from that shape."""
    metadata = {k: v for k, v in picture.metadata.imagej.items() if k not in _IMAGEJ_LAYOUT}
    if picture.layout not in ("pages", "volume"):
        return array, metadata
    sizes = [(axis, int(picture.metadata.imagej.get(key, 1))) for axis, key in _IMAGEJ_AXES]
    sizes = [(axis, n) for axis, n in sizes if n > 1]
    if math.prod(n for _, n in sizes) != array.shape[0] or not sizes:
        sizes = [("Z", array.shape[0])]
    axes = "".join(axis for axis, _ in sizes) + "YX"
    return array.reshape(tuple(n for _, n in sizes) + array.shape[1:]), dict(metadata, axes=axes)


def _write_with_pillow(path, fmt, picture, overwrite):
    """Write a PNG, JPEG or TIFF with Pillow, one frame per page."""
    Image = _pillow()
    images = [Image.fromarray(np.ascontiguousarray(page)) for page in picture.stored_pages()]
    options = dict(quality=95) if fmt == "JPEG" else {}
    options.update(_pillow_metadata_options(fmt, picture.metadata))
    if len(images) > 1:
        options.update(save_all=True, append_images=images[1:])
    write_atomically(path, lambda fh: images[0].save(fh, format=fmt, **options), overwrite)


def _pillow_metadata_options(fmt, metadata):
    """Pillow's save options writing ``metadata`` in format fmt: ICC profile;
    EXIF and DPI for JPEG and PNG; resolution and orientation tags for TIFF."""
    options = {}
    if metadata.icc_profile:
        options.update(icc_profile=metadata.icc_profile)
    if fmt == "TIFF":
        from PIL.TiffImagePlugin import IFDRational
        if metadata.resolution is not None:
            x, y = (IFDRational(*r) for r in metadata.tiff_resolution())
            options.update(x_resolution=x, y_resolution=y,
                           resolution_unit=metadata.resolution_unit)
        if metadata.orientation is not None:
            options.update(tiffinfo={ORIENTATION: metadata.orientation})
        return options
    exif = metadata.exif_for(fmt)
    if exif is not None:
        options.update(exif=exif)
    if metadata.dpi() is not None:
        options.update(dpi=metadata.dpi())
    return options


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ModuleNotFoundError(PILLOW_MESSAGE) from None
    return Image


def _tifffile(message=None):
    """The tifffile module; without it ModuleNotFoundError(message), or None
    when no message is given."""
    try:
        import tifffile
    except ImportError:
        if message is None:
            return None
        raise ModuleNotFoundError(message) from None
    return tifffile


def _needs_tifffile(picture):
    """16-bit colour or alpha, which Pillow cannot write (tifffile writes it as TIFF)."""
    return picture.dtype == np.uint16 and (picture.layout == "rgb" or picture.alpha is not None)


def _read_npy(path):
    try:
        with open(path, "rb") as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(fh)
    except (ValueError, OSError, EOFError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable .npy file ({err})") from None
    native = dtype.newbyteorder("=")            # '>f8' is float64 too
    if native not in INTEGER_MAX and native not in FLOAT_TYPES:
        raise ValueError(f"{path}: expected a uint8, uint16, float32 or float64 array "
                         f"(either byte order), got {dtype}")
    _check_memory(path, shape, dtype.itemsize,
                  colour=len(shape) == 3 and shape[-1] in (3, 4))
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path}: not a readable .npy file ({err})") from None
    except MemoryError:
        raise ValueError(f"{path}: not enough memory to read an image of "
                         f"{_declared_size(shape, len(shape) == 3 and shape[-1] in (3, 4))} "
                         f"(width x height) of {dtype} values") from None
    byteorder = "=" if array.dtype.isnative else array.dtype.byteorder
    if byteorder != "=":
        array = array.byteswap(inplace=True).view(native)       # in place: no second copy
    if array.dtype in FLOAT_TYPES and not np.isfinite(array).all():
        raise ValueError(f"{path}: the array holds NaN or inf")
    return array, byteorder


# bytes per value and channels of the Pillow modes read (before conversion)
_MODE_SIZES = {"1": (1, 1), "L": (1, 1), "P": (1, 3), "LA": (1, 2), "PA": (1, 4),
               "RGB": (1, 3), "RGBA": (1, 4), "F": (4, 1), "I": (4, 1), "I;16": (2, 1),
               "I;16L": (2, 1), "I;16B": (2, 1), "I;16N": (2, 1)}


@contextlib.contextmanager
def _no_pillow_pixel_limit(Image):
    """Pillow's decompression-bomb limit off: _check_memory, which knows the
    memory actually available, takes its place."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _read_with_pillow(path):
    """The file's pages as arrays (one for a still image), memory checked
    first, and the file's Metadata (its first page's). 16-bit colour TIFFs,
    and TIFFs Pillow cannot open, go to tifffile."""
    Image = _pillow()
    from PIL import ImageSequence, UnidentifiedImageError
    width = height = None
    metadata = Metadata()
    use_tifffile = None           # why tifffile reads the file instead, if it does
    try:
        with _no_pillow_pixel_limit(Image), Image.open(path) as image:
            width, height = image.size
            if image.format == "TIFF" and _pillow_truncates_tiff(image):
                use_tifffile = ("a 16-bit colour TIFF, which Pillow reads only as 8 bits "
                                "per channel")
            elif image.format == "TIFF" and _turned_by_pillow(image) \
                    and image.mode in _TIFFFILE_MODES and _tifffile() is not None:
                use_tifffile = ""
            else:
                itemsize, channels = _MODE_SIZES.get(image.mode, (4, 4))
                if _has_transparency(image) and image.mode in _PILLOW_TRANSPARENT:
                    channels = 4 if channels == 3 else 2
                elif _has_transparency(image) and image.mode in _PILLOW_GRAY_16:
                    channels = 2
                n_pages = getattr(image, "n_frames", 1)
                _check_memory(path, (height, width) + ((channels,) if channels > 1 else ()),
                              itemsize, colour=channels > 1, pages=n_pages)
                if image.format == "PNG" and image.mode in ("RGB", "RGBA") \
                        and _png_bit_depth(path) == 16:
                    raise ValueError(f"{path}: a 16-bit colour PNG, which Pillow reads only as 8 "
                                     "bits per channel; save it as a 16-bit TIFF or as .npy "
                                     "(uint16, (H, W, 3)) to keep 16 bits")
                pages = []
                for page in ImageSequence.Iterator(image):
                    pages.append(_page_array(path, page))
                    if len(pages) == 1:
                        metadata = _pillow_metadata(path, page)
    except UnidentifiedImageError:
        if image_format(path) != "TIFF" or _tifffile() is None:
            raise ValueError(f"{path}: not an image Pillow can read") from None
        use_tifffile = ""                     # 16-bit gray+alpha, signed samples, ...
    except (OSError, SyntaxError, EOFError) as err:     # truncated or corrupt data
        raise ValueError(f"{path}: unreadable image ({err})") from None
    except MemoryError:
        raise ValueError(f"{path}: not enough memory to read a {size_text(width, height)} "
                         "image (width x height)") from None
    if use_tifffile is not None:
        return _read_with_tifffile(path, use_tifffile)
    return pages, metadata


def _pillow_metadata(path, image):
    """The Metadata of an opened and loaded PIL image (a page): EXIF and
    orientation of a JPEG or PNG, ICC profile, resolution (TIFF's tags,
    else the DPI), and for an ImageJ TIFF its metadata as tifffile reads
    it. (A TIFF with an orientation is read by tifffile.)"""
    exif = image.info.get("exif") if image.format in ("JPEG", "PNG") else None
    if image.format == "TIFF":
        tags = image.tag_v2
        resolution = _resolution(tags.get(282), tags.get(283))
        unit = tags.get(296, _INCH)
        description = tags.get(270)
        imagej = _imagej_metadata(path) if str(description).startswith("ImageJ=") else None
        orientation = None
    else:
        resolution = _resolution(*image.info.get("dpi", (None, None)))
        unit, imagej = _INCH, None
        orientation = _orientation(_pillow_exif(image).get(ORIENTATION))
    icc = image.info.get("icc_profile")
    return Metadata(exif=exif if isinstance(exif, bytes) else None, orientation=orientation,
                    icc_profile=icc if isinstance(icc, bytes) and icc else None,
                    resolution=resolution, resolution_unit=_resolution_unit(unit), imagej=imagej)


def _pillow_exif(image):
    """The image's EXIF tags (a TIFF's own tags for a TIFF); empty when they
    cannot be parsed: broken metadata does not stop the denoising."""
    try:
        return image.getexif()
    except (SyntaxError, ValueError, TypeError, KeyError, OSError, EOFError):
        return {}


def _imagej_metadata(path):
    """ImageJ's metadata of the TIFF at path as tifffile reads it; None
    without tifffile (which is what writes it back) or if unreadable."""
    tifffile = _tifffile()
    if tifffile is None:
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            return tif.imagej_metadata
    except (tifffile.TiffFileError, OSError, ValueError, EOFError):
        return None


def _resolution(x, y):
    """(x, y) as positive Fractions, or None if either is missing or not a
    positive number. x and y: floats, Rationals (Pillow's IFDRational) or
    (numerator, denominator) pairs as tifffile reads TIFF rationals."""
    try:
        pair = tuple(_fraction(v) for v in (x, y))
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return None
    return pair if all(f > 0 for f in pair) else None


def _fraction(value):
    """value exactly as a Fraction (a float to within a millionth)."""
    if isinstance(value, tuple):
        return Fraction(*value)
    if isinstance(value, numbers.Rational):
        return Fraction(value.numerator, value.denominator)
    return Fraction(float(value)).limit_denominator(10**6)


def _tiff_rational(fraction):
    """(numerator, denominator) of fraction, both within TIFF's 32 bits."""
    top = 2**32 - 1
    if max(fraction.numerator, fraction.denominator) > top:
        fraction = fraction.limit_denominator(min(top, int(top / fraction)))
    return fraction.numerator, fraction.denominator


def _resolution_unit(value):
    """TIFF's ResolutionUnit code (1, 2 or 3); 2 (inch, TIFF's default) for
    anything else."""
    try:
        unit = int(value)
    except (TypeError, ValueError):
        return _INCH
    return unit if unit in (1, _INCH, _CENTIMETRE) else _INCH


def _orientation(value):
    """An Orientation tag's value (1 to 8), or None for anything else."""
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _pillow_truncates_tiff(image):
    """Whether Pillow reads this TIFF (an opened PIL image) at fewer bits than
    stored: several bands (RGB, RGBA, ...) of more than 8 bits per sample."""
    bits = image.tag_v2.get(258, 1)                     # BitsPerSample
    bits = tuple(bits) if isinstance(bits, (tuple, list)) else (bits,)
    return len(image.getbands()) > 1 and max(bits) > 8


def _has_transparency(image):
    """Transparency without an alpha channel: a tRNS chunk ('transparency' in
    info) or a palette with alpha."""
    palette = getattr(image, "palette", None) if image.mode == "P" else None
    return "transparency" in image.info or (palette is not None and palette.mode == "RGBA")


# Pillow modes of the TIFFs tifffile reads here (gray, gray+alpha, RGB(A), float gray)
_TIFFFILE_MODES = ("L", "LA", "RGB", "RGBA", "F") + _PILLOW_GRAY_16


def _turned_by_pillow(image):
    """Whether Pillow turns this TIFF (an opened PIL image) upright when
    loading it: an Orientation tag other than 1 (Pillow 11.2 and later;
    Pillow 13 also misplaces the pixels of orientations 5 to 8)."""
    return _orientation(image.tag_v2.get(ORIENTATION)) not in (None, 1)


def _page_array(path, image):
    """A loaded page's pixels: (H, W) or (H, W, C), palettes, 1-bit and
    transparency expanded (module docstring)."""
    image.load()
    transparent = _has_transparency(image)
    if transparent and image.mode in _PILLOW_GRAY_16:
        gray = np.asarray(image).astype(np.uint16)       # the tRNS value is a 16-bit sample
        alpha = np.where(gray == image.info["transparency"], 0, 65535).astype(np.uint16)
        return np.stack([gray, alpha], axis=-1)
    expand = _PILLOW_TRANSPARENT if transparent else _PILLOW_EXPAND
    image = image.convert(expand[image.mode]) if image.mode in expand else image
    mode = image.mode
    array = np.asarray(image)
    if mode in _PILLOW_GRAY_16:
        return array.astype(np.uint16)
    if mode in ("L", "LA", "RGB", "RGBA", "F"):
        return array
    raise ValueError(f"{path}: Pillow mode {mode!r} is not supported (gray, 16-bit gray, "
                     "float gray, RGB, RGBA); convert the image first")


# tifffile's photometric interpretations read, by samples per pixel
_TIFF_PHOTOMETRIC = {1: "MINISBLACK", 2: "MINISBLACK", 3: "RGB", 4: "RGB"}


class _TiffDecodeError(Exception):
    """tifffile failed decoding a page (truncated data, a codec missing)."""


def _read_with_tifffile(path, why):
    """The TIFF's pages as (H, W) or (H, W, C) uint8 / uint16 arrays, or
    (H, W) float32 ones, in native byte order, read with tifffile, and its
    Metadata; memory checked from the
    pages' headers before any pixel is decoded. ``why``: what the file is, for the message
    when tifffile is missing ('' for a file Pillow could not open)."""
    if why:
        tifffile = _tifffile(f"{path}: {why}; reading it at 16 bits {TIFFFILE_MESSAGE}")
    else:
        tifffile = _tifffile()
    try:
        with tifffile.TiffFile(path) as tif:
            pages = list(tif.pages)
            if not pages:
                raise tifffile.TiffFileError("no pages")
            for page in pages:
                _check_tiff_page(path, page)
            first = pages[0]
            shape = _tiff_page_shape(first)
            _check_memory(path, shape, first.dtype.itemsize, colour=len(shape) == 3,
                          pages=len(pages))
            try:
                arrays = [_tiff_page_array(page) for page in pages]
            except MemoryError:
                raise ValueError(f"{path}: not enough memory to read an image of "
                                 f"{_declared_size(shape, len(shape) == 3)} (width x "
                                 "height)") from None
            except (ValueError, OSError, EOFError, KeyError, IndexError) as err:
                raise _TiffDecodeError(str(err)) from None
            metadata = _tifffile_metadata(tif)
    except tifffile.TiffFileError:
        raise ValueError(f"{path}: not an image Pillow or tifffile can read") from None
    except (OSError, EOFError, _TiffDecodeError) as err:     # truncated, or a codec missing
        raise ValueError(f"{path}: unreadable TIFF ({err})") from None
    return arrays, metadata


def _tifffile_metadata(tif):
    """The Metadata of an open tifffile.TiffFile: its first page's
    resolution, ICC profile and orientation, and ImageJ's metadata."""
    page = tif.pages[0]
    x, y, unit = (_tag_value(page, code) for code in _RESOLUTION_TAGS)
    icc = _tag_value(page, _ICC_TAG)
    return Metadata(orientation=_orientation(_tag_value(page, ORIENTATION)),
                    icc_profile=bytes(icc) if icc else None,
                    resolution=None if x is None or y is None else _resolution(x, y),
                    resolution_unit=_resolution_unit(_INCH if unit is None else unit),
                    imagej=tif.imagej_metadata)


def _tag_value(page, code):
    """The value of a tifffile page's tag ``code``, or None without it."""
    tag = page.tags.get(code)
    return None if tag is None else tag.value


def _check_tiff_page(path, page):
    n = page.samplesperpixel
    photometric = getattr(page.photometric, "name", str(page.photometric))
    float_gray = page.dtype == np.float32 and n == 1
    if (page.dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)) and not float_gray) \
            or _TIFF_PHOTOMETRIC.get(n) != photometric or _tiff_page_shape(page) is None:
        raise ValueError(f"{path}: a TIFF of {page.dtype} samples, {n} per pixel "
                         f"({photometric.lower()}, axes {page.axes}); expected 8- or 16-bit "
                         "unsigned gray, gray+alpha, RGB or RGBA, or 32-bit float gray")


def _tiff_page_shape(page):
    """(H, W) or (H, W, samples) of a tifffile page, whatever its planar
    layout; None for a page of more axes (depth, ...)."""
    sizes = dict(zip(page.axes, page.shape))
    if set(sizes) - set("YXS") or not {"Y", "X"} <= set(sizes):
        return None
    return (sizes["Y"], sizes["X"]) + ((sizes["S"],) if sizes.get("S", 1) > 1 else ())


def _tiff_page_array(page):
    """A checked page's pixels as (H, W) or (H, W, samples), native byte order."""
    array = page.asarray().reshape(page.shape)
    if "S" in page.axes:
        array = np.moveaxis(array, page.axes.index("S"), -1)
    array = np.ascontiguousarray(array.reshape(_tiff_page_shape(page)))
    native = array.dtype.newbyteorder("=")
    return array if array.dtype.isnative else array.byteswap(inplace=True).view(native)


def _stack_of(path, pages, volume):
    """A Picture of several pages: a stack of gray pages, or one volume."""
    first = pages[0]
    if any(p.shape != first.shape or p.dtype != first.dtype for p in pages):
        raise ValueError(f"{path}: its {len(pages)} pages differ in size or type; gdfast "
                         "denoises a stack of pages of one size and type")
    if first.ndim != 2:
        kind = "colour" if first.shape[-1] >= 3 else "gray+alpha"
        raise ValueError(f"{path}: {len(pages)} {kind} pages; gdfast denoises stacks of gray "
                         "pages without alpha: split the pages into files, or save them as .npy")
    if volume:
        return Picture([_to_plane(np.stack(pages))], first.dtype, "volume")
    return Picture([_to_plane(p) for p in pages], first.dtype, "pages")


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
    """a as a C-contiguous float64 plane (a itself if it is one), integers
    divided by their type's maximum in place: one buffer at most."""
    scale = INTEGER_MAX.get(a.dtype)
    plane = np.ascontiguousarray(a, dtype=np.float64)
    if scale:
        plane /= scale
    return plane


def _to_stored(plane, dtype):
    scale = INTEGER_MAX.get(dtype)
    if scale is None:
        if dtype == np.float64:
            return plane.astype(dtype, copy=False)
        with np.errstate(over="ignore"):
            stored = plane.astype(dtype)
        if not np.isfinite(stored).all():                # beyond float32's range, not inf
            big = np.finfo(dtype).max
            np.clip(stored, -big, big, out=stored)
        return stored
    return np.rint(np.clip(plane, 0.0, 1.0) * scale).astype(dtype)
