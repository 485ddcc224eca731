"""Uploads and what one request may cost: the body guard (413, 408), the per-file analysis in
worker threads that stops when the client leaves, and temporary files that are always removed."""

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
from typing import Any

import anyio
from fastapi import Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from genrekit.audio import MIN_DURATION
from genrekit.errors import AudioDecodeError, AudioError, AudioTooShortError, SilentAudioError
from genrekit.predict import AnalysisCancelled, Classifier

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


ERROR_STATUS = {"not_audio": 415, "too_short": 422, "silent": 422}


def error_type(error: AudioError) -> str:
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


class TooManyFiles(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


@dataclass
class Service:
    """What every request works with, loaded once per process: the model, the library, and the
    limits on what one request may cost."""

    classifier: Classifier
    catalog: Any
    """The library catalog for ``/v1/similar`` (a ``genrekit.library.similarity.Catalog``), or
    None."""
    limiter: anyio.CapacityLimiter
    """At most this many analyses at once (worker threads)."""
    max_duration: float
    max_files: int
    max_request_seconds: float


def service_of(request: Request) -> Service:
    return request.app.state.service


async def analyse_uploads(
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
    service = service_of(request)
    if len(files) > service.max_files:
        raise TooManyFiles(len(files))
    outcomes: list[tuple[str, Any]] = []
    left = service.max_request_seconds
    for upload in files:
        if await request.is_disconnected():
            break
        name = upload.filename or "upload"
        try:
            if "\x00" in name:
                outcome: Any = AudioDecodeError(shown_name(name), NUL_IN_NAME)
            elif left < MIN_DURATION:
                outcome = AudioError(
                    name, f"not analysed: this request's {service.max_request_seconds:g} s of "
                    "audio were used by the files before it; send it in another request",
                )  # fmt: skip
            else:
                async with saved_upload(upload, name) as path:
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
async def saved_upload(upload: UploadFile, name: str) -> AsyncIterator[Path]:
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


def error_response(status: int, kind: str, reason: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"type": kind, "reason": reason}})


NUL_IN_NAME = "the file name holds a NUL byte, which no file name may; rename it and send again"


def shown_name(name: str) -> str:
    """A client's file name with its NUL bytes shown as ``\\0``."""
    return name.replace("\x00", "\\0")
