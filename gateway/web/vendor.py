"""Browser libraries from the npm registry (echarts, Swagger UI), served by the gateway itself.

They are pinned in ui/package-lock.json and installed into ui/node_modules by `make install`
(`npm ci --prefix ui`); never bundled into the repository, never loaded from a CDN.
"""

from pathlib import Path

from fastapi.responses import FileResponse

import gateway
from shared.problems import ServiceUnavailable

# Beside the gateway package (found from the package, not this module): the repository checkout,
# or site-packages in the image (Dockerfile).
UI_MODULES = Path(gateway.__file__).resolve().parent.parent / "ui" / "node_modules"


def vendor_file(relative: str, media_type: str) -> FileResponse:
    """A file of an installed package, cached a day (the lock file pins what it is)."""
    path = UI_MODULES / relative
    if not path.is_file():
        raise ServiceUnavailable(f"{relative.split('/')[0]} is not installed; run `make install` (npm ci --prefix ui)")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
