"""The REST API: success, every kind of bad request, a schema-driven fuzz run, concurrency."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import schemathesis
import soundfile
from conftest import music_like
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from genrekit.api import create_app
from genrekit.models.bundle import DEFAULT_MODEL

APP = create_app(max_upload_bytes=2_000_000)
client = TestClient(APP)


@pytest.fixture(scope="module")
def song_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("api") / "song.ogg"
    soundfile.write(path, music_like(8.0, rate=44100), 44100)
    return path.read_bytes()


def upload(*files: tuple[str, bytes], **params):
    return client.post(
        "/v1/predict",
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        params=params,
    )


def test_health_and_models():
    assert client.get("/health").json()["status"] == "ok"
    models = client.get("/v1/models").json()
    loaded = [m for m in models if m["loaded"]]
    assert len(loaded) == 1 and loaded[0]["name"] == DEFAULT_MODEL
    assert 0.5 < loaded[0]["metrics"]["accuracy_mean"] < 1
    assert "by group" in loaded[0]["protocol"]
    assert "/v1/predict" in client.get("/openapi.json").json()["paths"]


def test_docs_are_served_from_here_grouped_with_examples():
    """The docs page loads its Swagger UI from this server (no CDN); / leads to it; endpoints
    are grouped by tag and dictionaries show real genre names, not additionalProp1."""
    home = client.get("/", follow_redirects=False)
    assert home.status_code in (302, 307) and home.headers["location"] == "/docs"
    page = client.get("/docs").text
    assert "cdn." not in page and "unpkg" not in page
    assets = [part.split('"')[0] for part in page.split('src="')[1:]]
    assets += [part.split('"')[0] for part in page.split('href="')[1:]]
    local = [a for a in assets if a.startswith("/")]
    assert any(a.endswith("swagger-ui-bundle.js") for a in local)
    assert all(client.get(a).status_code == 200 for a in local)
    schema = client.get("/openapi.json").json()
    assert schema["paths"]["/v1/predict"]["post"]["tags"] == ["classify"]
    assert [t["name"] for t in schema["tags"]] == ["classify", "library", "models", "service"]
    result = schema["components"]["schemas"]["FileResult"]["properties"]
    assert result["probabilities"]["examples"][0]["jazz"] == 0.72


@contextlib.contextmanager
def _served(app):
    """``app`` on a free loopback port in a thread; yields the port."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_predict_returns_distribution_top_k_and_timeline(song_bytes):
    response = upload(("song.ogg", song_bytes), top_k=4)
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == DEFAULT_MODEL
    [result] = body["results"]
    assert result["filename"] == "song.ogg" and result["error"] is None
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert len(result["top_k"]) == 4
    # a synthetic chord-and-beat loop is unlike any training song: unknown, genres still ranked
    assert result["known"] is False and result["label"] == "unknown"
    assert 0 <= result["typicality"] < 0.05 and 0 < result["confidence"] <= 1
    forced = upload(("song.ogg", song_bytes), reject="false").json()["results"][0]
    assert forced["known"] is True and forced["label"] == result["top_k"][0][0]
    assert result["duration"] == pytest.approx(8.0, abs=0.05)
    assert result["segments"][0]["start"] == 0.0 and len(result["segments"]) >= 2  # 3 s each
    assert result["segments"][-1]["end"] == pytest.approx(result["duration"], abs=1e-3)
    assert result["segments"][-1]["end"] == pytest.approx(8.0, abs=0.05)


@pytest.mark.parametrize(
    ("kind", "status", "error_type"),
    [
        ("not_audio", 415, "not_audio"),
        ("empty", 415, "not_audio"),
        ("truncated_flac", 415, "not_audio"),
        ("short", 422, "too_short"),
        ("silent", 422, "silent"),
    ],
)
def test_bad_files_get_a_4xx_json_reason(broken, kind, status, error_type):
    response = upload((broken[kind].name, broken[kind].read_bytes()))
    assert response.status_code == status
    error = response.json()["results"][0]["error"]
    assert error["type"] == error_type and error["reason"]
    assert "genrekit-" not in error["reason"]  # no temporary file names leak out


def test_mixed_batch_is_200_with_errors_inline(song_bytes, broken):
    response = upload(("good.ogg", song_bytes), ("bad.mp3", broken["not_audio"].read_bytes()))
    assert response.status_code == 200
    good, bad = response.json()["results"]
    assert good["label"] and bad["error"]["type"] == "not_audio"


def test_request_errors():
    missing = client.post("/v1/predict")
    assert missing.status_code == 422 and missing.json()["error"]["type"] == "invalid_request"
    too_big = upload(("huge.wav", b"0" * 2_500_000))
    assert too_big.status_code == 413 and too_big.json()["error"]["type"] == "too_large"
    bad_param = client.post("/v1/predict", params={"top_k": 0}, files={"files": ("a", b"x")})
    assert bad_param.status_code == 422
    many = upload(*[(f"{n}.wav", b"x") for n in range(17)])
    assert many.status_code == 413 and many.json()["error"]["type"] == "too_many_files"


def test_streamed_body_over_the_limit_is_413():
    """A valid multipart body sent chunked (no Content-Length) is cut off at the limit."""

    def chunks():
        yield (
            b'--frontier\r\nContent-Disposition: form-data; name="files"; '
            b'filename="big.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        )
        for _ in range(30):
            yield b"\0" * 100_000
        yield b"\r\n--frontier--\r\n"

    response = client.post(
        "/v1/predict",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=frontier"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "too_large"


def test_tag_returns_scores_per_track_and_segment(song_bytes, broken):
    response = client.post(
        "/v1/tag",
        files=[("files", ("song.ogg", song_bytes, "audio/ogg")),
               ("files", ("notes.mp3", broken["not_audio"].read_bytes(), "audio/mpeg"))],
        params={"model": "MTT_musicnn", "top_k": 3},
    )  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "MTT_musicnn"
    song, notes = body["results"]
    assert len(song["tags"]) == 50 and len(song["top_k"]) == 3
    assert song["top_k"][0][0] == next(iter(song["tags"]))
    assert len(song["segments"]) == 2  # 8 s: two full 3 s patches
    assert notes["filename"] == "notes.mp3" and notes["error"]["type"] == "not_audio"
    only_bad = client.post(
        "/v1/tag", files=[("files", ("s.flac", broken["silent"].read_bytes(), "audio/flac"))]
    )
    assert (
        only_bad.status_code == 422 and only_bad.json()["results"][0]["error"]["type"] == "silent"
    )
    unknown = client.post("/v1/tag", files=[("files", ("a.ogg", song_bytes))],
                          params={"model": "resnet"})  # fmt: skip
    assert unknown.status_code == 422 and unknown.json()["error"]["type"] == "invalid_request"


def test_temporary_files_are_removed(song_bytes, broken, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    upload(("good.ogg", song_bytes), ("bad.mp3", broken["not_audio"].read_bytes()))
    upload(("silent.flac", broken["silent"].read_bytes()))
    assert list(tmp_path.iterdir()) == []


schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_match_the_documented_schema(case):
    """Every schemathesis check (status codes, content types, response bodies against the
    OpenAPI schema, no 5xx, …) except one: ``positive_data_acceptance`` expects any
    schema-valid upload to succeed, but the schema cannot say "decodable audio", and random
    bytes are rightly answered 415."""
    from schemathesis.checks import positive_data_acceptance

    response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500, response.text


def test_fifty_concurrent_requests_on_loopback(song_bytes):
    expected = upload(("song.ogg", song_bytes), timeline="false").json()["results"][0]

    def one(_):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            return http.post(
                "/v1/predict",
                params={"timeline": "false"},
                files={"files": ("song.ogg", song_bytes)},
            )

    with _served(APP) as port, ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(one, range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    for response in responses:
        result = response.json()["results"][0]
        assert result["label"] == expected["label"]
        np.testing.assert_allclose(
            [result["probabilities"][k] for k in expected["probabilities"]],
            list(expected["probabilities"].values()),
            atol=1e-6,
        )


def test_one_request_buys_a_bounded_number_of_audio_seconds(song_bytes):
    small = TestClient(create_app(max_request_seconds=10.0))
    files = [("files", (f"{n}.ogg", song_bytes, "audio/ogg")) for n in range(3)]
    response = small.post("/v1/predict", files=files, params={"timeline": False})
    assert response.status_code == 200
    first, second, third = response.json()["results"]
    assert first["duration"] == pytest.approx(8.0, abs=0.05) and not first["truncated"]
    assert second["duration"] == pytest.approx(2.0, abs=0.05) and second["truncated"]
    assert third["error"]["reason"].startswith("not analysed: this request's 10 s of audio")


def test_a_stalled_upload_is_answered_408_and_dropped(song_bytes):
    """A client that sends half a body and then nothing does not hold the server: after the
    idle limit it gets a 408 in the API's error shape (the rest of the service is unaffected)."""
    app = create_app(max_upload_bytes=2_000_000, body_idle_seconds=1.0)
    with _served(app) as port:
        boundary = "x" * 16
        head = (
            f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(song_bytes) + 500}\r\n\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.ogg"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(head + song_bytes[:1000])  # half a body, then silence
            answer = ""
            while '"timeout"' not in answer:  # headers and body may come in separate packets
                received = connection.recv(65536)  # bounded by the socket's 30 s timeout
                if not received:
                    break
                answer += received.decode(errors="replace")
        assert answer.startswith("HTTP/1.1 408"), answer[:200]
        assert '"type":"timeout"' in answer.replace(" ", "")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/health").status_code == 200


@pytest.mark.parametrize("endpoint", ["/v1/predict", "/v1/tag"])
def test_a_client_that_leaves_mid_file_stops_the_analysis(tmp_path, monkeypatch, caplog, endpoint):
    """Work for a client that has gone stops within the file (a clip for predictions, a few
    patches for tags), and the server logs no traceback for it."""
    import logging

    from genrekit import autotags, predict

    path = tmp_path / "long.flac"
    soundfile.write(path, music_like(300.0, rate=22050), 22050)  # ten 30 s clips
    heard = []
    if endpoint == "/v1/predict":
        real = predict._until_stopped

        def counted(clips, should_stop):
            for clip in real(clips, should_stop):
                heard.append(clip.start)
                yield clip

        monkeypatch.setattr(predict, "_until_stopped", counted)
        whole = 10
    else:
        real_run = autotags.musicnn.run

        def counted_run(model, batch, *args):
            heard.append(len(batch))
            time.sleep(0.05)  # a slower machine: the client leaves well before the end
            return real_run(model, batch, *args)

        monkeypatch.setattr(autotags.musicnn, "run", counted_run)
        whole = 100  # 3 s patches
    body = path.read_bytes()
    boundary = "y" * 16
    part = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            'name="files"; filename="long.flac"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST {endpoint} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(part)}\r\n\r\n"
    ).encode()
    caplog.set_level(logging.INFO)
    with _served(create_app(max_upload_bytes=100_000_000)) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(head + part)  # the whole upload …
            deadline = time.monotonic() + 60
            while not heard and time.monotonic() < deadline:
                time.sleep(0.05)  # … until the server is analysing it; then the client leaves
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the server has given up on it
            before = len(heard)
            time.sleep(2.0)
            if len(heard) == before and heard:
                break
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/health").status_code == 200
    assert 0 < len(heard) < whole  # stopped part-way through the file
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "Exception in ASGI application" in m], messages
    assert not [record for record in caplog.records if record.exc_info]
    assert any("a client left before its answer was ready" in m for m in messages)


def _multipart(parts: list[tuple[bytes, bytes]], boundary: str = "z" * 16) -> tuple[bytes, dict]:
    """A multipart body of ``files`` parts (raw file name bytes, content), as a client that does
    not escape names sends it."""
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="'.encode()
            + name
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + content
            + b"\r\n"
            for name, content in parts
        )
        + f"--{boundary}--\r\n".encode()
    )
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_a_nul_byte_in_a_file_name_is_a_4xx_with_a_reason(song_bytes):
    client = TestClient(APP)
    body, headers = _multipart([(b"bad\x00name.ogg", song_bytes)])
    response = client.post("/v1/predict?timeline=false", content=body, headers=headers)
    assert response.status_code == 415, response.text
    [result] = response.json()["results"]
    assert "NUL byte" in result["error"]["reason"]
    body, headers = _multipart([(b"bad\x00name.ogg", song_bytes), (b"good.ogg", song_bytes)])
    both = client.post("/v1/predict?timeline=false", content=body, headers=headers)
    assert both.status_code == 200 and both.json()["results"][1]["error"] is None
    body, headers = _multipart([(b"bad\x00name.ogg", song_bytes)])
    similar = client.post("/v1/similar", content=body.replace(b'"files"', b'"file"'),
                          headers=headers)  # fmt: skip
    assert similar.status_code in (404, 422) and "Traceback" not in similar.text


def test_noise_over_a_phone_line_is_unknown_by_the_narrow_band_heads_threshold(tmp_path):
    """The API judges a narrow-band prediction by the narrow-band head's own threshold: with
    the full-band one, phone-line noise would pass as a genre."""
    from genrekit.degrade import telephone

    rate = 16000  # under the 2 MB upload cap: 20 s of 16-bit audio
    noise = 0.1 * np.random.default_rng(0).standard_normal(20 * rate).astype(np.float32)
    path = tmp_path / "phone-noise.wav"
    soundfile.write(path, telephone(noise, rate), rate)
    found = upload(("phone-noise.wav", path.read_bytes()), timeline=False).json()["results"][0]
    assert found["narrow_band"] is True and found["label"] == "unknown"
    assert found["typicality"] < APP.state.service.classifier.threshold_for(narrow_band=True)
