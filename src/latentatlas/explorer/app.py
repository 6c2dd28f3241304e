"""The latent explorer's web server: a Starlette app around an :class:`ExplorerSession`.

Routes: ``/`` (the page), ``/api/info`` (controls, start code, blocks, directions),
``/api/decode`` (POST ``{"z": [...], "keep": [...]}`` → PNG), ``/api/blocks`` (each atomic
block's image), ``/api/traversal`` (POST ``{"z", "index", "format": "png"|"gif"}``),
``/api/example?index=i`` (a training example's code and image), ``/api/direction`` (POST
``{"z", "name", "value"}`` → the edited code), ``/api/start?seed=N`` (a prior sample); bad input
gets a 400 with its message; ``/figures/<name>`` (only the PNG files found in the run folder's
``figures/`` when the server started: no path from a request reaches the file system). Starlette
and uvicorn are imported lazily: ``pip install 'latent-atlas[explorer]'``.
"""

from __future__ import annotations

import base64
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

    async def body_of(request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            raise DataError('expected a JSON body {"z": [...]}') from None
        if not isinstance(body, dict) or "z" not in body:
            raise DataError('expected a JSON body {"z": [...]}')
        return body

    def checked(handler):
        """Bad input from the page → 400 with the message (never a traceback)."""

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except DataError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return wrapped

    def data_url(png: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(png).decode()

    @checked
    async def decode(request: Request) -> Response:
        body = await body_of(request)
        return Response(session.decode_png(body["z"], body.get("keep")), media_type="image/png")

    @checked
    async def blocks(request: Request) -> Response:
        body = await body_of(request)
        return JSONResponse({"images": [data_url(p) for p in session.block_pngs(body["z"])]})

    @checked
    async def traversal(request: Request) -> Response:
        body = await body_of(request)
        if body.get("format", "png") == "gif":
            return Response(session.traversal_gif(body["z"], body.get("index")),
                            media_type="image/gif")  # fmt: skip
        return Response(session.traversal_png(body["z"], body.get("index")), media_type="image/png")

    @checked
    async def example(request: Request) -> Response:
        try:
            index = int(request.query_params.get("index", "0"))
        except ValueError:
            raise DataError("index: expected an integer") from None
        z, png = session.example(index)
        return JSONResponse({"index": index, "z": z, "image": data_url(png)})

    @checked
    async def direction(request: Request) -> Response:
        body = await body_of(request)
        return JSONResponse({"z": session.apply_direction(body["z"], body.get("name"),
                                                          body.get("value"))})  # fmt: skip

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
            Route("/api/blocks", blocks, methods=["POST"]),
            Route("/api/traversal", traversal, methods=["POST"]),
            Route("/api/example", example),
            Route("/api/direction", direction, methods=["POST"]),
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
