"""The latent explorer's web server: a Starlette app around an :class:`ExplorerSession`.

Routes: ``/`` (the page), ``/api/info`` (controls, start code, blocks, directions),
``/api/decode`` (POST ``{"z": [...], "keep": [...]}`` → PNG), ``/api/blocks`` (each atomic
block's image), ``/api/traversal`` (POST ``{"z", "index", "format": "png"|"gif"}``),
``/api/example?index=i`` (a training example's code, image and ground-truth factors),
``/api/direction`` (POST
``{"z", "name", "value"}`` → the edited code), ``/api/start?seed=N`` (a prior sample); bad input
gets a 400 with its message; ``/figures/<name>`` (only the PNG files found in the run folder's
``figures/`` when the server started: no path from a request reaches the file system). Starlette
and uvicorn are imported lazily: ``pip install 'latent-atlas[explorer]'``.

Every request passes a guard first (:class:`RequestGuard`): its ``Host`` header must name the
address the server is bound to (for a loopback server: ``127.0.0.1``, ``localhost`` or ``::1``),
which defeats DNS rebinding (a page on another site whose name resolves to 127.0.0.1 sends its
own name); a POST must say ``Content-Type: application/json`` (a cross-site form cannot) and carry
at most :data:`MAX_BODY` bytes.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
from importlib import resources

from ..errors import ConfigError, DataError, LatentAtlasError
from .session import ExplorerSession

log = logging.getLogger(__name__)

#: the largest request body accepted (a code of 10 000 numbers is ~200 kB)
MAX_BODY = 1 << 20
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def _require():
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the explorer needs Starlette and uvicorn: pip install 'latent-atlas[explorer]'"
        ) from None


class BodyTooLarge(LatentAtlasError):
    """A request body over the limit, found while reading it (no ``Content-Length``): the route
    wrapper answers 413."""


class RequestGuard:
    """ASGI middleware: refuse requests for another host name (400), POSTs that are not JSON
    (415) and bodies larger than ``max_body`` bytes (413), each with a JSON reason."""

    def __init__(self, app, hosts: frozenset[str], max_body: int = MAX_BODY):
        self.app, self.hosts, self.max_body = app, hosts, max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        host = host_name(headers.get(b"host", b"").decode("latin-1"))
        if host not in self.hosts:
            return await _reject(
                send,
                400,
                f"Host header {host!r:.80} is not this server's "
                f"address ({', '.join(sorted(self.hosts))})",
            )
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind != b"application/json":
            return await _reject(send, 415, "expected Content-Type: application/json")
        length = headers.get(b"content-length", b"")
        if length and (not length.isdigit() or int(length) > self.max_body):
            return await _reject(send, 413, f"request body over {self.max_body} bytes")
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body:
                raise BodyTooLarge(f"request body over {self.max_body} bytes")
            return message

        await self.app(scope, counted_receive, send)


async def _reject(send, status: int, reason: str) -> None:
    import json

    body = json.dumps({"error": reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port (``[::1]:8765`` → ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def allowed_hosts(bound: str) -> frozenset[str]:
    """The ``Host`` names a server bound to ``bound`` answers: every loopback name for a
    loopback address, else the address itself."""
    bound = bound.strip().lower().strip("[]")
    return LOOPBACK_NAMES if is_loopback(bound) else frozenset({bound})


def create_app(session: ExplorerSession, host: str = "127.0.0.1"):
    """The ASGI app serving ``session``, answering requests addressed to ``host`` only."""
    _require()
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    page = resources.files("latentatlas.explorer").joinpath("page.html").read_text("utf-8")
    folder = session.run_dir / "figures" if session.run_dir is not None else None
    figures = {
        p.name: p.read_bytes()
        for p in (sorted(folder.glob("*.png")) if folder is not None else [])
        if p.is_file() and not p.is_symlink()
    }

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def info(request: Request) -> Response:
        return JSONResponse({**session.info(), "figures": sorted(figures)})

    async def start(request: Request) -> Response:
        seed = query_integer(request.query_params.get("seed", str(session.seed)))
        if seed is None or not 0 <= seed < 2**63:
            return JSONResponse({"error": "seed: expected an integer 0..2**63-1"}, status_code=400)
        return JSONResponse({"seed": seed, "z": session.start_code(seed)})

    async def body_of(request: Request) -> dict:
        try:
            body = await request.json()
        except (ValueError, RecursionError):  # malformed, or nested beyond any code
            raise DataError('expected a JSON body {"z": [...]}') from None
        if not isinstance(body, dict) or "z" not in body:
            raise DataError('expected a JSON body {"z": [...]}')
        return body

    def checked(handler):
        """Bad input from the page → 400 with the message (never a traceback)."""

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except LatentAtlasError as exc:
                status = 413 if isinstance(exc, BodyTooLarge) else 400
                return JSONResponse({"error": str(exc)}, status_code=status)

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
        kind = body.get("format", "png")
        if kind not in ("png", "gif"):
            raise DataError(f'format: expected "png" or "gif", got {str(kind)[:40]!r}')
        if kind == "gif":
            return Response(
                session.traversal_gif(body["z"], body.get("index")), media_type="image/gif"
            )
        return Response(session.traversal_png(body["z"], body.get("index")), media_type="image/png")

    @checked
    async def example(request: Request) -> Response:
        index = query_integer(request.query_params.get("index", "0"))
        if index is None:
            raise DataError("index: expected an integer (ASCII digits)")
        z, png = session.example(index)
        return JSONResponse(
            {
                "index": index,
                "z": z,
                "image": data_url(png),
                "factors": session.example_factors(index),
            }
        )

    @checked
    async def direction(request: Request) -> Response:
        body = await body_of(request)
        return JSONResponse(
            {"z": session.apply_direction(body["z"], body.get("name"), body.get("value"))}
        )

    async def figure(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in figures:  # only the files listed at start: never a path from the request
            return JSONResponse({"error": "no such figure"}, status_code=404)
        return Response(figures[name], media_type="image/png")

    app = Starlette(
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
    return RequestGuard(app, allowed_hosts(host))


def query_integer(raw: str, digits: int = 19) -> int | None:
    """An integer from a query string: an optional minus sign and at most ``digits`` ASCII
    digits, nothing else (Python's ``int`` would also take other scripts' digits, "١" for 1,
    underscores and spaces); None otherwise."""
    body = raw[1:] if raw.startswith("-") else raw
    if not body or len(body) > digits or not body.isascii() or not body.isdigit():
        return None
    return int(raw)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address) is this machine's loopback."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    run_dir,
    host: str = "127.0.0.1",
    port: int = 8765,
    device: str = "cpu",
    seed: int = 0,
    echo=print,
) -> None:
    """Load the run, or a user's generator (an
    :class:`~latentatlas.analysis.generators.UserGenerator`), with errors before the server
    starts, then serve until interrupted."""
    _require()
    import uvicorn

    from ..analysis.generators import UserGenerator
    from .session import GeneratorSession

    if isinstance(run_dir, UserGenerator):
        session: ExplorerSession = GeneratorSession(run_dir, device, seed)
        run_dir = run_dir.spec
    else:
        session = ExplorerSession(run_dir, device, seed)
    app = create_app(session, host)
    if not is_loopback(host):
        echo(f"WARNING: serving on {host}: anyone who can reach this address can use the model")
    echo(f"latent explorer for {run_dir}: http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="warning")
