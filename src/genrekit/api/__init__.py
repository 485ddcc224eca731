"""REST API (FastAPI): a thin HTTP layer over ``genrekit.predict``, started by ``genrekit serve``.

- ``POST /v1/predict``: multipart upload of one or more ``files`` → per file genre
  probabilities, top-k, per-segment timeline, duration and model id. When every file fails the
  status is 4xx (413 too large, 415 not decodable audio, 422 too short/silent); otherwise 200 with
  failed files reported inline.
- ``POST /v1/similar``: one uploaded ``file`` → the most similar tracks of the library catalog the
  server was started with (``genrekit serve --db library.sqlite``).
- ``POST /v1/tag``: uploaded ``files`` → per file the 50 tags of a pretrained musicnn model
  (genres, moods, instruments, eras) with scores, per track and per 3 s segment.
- ``GET /v1/models``, ``GET /health``; the OpenAPI schema is at ``/docs`` and ``/openapi.json``.

Modules: ``schemas`` (request and response shapes), ``uploads`` (body limits, per-file analysis
that stops when the client leaves), ``routes`` (the endpoints). The model is loaded once per
process; predictions run in worker threads (at most
``max_concurrent`` at a time) so the event loop never blocks; a request's body is capped at
``max_upload_bytes`` (all files together) before it is parsed, and every temporary file is removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from genrekit import __version__
from genrekit.api.routes import http_error, invalid_request, router, too_many_files
from genrekit.api.schemas import TAGS, with_file_pickers
from genrekit.api.uploads import (
    DEFAULT_BODY_IDLE_SECONDS,
    DEFAULT_MAX_FILES,
    DEFAULT_MAX_REQUEST_SECONDS,
    DEFAULT_MAX_UPLOAD_BYTES,
    Service,
    TooManyFiles,
    UploadGuard,
)
from genrekit.audio import DEFAULT_MAX_DURATION
from genrekit.predict import Classifier


def create_app(
    model: str | Path | None = None,
    *,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    max_duration: float = DEFAULT_MAX_DURATION,
    max_concurrent: int = 2,
    library: str | Path | None = None,
    max_files: int = DEFAULT_MAX_FILES,
    max_request_seconds: float = DEFAULT_MAX_REQUEST_SECONDS,
    body_idle_seconds: float = DEFAULT_BODY_IDLE_SECONDS,
) -> FastAPI:
    """The API over one model bundle (None: the shipped default), loaded now, once, and
    optionally a library catalog for ``/v1/similar`` (also loaded once)."""
    from fastapi_offline import FastAPIOffline

    from genrekit.library.similarity import Catalog

    classifier = Classifier.load(model)
    catalog = Catalog.load(library) if library is not None else None
    if catalog is not None:
        catalog.require_model(classifier)
    app = FastAPIOffline(  # /docs and /redoc work without internet: their assets are local
        title="genrekit",
        version=__version__,
        description="Music genre classification: upload audio, get genre probabilities, "
        "styles, a timeline and songs like it from your library.",
        openapi_tags=TAGS,
    )
    app.state.service = Service(
        classifier, catalog, anyio.CapacityLimiter(max_concurrent), max_duration, max_files,
        max_request_seconds,
    )  # fmt: skip
    # Starlette types a handler as taking any Exception; each of these takes the one it handles.
    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(TooManyFiles, too_many_files)  # type: ignore[arg-type]
    app.include_router(router)
    describe = app.openapi

    def openapi() -> dict[str, Any]:
        return with_file_pickers(describe()) if app.openapi_schema is None else app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(UploadGuard, max_bytes=max_upload_bytes, idle_seconds=body_idle_seconds)
    return app


__all__ = ["create_app"]
