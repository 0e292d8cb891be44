"""Our own page assets (gateway/web/static): each page serves the files of its own name pattern."""

import re
from pathlib import Path

from fastapi.responses import FileResponse

from shared.problems import NotFound

STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {"css": "text/css", "js": "text/javascript"}


def static_asset(name: str, allowed: re.Pattern[str]) -> FileResponse:
    """The file `name` if it matches `allowed` (a pattern whose last group is the extension), else a 404."""
    match = allowed.match(name)
    path = STATIC / name
    if match is None or not path.is_file():
        raise NotFound(f"No asset {name}")
    # Revalidated on every load (ETag): the module imports carry no version in their URLs.
    return FileResponse(path, media_type=MEDIA_TYPES[match.group(match.lastindex or 0)],
                        headers={"Cache-Control": "no-cache"})
