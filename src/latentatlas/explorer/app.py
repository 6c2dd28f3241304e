"""The latent explorer's web server: a Starlette app around an :class:`ExplorerSession`.

Routes: ``/`` (the page), ``/api/info`` (controls, start code), ``/api/decode`` (POST
``{"z": [...]}`` → PNG; a bad code gets a 400 with its message), ``/api/start?seed=N`` (a prior
sample), ``/figures/<name>`` (only the PNG files found in the run folder's ``figures/`` when the
server started: no path from a request reaches the file system). Starlette and uvicorn are
imported lazily: ``pip install 'latent-atlas[explorer]'``.
"""

from __future__ import annotations

import ipaddress
import logging
from importlib import resources
from pathlib import Path

from ..errors import ConfigError, DataError
from .session import ExplorerSession

log = logging.getLogger(__name__)


def _require():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the explorer needs Starlette and uvicorn: pip install 'latent-atlas[explorer]'"
        ) from None


def create_app(session: ExplorerSession):
    """The ASGI app serving ``session``."""
    _require()
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    page = resources.files("latentatlas.explorer").joinpath("page.html").read_text("utf-8")
    figures = {
        p.name: p.read_bytes()
        for p in sorted((session.run_dir / "figures").glob("*.png"))
        if p.is_file() and not p.is_symlink()
    }

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def info(request: Request) -> Response:
        return JSONResponse({**session.info(), "figures": sorted(figures)})

    async def start(request: Request) -> Response:
        try:
            seed = int(request.query_params.get("seed", session.seed))
        except ValueError:
            return JSONResponse({"error": "seed: expected an integer"}, status_code=400)
        return JSONResponse({"seed": seed, "z": session.start_code(seed)})

    async def decode(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": 'expected a JSON body {"z": [...]}'}, status_code=400)
        if not isinstance(body, dict) or "z" not in body:
            return JSONResponse({"error": 'expected a JSON body {"z": [...]}'}, status_code=400)
        try:
            png = session.decode_png(body["z"])
        except DataError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(png, media_type="image/png")

    async def figure(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in figures:  # only the files listed at start: never a path from the request
            return JSONResponse({"error": "no such figure"}, status_code=404)
        return Response(figures[name], media_type="image/png")

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/info", info),
            Route("/api/start", start),
            Route("/api/decode", decode, methods=["POST"]),
            Route("/figures/{name}", figure),
        ]
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(run_dir: str | Path, host: str = "127.0.0.1", port: int = 8765, device: str = "cpu",
          seed: int = 0, echo=print) -> None:  # fmt: skip
    """Load the run (errors before the server starts), then serve until interrupted."""
    _require()
    import uvicorn

    session = ExplorerSession(run_dir, device, seed)
    app = create_app(session)
    if not is_loopback(host):
        echo(f"WARNING: serving on {host}: anyone who can reach this address can use the model")
    echo(f"latent explorer for {run_dir}: http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")
