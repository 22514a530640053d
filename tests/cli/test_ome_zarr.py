"""`gdfast denoise in.ome.zarr -o out.ome.zarr`: level 0 of an OME-Zarr image
(NGFF 0.4 and 0.5) read, each channel / time point denoised as its own image
or volume (gdfast.denoise's bits), and written as OME-Zarr with the input's
axes, units and transformations and a block-mean pyramid of the input's
levels; read back with ome-zarr-py (a reader no one here wrote) and
validated with ome-zarr-models (pydantic models of the NGFF specification).
The inputs are written here with plain zarr + json and validated too."""
import os
import subprocess
import sys

import numpy as np
import pytest
import zarr

import gdfast
from gdfast.cli import ome_zarr, zarr_denoise

ome_zarr_models = pytest.importorskip("ome_zarr_models")
RUN = ["--lam", "0.1", "--eps", "0.02", "--tol", "0", "--max-iter", "4", "--workers", "1"]
CYX = [{"name": "c", "type": "channel"},
       {"name": "y", "type": "space", "unit": "micrometer"},
       {"name": "x", "type": "space", "unit": "micrometer"}]
TZYX = [{"name": "t", "type": "time", "unit": "second"},
        {"name": "z", "type": "space", "unit": "micrometer"},
        {"name": "y", "type": "space", "unit": "micrometer"},
        {"name": "x", "type": "space", "unit": "micrometer"}]
RNG = np.random.default_rng(32)
COUNTS = np.round(RNG.random((2, 32, 48)) * 65535).astype(np.uint16)     # c, y, x
VOLUMES = RNG.random((2, 6, 10, 12))                                      # t, z, y, x
PYRAMID = [(2, 32, 48), (2, 16, 24), (2, 8, 12)]


def make_image(path, version, data, shapes, axes):
    """An OME-Zarr image at path: levels of the given shapes (strided
    subsamples of data), scale 0.5 * 2**k and the matching translation on
    the space axes, a multiscale-wide scale on the first axis."""
    fmt = 2 if version == "0.4" else 3
    group = zarr.open_group(str(path), mode="w", zarr_format=fmt)
    datasets = []
    for k, shape in enumerate(shapes):
        step = [n // m for n, m in zip(data.shape, shape)]
        extra = ({"chunk_key_encoding": {"name": "v2", "separator": "/"}} if fmt == 2
                 else {"dimension_names": [a["name"] for a in axes]})
        group.create_array(str(k), data=data[tuple(slice(None, m * s, s) for m, s in
                                                   zip(shape, step))],
                           chunks=tuple(max(1, n // 2) for n in shape), **extra)
        space = [a["type"] == "space" for a in axes]
        datasets.append({"path": str(k), "coordinateTransformations": [
            {"type": "scale", "scale": [0.5 * 2 ** k if s else 1.0 for s in space]},
            {"type": "translation", "translation": [0.25 * (2 ** k - 1) if s else 0.0
                                                    for s in space]}]})
    ms = {"axes": axes, "datasets": datasets, "name": "noisy", "coordinateTransformations":
          [{"type": "scale", "scale": [2.0] + [1.0] * (len(axes) - 1)}]}
    if fmt == 2:
        group.attrs.update({"multiscales": [{**ms, "version": "0.4"}]})
    else:
        group.attrs.update({"ome": {"version": "0.5", "multiscales": [ms]}})
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(path), mode="r"))   # valid input
    return path


def denoised(out, inp):
    done = subprocess.run([sys.executable, "-m", "gdfast", "denoise", str(inp), "-o",
                           str(out), *RUN], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """(input, output) of the command on a 0.4 uint16 c-y-x image with three
    levels and on a 0.5 float64 t-z-y-x image with one."""
    folder = tmp_path_factory.mktemp("ome")
    in04 = make_image(folder / "in04.ome.zarr", "0.4", COUNTS, PYRAMID, CYX)
    in05 = make_image(folder / "in05.ome.zarr", "0.5", VOLUMES, [VOLUMES.shape], TZYX)
    return {"0.4": (in04, denoised(folder / "out04.ome.zarr", in04)),
            "0.5": (in05, denoised(folder / "out05.ome.zarr", in05))}


def read_with_ome_zarr_py(path):
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader
    return list(Reader(parse_url(str(path)))())[0]


@pytest.mark.slow
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_py_reads_the_inputs_axes_transformations_and_level_shapes(written, version):
    inp, out = written[version]
    want, got = read_with_ome_zarr_py(inp), read_with_ome_zarr_py(out)
    assert got.metadata["axes"] == want.metadata["axes"]
    assert got.metadata["coordinateTransformations"] == \
        want.metadata["coordinateTransformations"]
    assert [d.shape for d in got.data] == [d.shape for d in want.data]


@pytest.mark.slow
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_the_output_validates_against_the_ngff_models(written, version):
    out = written[version][1]
    model = ome_zarr_models.open_ome_zarr(zarr.open_group(str(out), mode="r"))
    attrs = model.attributes.ome if version == "0.5" else model.attributes
    assert len(attrs.multiscales[0].datasets) == (3 if version == "0.4" else 1)
    assert attrs.multiscales[0].coordinateTransformations[0].scale[0] == 2.0


@pytest.mark.slow
def test_each_channel_is_denoised_as_its_own_image_bit_for_bit(written):
    got = zarr.open_array(str(written["0.4"][1] / "0"), mode="r")[...]
    for c in range(2):
        x = gdfast.denoise(COUNTS[c] / 65535.0, lam=0.1, eps=0.02, max_iter=4, tol=0).x
        assert np.array_equal(got[c], np.clip(np.round(x * 65535), 0, 65535).astype(np.uint16))


@pytest.mark.slow
def test_each_time_point_is_denoised_as_a_volume_bit_for_bit(written):
    got = zarr.open_array(str(written["0.5"][1] / "0"), mode="r")[...]
    for t in range(2):
        assert np.array_equal(got[t], gdfast.denoise(VOLUMES[t], lam=0.1, eps=0.02,
                                                     max_iter=4, tol=0).x)


@pytest.mark.slow
def test_each_level_is_the_rounded_2x2_block_mean_of_the_level_above(written):
    out = written["0.4"][1]
    levels = [zarr.open_array(str(out / str(k)), mode="r")[...] for k in range(3)]
    for above, level in zip(levels, levels[1:]):
        c, h, w = level.shape
        mean = above.astype(np.float64).reshape(c, h, 2, w, 2).mean(axis=(2, 4))
        assert level.dtype == np.uint16
        assert np.array_equal(level, np.round(mean).astype(np.uint16))
    attrs = zarr.open_group(str(out), mode="r").attrs["multiscales"][0]
    assert attrs["type"] == "mean"


@pytest.mark.slow
def test_ngff_05_arrays_name_their_dimensions_after_the_axes(written):
    level = zarr.open_array(str(written["0.5"][1] / "0"), mode="r")
    assert level.metadata.dimension_names == ("t", "z", "y", "x")


def test_a_partial_block_at_the_edge_is_the_mean_of_the_voxels_it_has():
    import dask.array as da
    x = da.from_array(np.arange(5.0), chunks=2)
    assert ome_zarr.block_mean(x, (2,), (3,)).compute().tolist() == [0.5, 2.5, 4.0]
    assert ome_zarr.block_mean(x, (2,), (2,)).compute().tolist() == [0.5, 2.5]


def test_a_level_that_is_no_integer_reduction_is_refused_naming_input(tmp_path):
    path = make_image(tmp_path / "odd.ome.zarr", "0.4", COUNTS, PYRAMID[:2], CYX)
    meta = zarr.open_group(str(path), mode="r+")
    meta.create_array("1", shape=(2, 15, 24), dtype="u2", overwrite=True)
    with pytest.raises(ValueError, match=r"INPUT .*odd.ome.zarr: level 1's shape \(2, 15, 24\)"):
        zarr_denoise.open_input(str(path))


def test_a_version_gdfast_cannot_read_is_refused_naming_input(tmp_path):
    group = zarr.open_group(str(tmp_path / "old.ome.zarr"), mode="w", zarr_format=2)
    group.attrs.update({"multiscales": [{"version": "0.3", "axes": ["y", "x"],
                                         "datasets": [{"path": "0"}]}]})
    with pytest.raises(ValueError, match="INPUT .*: OME-Zarr version 0.3; gdfast reads "
                                         "versions 0.4 and 0.5"):
        zarr_denoise.open_input(str(tmp_path / "old.ome.zarr"))


def test_one_space_axis_is_refused_naming_input(tmp_path):
    axes = [{"name": "c", "type": "channel"}, {"name": "x", "type": "space"}]
    path = tmp_path / "line.ome.zarr"
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.create_array("0", data=COUNTS[:, 0])
    group.attrs.update({"ome": {"version": "0.5", "multiscales": [
        {"axes": axes, "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": [1.0, 1.0]}]}]}]}})
    with pytest.raises(ValueError, match=r"INPUT .*: expected 2 or 3 space axes, last"):
        zarr_denoise.open_input(str(path))


def test_an_error_while_writing_the_pyramid_leaves_no_output(tmp_path, monkeypatch):
    import dask.array as da
    path = make_image(tmp_path / "in.ome.zarr", "0.4", COUNTS, PYRAMID, CYX)
    image = zarr_denoise.open_input(str(path))

    def fails(*args):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ome_zarr, "block_mean", fails)
    with pytest.raises(OSError, match="No space left"):
        zarr_denoise.write_output(da.from_array(COUNTS), str(tmp_path / "out.ome.zarr"),
                                  False, image)
    assert os.listdir(tmp_path) == ["in.ome.zarr"]


@pytest.mark.slow
def test_a_store_holding_other_files_is_refused_and_kept(tmp_path):
    inp = make_image(tmp_path / "in.ome.zarr", "0.4", COUNTS, PYRAMID[:1], CYX)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("mine")
    done = subprocess.run([sys.executable, "-m", "gdfast", "denoise", str(inp), "-o",
                           str(tmp_path / "out.ome.zarr"), "--store", str(tmp_path / "work"),
                           *RUN], capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    assert "--store" in done.stderr and "'notes.txt'" in done.stderr
    assert os.listdir(tmp_path / "work") == ["notes.txt"]
    assert not (tmp_path / "out.ome.zarr").exists()


@pytest.mark.slow
def test_ctrl_c_writes_no_output_and_resume_finishes_every_channel(tmp_path):
    import json
    import signal
    import time
    inp = make_image(tmp_path / "in.ome.zarr", "0.4", COUNTS, PYRAMID[:2], CYX)
    out = tmp_path / "out.ome.zarr"
    args = [sys.executable, "-m", "gdfast", "denoise", str(inp), "-o", str(out), "--lam", "0.1",
            "--eps", "0.02", "--tol", "0", "--max-iter", "60", "--workers", "1",
            "--sweep", "1"]
    run = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    record = str(out) + ".gdfast-work/c0/gdfast.json"
    deadline = time.monotonic() + 300
    while True:
        assert time.monotonic() < deadline and run.poll() is None, run.communicate()
        try:
            with open(record) as fh:
                if json.load(fh)["nit"] >= 2:
                    break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 130, stderr
    assert "--resume" in stderr
    assert sorted(os.listdir(tmp_path)) == ["in.ome.zarr", "out.ome.zarr.gdfast-work"]
    done = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    got = zarr.open_array(str(out / "0"), mode="r")[...]
    for c in range(2):
        x = gdfast.denoise(COUNTS[c] / 65535.0, lam=0.1, eps=0.02, max_iter=60, tol=0).x
        assert np.array_equal(got[c], np.clip(np.round(x * 65535), 0, 65535).astype(np.uint16))
