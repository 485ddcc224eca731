"""The API's request and response shapes (pydantic), with the examples ``/docs`` shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

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
    narrow_band: bool | None = Field(
        None,
        description="true when the audio kept nothing above about 4 kHz (a phone line, a file "
        "through 8 kHz) and the model's narrow-band head judged it",
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


UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
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


def batch_responses(body: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The documented refusals of an endpoint that answers per file with ``body``."""
    return {
        **UPLOAD_ERRORS,
        415: {
            "model": body,
            "description": "no file is decodable audio",
            "content": {"application/json": {"example": _failed_example(
                "notes.txt", "not_audio", "not a recognised audio file (Invalid data found "
                "when processing input)")}},
        },
        422: {
            "model": body | ErrorBody,
            "description": "every file too short or silent (per-file results), or an "
            "invalid request (error)",
            "content": {"application/json": {"example": _failed_example(
                "blip.wav", "too_short", "too short: 0.20 s of audio, at least 1 s needed")}},
        },
    }  # fmt: skip


def _failed_example(name: str, kind: str, reason: str) -> dict[str, Any]:
    """An answer in which every file failed: what a 415 or 422 body looks like."""
    return {"model": "musicnn-lda",
            "results": [{"filename": name, "error": {"type": kind, "reason": reason}}]}  # fmt: skip


def with_file_pickers(schema: dict[str, Any]) -> dict[str, Any]:
    """Upload fields marked ``format: binary`` beside OpenAPI 3.1's ``contentMediaType``:
    Swagger UI draws a file picker only for that (otherwise a text box whose Execute answers
    422)."""
    found = schema.get("components", {}).get("schemas", {})
    stack: list[Any] = list(found.values())
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "string" and "contentMediaType" in node:
                node["format"] = "binary"
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema
