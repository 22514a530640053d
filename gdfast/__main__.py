import sys

from .cli import main

if __name__ == "__main__":      # not when a Dask worker process re-imports it (spawn)
    sys.exit(main())
