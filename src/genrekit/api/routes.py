"""The endpoints: ``/v1/predict``, ``/v1/tag``, ``/v1/similar``, ``/v1/models``, ``/health``;
each maps library results onto the response schemas."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from genrekit import __version__
from genrekit.api.schemas import (
    UPLOAD_ERRORS,
    ErrorBody,
    FileError,
    FileResult,
    ModelInfo,
    PredictResponse,
    SimilarResponse,
    SimilarTrack,
    TagFileResult,
    TagResponse,
    TagSegment,
    batch_responses,
)
from genrekit.api.uploads import (
    ERROR_STATUS,
    NUL_IN_NAME,
    TooManyFiles,
    analyse_uploads,
    error_response,
    error_type,
    logger,
    saved_upload,
    service_of,
    shown_name,
)
from genrekit.autotags import TagResult, tag_or_error
from genrekit.errors import AudioError
from genrekit.models.bundle import bundled_models, read_manifest
from genrekit.predict import Prediction, predict_or_error
from genrekit.pretrained.musicnn import ModelName
from genrekit.records import record

router = APIRouter()


async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in error.errors()
    )
    return error_response(422, "invalid_request", problems)


async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    """Framework errors (e.g. a broken multipart body: 400) in the API's own error shape."""
    kind = "invalid_request" if error.status_code < 500 else "server_error"
    response = error_response(error.status_code, kind, str(error.detail))
    response.headers.update(error.headers or {})  # e.g. Allow on 405
    return response


async def too_many_files(request: Request, error: TooManyFiles) -> JSONResponse:
    at_most = service_of(request).max_files
    return error_response(
        413, "too_many_files", f"{error.count} files in one request; at most {at_most}"
    )


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/docs")


@router.get("/health", tags=["service"])
async def health(request: Request) -> dict[str, str]:
    model = service_of(request).classifier.bundle.model_id
    return {"status": "ok", "model": model, "version": __version__}


@router.get("/v1/models", tags=["models"])
async def models(request: Request) -> list[ModelInfo]:
    """Shipped models and the one this server loaded, with measured metrics and protocol."""
    infos = []
    loaded = service_of(request).classifier.bundle.path
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


@router.post("/v1/predict", tags=["classify"], responses=batch_responses(PredictResponse))
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
    classifier = service_of(request).classifier
    outcomes = await analyse_uploads(
        files,
        lambda path, seconds, gone: predict_or_error(
            classifier, path, timeline, seconds, should_stop=gone
        ),
        request,
    )
    results = [
        _result(name, classifier.judge(outcome, reject, threshold), top_k)
        if isinstance(outcome, Prediction)
        else _result(name, outcome, top_k)
        for name, outcome in outcomes
    ]
    return _answer(PredictResponse(model=classifier.bundle.model_id, results=results))


@router.post("/v1/tag", tags=["classify"], responses=batch_responses(TagResponse))
async def tag(
    request: Request,
    files: Uploads,
    model: ModelName = "MSD_musicnn",
    top_k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> TagResponse:
    """Tag each uploaded file with a pretrained musicnn model."""
    outcomes = await analyse_uploads(
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
        **UPLOAD_ERRORS,
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
    from genrekit.library.similarity import similar_to_file

    service = service_of(request)
    if service.catalog is None:
        return error_response(404, "no_library", "this server was started without --db")
    name = file.filename or "upload"
    if "\x00" in name:
        return error_response(422, "invalid_name", f"{shown_name(name)}: {NUL_IN_NAME}")
    try:
        async with saved_upload(file, name) as path:
            neighbours = await anyio.to_thread.run_sync(
                lambda: similar_to_file(
                    service.catalog, service.classifier, path, k=k, genre=genre
                ),
                limiter=service.limiter,
            )
    except AudioError as error:
        kind = error_type(error)
        return error_response(ERROR_STATUS[kind], kind, error.reason)
    return SimilarResponse(query=name, neighbours=[SimilarTrack(**vars(n)) for n in neighbours])


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
        status = ERROR_STATUS[response.results[0].error.type]
        return JSONResponse(status_code=status, content=response.model_dump())
    return response


def _file_error(error: AudioError) -> FileError:
    # The reason names our temporary file; the client knows its file by its own name.
    return FileError(type=error_type(error), reason=error.reason)


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


def _result(name: str, prediction: Prediction | AudioError, top_k: int) -> FileResult:
    if isinstance(prediction, AudioError):
        return FileResult(filename=name, error=_file_error(prediction))
    return FileResult.model_validate(
        {**record(prediction), "filename": name, "top_k": prediction.top(top_k)}
    )
