"""OME-Zarr (NGFF 0.4 and 0.5) images for ``gdfast denoise in.ome.zarr -o out.ome.zarr``.

An OME-Zarr image is a zarr group whose ``multiscales`` metadata (NGFF 0.4:
the group's attributes, zarr v2; 0.5: ``attributes["ome"]``, zarr v3) list
its axes (name, type 'space' / 'channel' / 'time' or another, unit) and its
levels: datasets from full resolution down, each with its coordinate
transformations. gdfast reads level 0 of the first multiscale image; its 2
or 3 space axes (the last ones, as NGFF requires) make each image denoised,
and every other axis (channel, time, custom) is looped over, one 2-D image
or 3-D volume per index.

The output is written with plain zarr and json (no OME library): the
input's attributes (axes, units, coordinate transformations, name, omero),
its zarr format, and its levels' paths, shapes, chunks and dtype. Levels
1..n are made from the level above by a **block mean** over the factors the
input's own shapes step by (``level_factors``): the mean of the voxels each
coarser voxel covers, which is what the levels' scale and translation
transformations describe (a voxel of a level f times coarser covers f of
the finer, its centre shifted by (f - 1) / 2), keeps the image's mean and
brings no aliasing or overshoot; the multiscale's ``type`` says "mean".
"""
import json
import os
import re
import shutil

VERSIONS = ("0.4", "0.5")
DOWNSAMPLING = "mean"


class Image:
    """An OME-Zarr image opened for reading: ``version`` ('0.4' or '0.5'),
    ``zarr_format`` (2 or 3), ``attributes`` (the group's, as stored),
    ``multiscale`` (the first entry of its multiscales), ``axes`` and
    ``levels`` (the zarr arrays of its datasets, level 0 first)."""

    def __init__(self, path, version, zarr_format, attributes, multiscale, levels):
        self.path, self.version, self.zarr_format = path, version, zarr_format
        self.attributes, self.multiscale, self.levels = attributes, multiscale, levels
        self.axes = multiscale["axes"]

    @property
    def n_space(self):
        """The number of space axes (the last ones)."""
        return sum(1 for a in self.axes if a.get("type") == "space")

    def planes(self):
        """[(index, name)]: an index over the non-space axes (a tuple, () for
        none) and a name for it ('c0_z', 't1_c0'), in C order."""
        import numpy as np
        outer = self.levels[0].shape[:len(self.axes) - self.n_space]
        names = [re.sub(r"[^A-Za-z0-9]", "", a["name"]) or f"axis{i}"
                 for i, a in enumerate(self.axes[:len(outer)])]
        return [(idx, "_".join(f"{n}{i}" for n, i in zip(names, idx)))
                for idx in np.ndindex(*outer)]

    def describe(self):
        """A line on the image: version, axes, level shapes."""
        axes = ", ".join(f"{a['name']} ({a.get('type', 'no type')}"
                         + (f", {a['unit']})" if a.get("unit") else ")") for a in self.axes)
        return (f"OME-Zarr {self.version} image {self.levels[0].shape} "
                f"{self.levels[0].dtype}, axes {axes}, {len(self.levels)} level"
                + ("s" if len(self.levels) > 1 else ""))


def multiscales_of(attributes):
    """(version, multiscales list) of a group's attributes, or None when they
    hold no OME-Zarr multiscales."""
    if not isinstance(attributes, dict):
        return None
    ome = attributes.get("ome")
    if isinstance(ome, dict) and "multiscales" in ome:
        return str(ome.get("version", "")), ome["multiscales"]
    ms = attributes.get("multiscales")
    if isinstance(ms, list):
        version = ms[0].get("version", "") if ms and isinstance(ms[0], dict) else ""
        return str(version), ms
    return None


def is_image(node):
    """True if the zarr node is a group with OME-Zarr multiscales metadata."""
    import zarr
    return isinstance(node, zarr.Group) and multiscales_of(node.attrs.asdict()) is not None


def open_image(group, path):
    """The `Image` of the zarr group ``group`` (named ``path`` in errors):
    ValueError naming INPUT for a version other than 0.4 and 0.5, axes that
    do not have 2 or 3 space axes last, or missing or mismatched levels."""
    import zarr
    attributes = group.attrs.asdict()
    version, multiscales = multiscales_of(attributes)
    where = f"INPUT {path}"
    if version not in VERSIONS:
        raise ValueError(f"{where}: OME-Zarr version {version or '(none given)'}; gdfast reads "
                         f"versions {' and '.join(VERSIONS)}")
    if not multiscales or not isinstance(multiscales[0], dict):
        raise ValueError(f"{where}: its multiscales metadata list no image")
    ms = multiscales[0]
    axes, datasets = ms.get("axes"), ms.get("datasets")
    if not isinstance(axes, list) or not all(isinstance(a, dict) and "name" in a for a in axes):
        raise ValueError(f"{where}: multiscales axes must be a list of objects with a name "
                         f"(NGFF {version}), got {axes!r}")
    types = [a.get("type") for a in axes]
    n_space = types.count("space")
    if n_space not in (2, 3) or types[len(types) - n_space:] != ["space"] * n_space:
        raise ValueError(f"{where}: expected 2 or 3 space axes, last (NGFF), got axes types "
                         f"{types}")
    if not isinstance(datasets, list) or not datasets or \
            not all(isinstance(d, dict) and isinstance(d.get("path"), str) for d in datasets):
        raise ValueError(f"{where}: multiscales datasets must be a non-empty list of objects "
                         f"with a path, got {datasets!r}")
    levels = []
    for d in datasets:
        try:
            level = group[d["path"]]
        except KeyError:
            raise ValueError(f"{where}: its level {d['path']!r} is missing") from None
        if not isinstance(level, zarr.Array) or level.ndim != len(axes):
            raise ValueError(f"{where}: level {d['path']!r} must be an array of {len(axes)} "
                             f"dimensions (one per axis), got "
                             f"{getattr(level, 'shape', 'a group')}")
        levels.append(level)
    image = Image(path, version, 2 if version == "0.4" else 3, attributes, ms, levels)
    try:
        level_factors([lv.shape for lv in levels])
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    return image


def level_factors(shapes):
    """Per level after the first, the integer factor per axis by which it
    is smaller than the level above (its length n // f or ceil(n / f), the
    smallest such f); ValueError when a level is no such reduction."""
    factors = []
    for k in range(1, len(shapes)):
        step = []
        for n, m in zip(shapes[k - 1], shapes[k]):
            f = next((f for f in range(1, n + 1) if m in (n // f, -(-n // f))), None)
            if f is None:
                raise ValueError(f"level {k}'s shape {shapes[k]} is no integer reduction of "
                                 f"level {k - 1}'s {shapes[k - 1]}")
            step.append(f)
        factors.append(tuple(step))
    return factors


def block_mean(x, factors, shape):
    """The dask array x reduced by ``factors`` (an int per axis) to ``shape``:
    each voxel the mean, in float64, of the block of x it covers (a partial
    block at the far edge, when shape is ceil(n / f), the mean of the voxels
    it has; when shape is n // f, the excess is left out)."""
    import dask.array as da
    import numpy as np
    x = x.astype(np.float64)
    x = x[tuple(slice(0, min(n, m * f)) for n, m, f in zip(x.shape, shape, factors))]
    pad = [(0, m * f - n) for n, m, f in zip(x.shape, shape, factors)]
    if any(p for _, p in pad):
        x = da.pad(x, pad, mode="constant", constant_values=0.0)
    x = x.rechunk(tuple(max(1, c[0] // f) * f for c, f in zip(x.chunks, factors)))
    sums = da.coarsen(np.sum, x, dict(enumerate(factors)))
    for axis, (n, m, f) in enumerate(zip(x.shape, shape, factors)):
        if pad[axis][1]:           # the voxels each block has, along this axis
            count = np.minimum(f, n - pad[axis][1] - np.arange(m) * f).astype(np.float64)
            sums = sums / count.reshape([-1 if a == axis else 1 for a in range(x.ndim)])
        else:
            sums = sums / f
    return sums


def _as_type(x, dtype):
    """x (float64) in dtype: integers rounded and clipped to its range."""
    import numpy as np
    if np.dtype(dtype).kind in "ui":
        info = np.iinfo(dtype)
        return x.round().clip(info.min, info.max).astype(dtype)
    return x.astype(dtype)


def output_attributes(image, n_levels):
    """The output group's attributes: the input's, its multiscales reduced
    to the image read, and (for a pyramid) its type and metadata saying
    the levels are block means made by gdfast."""
    from .. import __version__
    attributes = json.loads(json.dumps(image.attributes))      # a deep copy, JSON only
    ms = dict(image.multiscale)
    if n_levels > 1:
        ms["type"] = DOWNSAMPLING
        ms["metadata"] = {
            "description": "level 0 denoised by gdfast (smoothed total variation); each "
                           "further level the block mean of the level above, over the "
                           "input's factors",
            "method": "gdfast.cli.ome_zarr.block_mean", "version": __version__}
    if image.version == "0.5":
        attributes["ome"]["multiscales"] = [ms]
    else:
        attributes["multiscales"] = [ms]
    return attributes


def write_image(x, image, tmp):
    """Write the dask array x (level 0, in the input's dtype) and its pyramid
    as an OME-Zarr group at the new folder ``tmp``: the input's format,
    attributes, level paths, shapes and chunks; levels 1.. by block_mean of
    the level above as written."""
    import dask.array as da
    import zarr
    group = zarr.open_group(tmp, mode="w-", zarr_format=image.zarr_format)
    names = [a["name"] for a in image.axes]
    factors = level_factors([lv.shape for lv in image.levels])
    above = None
    for k, level in enumerate(image.levels):
        path = image.multiscale["datasets"][k]["path"]
        extra = {"chunk_key_encoding": {"name": "v2", "separator": "/"}} \
            if image.zarr_format == 2 else {"dimension_names": names}
        out = group.create_array(path, shape=level.shape, chunks=level.chunks,
                                 dtype=level.dtype, **extra)
        data = x if k == 0 else _as_type(block_mean(above, factors[k - 1], level.shape),
                                         level.dtype)
        da.store(data.rechunk(level.chunks), out, lock=False)
        above = da.from_zarr(out)
    group.attrs.update(output_attributes(image, len(image.levels)))


def remove(path):
    """Remove the folder at path, if any (a failed write's temporary)."""
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)
