"""gdfast on Dask: denoising arrays larger than one machine's memory, bit for bit.

``gdfast.dask.denoise`` runs gdfast.denoise's iterations over a chunked
array (dask, zarr) in sweeps of K iterations, each sweep one task per chunk
on the current Dask scheduler, the iterate kept in the workers' memory when
they hold it (gdfast.dask.resident; the zarr group on disk the checkpoint),
else in a zarr group on disk: the result equals the in-memory run's to the
bit. ``gdfast.dask.minimize_batch`` fits a dask array of problems chunk by
chunk of rows (docs/distributed.md).

Needs the optional extra: pip install 'gdfast[dask]' (dask, distributed, zarr).
"""
try:
    import dask.array  # noqa: F401
    import zarr  # noqa: F401
except ImportError as err:                      # pragma: no cover - the extra is missing
    raise ImportError("gdfast.dask needs dask and zarr, an optional extra: "
                      "pip install 'gdfast[dask]'") from err

from .batches import least_squares_batch, minimize_batch
from .denoising import denoise

__all__ = ["denoise", "least_squares_batch", "minimize_batch"]
