"""Commands that start servers: ``serve`` (the REST API) and ``app`` (the web app)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from genrekit.audio import DEFAULT_MAX_DURATION
from genrekit.cli.common import (
    ModelOption,
    command,
)


@command()
def serve(
    model: ModelOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    max_upload_mb: Annotated[float, typer.Option(help="Largest request body in MB")] = 50.0,
    max_duration: Annotated[
        float, typer.Option(help="Seconds analysed per file")
    ] = DEFAULT_MAX_DURATION,
    db: Annotated[Path | None, typer.Option("--db", help="Library catalog for /v1/similar")] = None,
    body_timeout: Annotated[
        float, typer.Option(min=1.0, help="Seconds an upload may stall before a 408")
    ] = 30.0,
) -> None:
    """Start the REST API (OpenAPI docs at /docs)."""
    import uvicorn

    from genrekit.api import create_app

    api = create_app(
        model,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_duration=max_duration,
        library=db,
        body_idle_seconds=body_timeout,
    )
    typer.echo(f"genrekit API on http://{host}:{port} (docs: http://{host}:{port}/docs)", err=True)
    uvicorn.run(api, host=host, port=port, log_level="warning")


@command(name="app")
def web_app(
    port: Annotated[int, typer.Option(help="Port")] = 8501,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
) -> None:
    """Start the web app (Streamlit) and print its URL.

    Environment: GENREKIT_DATA is the folder whose examples/ holds the example excerpts the
    Classify page offers (default ../shared/data, from where the command runs);
    GENREKIT_LIBRARY is a library catalog (genrekit index) for similar songs and the Library
    page."""
    from importlib import resources

    script = Path(str(resources.files("genrekit") / "webapp.py"))
    typer.echo(f"genrekit web app on http://{host}:{port}  (Ctrl-C to stop)", err=True)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.headless=true",
        f"--server.port={port}",
        f"--server.address={host}",
        "--browser.gatherUsageStats=false",
    ]
    sys.stderr.flush()
    # Become the Streamlit server (same process id): Ctrl-C and SIGTERM reach it directly and
    # stop it, where a child process would outlive a terminated parent.
    os.execv(sys.executable, command)
