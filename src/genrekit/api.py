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

The model is loaded once per process; predictions run in worker threads (at most
``max_concurrent`` at a time) so the event loop never blocks; a request's body is capped at
``max_upload_bytes`` (all files together) before it is parsed, and every temporary file is removed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from genrekit import __version__
from genrekit.audio import DEFAULT_MAX_DURATION, MIN_DURATION
from genrekit.errors import AudioDecodeError, AudioError, AudioTooShortError, SilentAudioError
from genrekit.models.bundle import bundled_models, read_manifest
from genrekit.predict import AnalysisCancelled, Classifier, Prediction, predict_or_error
from genrekit.pretrained.musicnn import ModelName
from genrekit.tagging import TagResult, tag_or_error

logger = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_FILES = 16
"""Files one request may carry: bounds the work a single small request can buy."""
DEFAULT_MAX_REQUEST_SECONDS = 1200.0
"""Seconds of audio one request may have analysed in all (a small, highly compressed upload can
hold hours of audio)."""
DEFAULT_BODY_IDLE_SECONDS = 30.0
"""An upload from which nothing arrives for this long (s) is answered 408 and dropped."""
DISCONNECT_POLL_SECONDS = 0.25
"""How often a request being analysed checks whether its client is still there."""
_COPY_CHUNK = 1024 * 1024


TAGS = [
    {"name": "classify", "description": "Genre, styles and timeline of uploaded songs; "
     "the pretrained musicnn tags"},
    {"name": "library", "description": "Songs like an uploaded one, from the indexed library "
     "(serve with --db)"},
    {"name": "models", "description": "The models, with their measured accuracy and protocol"},
    {"name": "service", "description": "Liveness"},
]  # fmt: skip
"""Groups of the API docs page, in the order shown."""

GENRE_EXAMPLE = {"jazz": 0.72, "blues": 0.14, "rock": 0.05, "country": 0.03}


class Segment(BaseModel):
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    label: str = Field(examples=["jazz"])
    probabilities: dict[str, float] = Field(examples=[GENRE_EXAMPLE])


class FileError(BaseModel):
    type: str = Field(
        description="not_audio, too_short, silent, too_large, timeout or invalid_request"
    )
    reason: str


class StyleScore(BaseModel):
    tag: str
    parent: str
    score: float = Field(description="independent 0-1 score of the tag")


class FileResult(BaseModel):
    filename: str
    label: str | None = Field(
        None, description="the most probable genre, or 'unknown' when the model is not confident"
    )
    confidence: float | None = Field(
        None, description="calibrated probability of the most probable genre"
    )
    typicality: float | None = Field(
        None,
        description="0-1: how much the track sounds like the model's training music (share of "
        "training tracks that look at least as unusual)",
    )
    known: bool | None = Field(
        None, description="false when the typicality is under the threshold: label is 'unknown'"
    )
    probabilities: dict[str, float] | None = Field(
        None, description="every genre, highest first", examples=[GENRE_EXAMPLE]
    )
    styles: dict[str, list[StyleScore]] | None = Field(
        None,
        description="styles beyond the genres, per parent genre or group (moods, instruments, "
        "eras): independent 0-1 tag scores at or above their thresholds",
        examples=[
            {
                "jazz": [{"tag": "jazz", "parent": "jazz", "score": 0.61}],
                "moods": [{"tag": "Mellow", "parent": "moods", "score": 0.33}],
            }
        ],
    )
    top_k: list[tuple[str, float]] | None = Field(
        None, examples=[[["jazz", 0.72], ["blues", 0.14], ["rock", 0.05]]]
    )
    duration: float | None = Field(None, description="seconds analysed")
    truncated: bool | None = None
    segments: list[Segment] | None = None
    error: FileError | None = None


class PredictResponse(BaseModel):
    model: str
    results: list[FileResult]


class ModelInfo(BaseModel):
    name: str
    loaded: bool
    labels: list[str]
    representation: dict[str, Any] = Field(
        examples=[{"name": "musicnn", "sample_rate": 22050, "normalize": "loudness"}]
    )
    metrics: dict[str, Any] = Field(
        examples=[{"accuracy_mean": 0.77, "accuracy_std": 0.082, "macro_f1_mean": 0.683}]
    )
    protocol: str = Field(examples=["5-fold stratified group k-fold by artist"])


class TagSegment(BaseModel):
    start: float = Field(description="seconds")
    end: float = Field(description="seconds")
    tags: dict[str, float] = Field(
        description="every tag's score, highest first",
        examples=[{"jazz": 0.52, "instrumental": 0.41, "Mellow": 0.22}],
    )


class TagFileResult(BaseModel):
    filename: str
    tags: dict[str, float] | None = Field(
        None,
        description="every tag's score, highest first",
        examples=[{"jazz": 0.52, "instrumental": 0.41, "Mellow": 0.22}],
    )
    top_k: list[tuple[str, float]] | None = Field(
        None, examples=[[["jazz", 0.52], ["instrumental", 0.41]]]
    )
    duration: float | None = Field(None, description="seconds analysed")
    truncated: bool | None = None
    segments: list[TagSegment] | None = None
    error: FileError | None = None


class TagResponse(BaseModel):
    model: str
    results: list[TagFileResult]


class ErrorBody(BaseModel):
    error: FileError


_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed multipart body"},
    408: {"model": ErrorBody, "description": "the upload stalled (nothing arrived for a while)"},
    413: {"model": ErrorBody, "description": "upload too large or too many files"},
}
"""Errors every upload endpoint may answer before looking at a file."""


class SimilarTrack(BaseModel):
    id: int
    path: str
    genre: str | None
    score: float = Field(description="cosine similarity of embeddings")


class SimilarResponse(BaseModel):
    query: str
    neighbours: list[SimilarTrack]


_STATUS = {"not_audio": 415, "too_short": 422, "silent": 422}


def _error_type(error: AudioError) -> str:
    if isinstance(error, SilentAudioError):
        return "silent"
    if isinstance(error, AudioTooShortError):
        return "too_short"
    return "not_audio"  # AudioDecodeError, or anything else that made the file unusable


class UploadGuard:
    """Answer 413 to request bodies over ``max_bytes``: at once when Content-Length says so, or as
    soon as a streamed body passes the limit; and 408 when a body stalls, no part of it arriving
    for ``idle_seconds`` (a half-sent upload must not hold a connection and its memory forever).
    The app's own response is then replaced."""

    def __init__(self, app: ASGIApp, max_bytes: int, idle_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"").decode()
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _send_error(send, 413, "too_large", str(_BodyTooLarge(self.max_bytes)))
            return
        received, complete = 0, False
        failure: _UploadFailure | None = None

        async def limited_receive() -> Message:
            nonlocal received, failure, complete
            if complete:
                return await receive()  # after the body: only a disconnect can come
            try:
                with anyio.fail_after(self.idle_seconds):
                    message = await receive()
            except TimeoutError:
                failure = _BodyStalled(self.idle_seconds)
                raise failure from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    failure = _BodyTooLarge(self.max_bytes)
                    raise failure
            return message

        async def guarded_send(message: Message) -> None:
            if failure is None:
                await send(message)

        with contextlib.suppress(_UploadFailure):
            await self.app(scope, limited_receive, guarded_send)
        if failure is not None:
            await _send_error(send, failure.status, failure.kind, str(failure))


async def _send_error(send: Send, status: int, kind: str, reason: str) -> None:
    """An error response in the API's shape, written straight to the ASGI channel."""
    body = json.dumps({"error": {"type": kind, "reason": reason}}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _UploadFailure(Exception):
    """Why an upload was cut off: its HTTP status and error type."""

    status: int
    kind: str


class _BodyTooLarge(_UploadFailure):
    status, kind = 413, "too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"upload exceeds {max_bytes} bytes")


class _BodyStalled(_UploadFailure):
    status, kind = 408, "timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the upload stalled: nothing arrived for {seconds:g} s")


class _TooManyFiles(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass
class Service:
    """What every request works with, loaded once per process: the model, the library, and the
    limits on what one request may cost."""

    classifier: Classifier
    catalog: Any
    """The library catalog for ``/v1/similar`` (a ``genrekit.similarity.Catalog``), or None."""
    limiter: anyio.CapacityLimiter
    """At most this many analyses at once (worker threads)."""
    max_duration: float
    max_files: int
    max_request_seconds: float


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

    from genrekit.similarity import Catalog

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
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(_TooManyFiles, _too_many_files)  # type: ignore[arg-type]
    app.include_router(router)
    app.add_middleware(UploadGuard, max_bytes=max_upload_bytes, idle_seconds=body_idle_seconds)
    return app


router = APIRouter()


def _service(request: Request) -> Service:
    return request.app.state.service


async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in error.errors()
    )
    return _error_response(422, "invalid_request", problems)


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    """Framework errors (e.g. a broken multipart body: 400) in the API's own error shape."""
    kind = "invalid_request" if error.status_code < 500 else "server_error"
    response = _error_response(error.status_code, kind, str(error.detail))
    response.headers.update(error.headers or {})  # e.g. Allow on 405
    return response


async def _too_many_files(request: Request, error: _TooManyFiles) -> JSONResponse:
    at_most = _service(request).max_files
    return _error_response(
        413, "too_many_files", f"{error.count} files in one request; at most {at_most}"
    )


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/docs")


@router.get("/health", tags=["service"])
async def health(request: Request) -> dict[str, str]:
    model = _service(request).classifier.bundle.model_id
    return {"status": "ok", "model": model, "version": __version__}


@router.get("/v1/models", tags=["models"])
async def models(request: Request) -> list[ModelInfo]:
    """Shipped models and the one this server loaded, with measured metrics and protocol."""
    infos = []
    loaded = _service(request).classifier.bundle.path
    paths = list(bundled_models().values())
    if loaded is not None and loaded not in paths:
        paths.insert(0, loaded)
    for path in paths:
        manifest = read_manifest(path)
        metrics = {k: v for k, v in manifest.get("metrics", {}).items() if k != "per_class"}
        protocol = manifest.get("training", {}).get("protocol", {}).get("description", "")
        infos.append(
            ModelInfo(
                name=manifest["name"], loaded=path == loaded, labels=manifest["labels"],
                representation=manifest["representation"], metrics=metrics, protocol=protocol,
            )
        )  # fmt: skip
    return infos


Uploads = Annotated[list[UploadFile], File(description="audio files", min_length=1)]
"""The ``files`` form field of the per-file endpoints (at least one)."""


def _batch_responses(body: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The documented refusals of an endpoint that answers per file with ``body``."""
    return {
        **_UPLOAD_ERRORS,
        415: {"model": body, "description": "no file is decodable audio"},
        422: {
            "model": body | ErrorBody,
            "description": "every file too short or silent (per-file results), or an "
            "invalid request (error)",
        },
    }


@router.post("/v1/predict", tags=["classify"], responses=_batch_responses(PredictResponse))
async def predict(
    request: Request,
    files: Uploads,
    top_k: Annotated[int, Query(ge=1, le=50)] = 3,
    timeline: bool = True,
    reject: Annotated[
        bool, Query(description="say 'unknown' for music unlike the model's training music")
    ] = True,
    threshold: Annotated[
        float | None,
        Query(ge=0.0, le=1.0, description="typicality threshold; default: the model's own"),
    ] = None,
) -> PredictResponse:
    """Classify each uploaded file."""
    classifier = _service(request).classifier
    outcomes = await _analyse_uploads(
        files,
        lambda path, seconds, gone: predict_or_error(
            classifier, path, timeline, seconds, should_stop=gone
        ),
        request,
    )
    chosen = classifier.threshold_for(reject, threshold)
    results = [_result(name, outcome, top_k, chosen) for name, outcome in outcomes]
    return _answer(PredictResponse(model=classifier.bundle.model_id, results=results))


@router.post("/v1/tag", tags=["classify"], responses=_batch_responses(TagResponse))
async def tag(
    request: Request,
    files: Uploads,
    model: ModelName = "MSD_musicnn",
    top_k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> TagResponse:
    """Tag each uploaded file with a pretrained musicnn model."""
    outcomes = await _analyse_uploads(
        files,
        lambda path, seconds, gone: tag_or_error(path, model, seconds, should_stop=gone),
        request,
    )
    results = [_tag_result(name, outcome, top_k) for name, outcome in outcomes]
    return _answer(TagResponse(model=model, results=results))


@router.post(
    "/v1/similar",
    tags=["library"],
    response_model=SimilarResponse,
    responses={
        **_UPLOAD_ERRORS,
        404: {"model": ErrorBody, "description": "no library on this server"},
        415: {"model": ErrorBody, "description": "not decodable audio"},
        422: {"model": ErrorBody, "description": "audio too short or silent, or invalid"},
    },
)
async def similar(
    request: Request,
    file: Annotated[UploadFile, File(description="audio file")],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    genre: str | None = None,
) -> Any:
    """Library tracks most like the uploaded song."""
    from genrekit.similarity import similar_to_file

    service = _service(request)
    if service.catalog is None:
        return _error_response(404, "no_library", "this server was started without --db")
    name = file.filename or "upload"
    if "\x00" in name:
        return _error_response(422, "invalid_name", f"{_shown(name)}: {NUL_IN_NAME}")
    try:
        async with _saved(file, name) as path:
            neighbours = await anyio.to_thread.run_sync(
                lambda: similar_to_file(
                    service.catalog, service.classifier, path, k=k, genre=genre
                ),
                limiter=service.limiter,
            )
    except AudioError as error:
        kind = _error_type(error)
        return _error_response(_STATUS[kind], kind, error.reason)
    return SimilarResponse(query=name, neighbours=[SimilarTrack(**vars(n)) for n in neighbours])


async def _analyse_uploads(
    files: list[UploadFile],
    analyse: Callable[[Path, float, Callable[[], bool]], Any],
    request: Request,
) -> list[tuple[str, Any]]:
    """(client's file name, ``analyse(saved upload, seconds, gone)``) per file, in worker
    threads; ``gone()`` turns True once the client has disconnected.

    Bounds what one request can cost (``Service``): at most ``max_files`` files, at most
    ``max_request_seconds`` of audio analysed in all (each file gets what is left, up to
    ``max_duration``; files past the budget get an error), and once the client has gone, no
    further file and (for predictions) no further clip of the file in hand."""
    service = _service(request)
    if len(files) > service.max_files:
        raise _TooManyFiles(len(files))
    outcomes: list[tuple[str, Any]] = []
    left = service.max_request_seconds
    for upload in files:
        if await request.is_disconnected():
            break
        name = upload.filename or "upload"
        try:
            if "\x00" in name:
                outcome: Any = AudioDecodeError(_shown(name), NUL_IN_NAME)
            elif left < MIN_DURATION:
                outcome = AudioError(
                    name, f"not analysed: this request's {service.max_request_seconds:g} s of "
                    "audio were used by the files before it; send it in another request",
                )  # fmt: skip
            else:
                async with _saved(upload, name) as path:
                    seconds = min(service.max_duration, left)
                    work = functools.partial(analyse, path, seconds)
                    outcome = await _while_connected(request, work, service.limiter)
        except AnalysisCancelled:
            break  # the client left mid-file: nobody reads an answer
        finally:
            await upload.close()
        left -= 0.0 if isinstance(outcome, AudioError) else float(outcome.duration)
        outcomes.append((name, outcome))
    return outcomes


async def _while_connected(
    request: Request, work: Callable[[Callable[[], bool]], Any], limiter: anyio.CapacityLimiter
) -> Any:
    """``work(gone)`` in a worker thread while a watcher sets ``gone`` if the client leaves."""
    left = threading.Event()

    async def watch() -> None:
        while not await request.is_disconnected():
            await anyio.sleep(DISCONNECT_POLL_SECONDS)
        left.set()

    cancelled = False
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            outcome = await anyio.to_thread.run_sync(work, left.is_set, limiter=limiter)
        except AnalysisCancelled:
            cancelled = True  # raised here, not inside the group (which would wrap it)
        finally:
            group.cancel_scope.cancel()
    if cancelled:
        raise AnalysisCancelled
    return outcome


@contextlib.asynccontextmanager
async def _saved(upload: UploadFile, name: str) -> AsyncIterator[Path]:
    """The upload written to a temporary file (keeping its extension), removed afterwards."""
    suffix = Path(name).suffix[:10] if Path(name).suffix.isascii() else ""
    handle, temporary = tempfile.mkstemp(prefix="genrekit-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := await upload.read(_COPY_CHUNK):
                out.write(chunk)
        yield Path(temporary)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _error_response(status: int, kind: str, reason: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"type": kind, "reason": reason}})


NUL_IN_NAME = "the file name holds a NUL byte, which no file name may; rename it and send again"


def _shown(name: str) -> str:
    """A client's file name with its NUL bytes shown as ``\\0``."""
    return name.replace("\x00", "\\0")


CLIENT_CLOSED_REQUEST = 499
"""The status of an answer nobody receives: the client left before it was ready."""


def _answer(response: Any) -> Any:
    """A per-file response (predict, tag) as is, or with the error's 4xx status when every file
    failed; when the client left before any file was done, one log line and an empty answer
    (nobody reads it)."""
    if not response.results:
        logger.info("a client left before its answer was ready; its analysis was stopped")
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    if all(r.error is not None for r in response.results):
        status = _STATUS[response.results[0].error.type]
        return JSONResponse(status_code=status, content=response.model_dump())
    return response


def _file_error(error: AudioError) -> FileError:
    # The reason names our temporary file; the client knows its file by its own name.
    return FileError(type=_error_type(error), reason=error.reason)


def _tag_result(name: str, outcome: TagResult | AudioError, top_k: int) -> TagFileResult:
    if isinstance(outcome, AudioError):
        return TagFileResult(filename=name, error=_file_error(outcome))
    return TagFileResult(
        filename=name,
        tags=outcome.tags,
        top_k=outcome.top(top_k),
        duration=outcome.duration,
        truncated=outcome.truncated,
        segments=[TagSegment(**vars(s)) for s in outcome.segments],
    )


def _result(
    name: str, prediction: Prediction | AudioError, top_k: int, threshold: float | None
) -> FileResult:
    if isinstance(prediction, AudioError):
        return FileResult(filename=name, error=_file_error(prediction))
    prediction = prediction.judged(threshold)
    return FileResult(
        filename=name,
        label=prediction.label,
        confidence=prediction.confidence,
        typicality=prediction.typicality,
        known=prediction.known,
        styles={
            p: [StyleScore(**vars(s)) for s in found] for p, found in prediction.styles.items()
        },
        probabilities=prediction.probabilities,
        top_k=prediction.top(top_k),
        duration=prediction.duration,
        truncated=prediction.truncated,
        segments=[Segment(**vars(s)) for s in prediction.segments],
    )
