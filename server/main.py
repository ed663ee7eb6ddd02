"""create_app(): the FastAPI application, built from settings with no work at import time."""

from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.config import get_settings
from server.ratelimit import KnownTokens, RateLimitMiddleware
from server.recent import RecentResponses
from server.routes import (admin, admin_setup, competitions, entries, exports, health, inputs, leaderboard, pages,
                           pages_info, pages_team, submissions)
from server.security_headers import SecurityHeadersMiddleware
from server.services.errors import ServiceError
from server.services.upload_slots import UploadSlots

API_DESCRIPTION = """
Scoring server for constrained x4 single-image super-resolution challenges (AIM 2019 style).

**Results submissions**: a zip of super-resolved PNGs named like the hidden HR images
(`0801.png` or `0801x4.png`), at the top of the zip or inside one folder, plus an optional
NTIRE-style `readme.txt` with self-reported figures. Scored by PSNR on RGB, 4 border pixels
ignored, mean of per-image PSNRs.

**Code submissions** (form field `kind=code`, or a `model.py` at the top of the zip): `model.py`
defining `build_model() -> torch.nn.Module`; optional weights `model.safetensors`, or `model.pth`
holding a state dict (loaded with `weights_only=True`, strict); optional `submission.yaml`
(`data_range: 1.0` or `255`, `description`, `extra_data: yes|no`, `tracks: [params, runtime, psnr]`).
Input: float32 1×3×h×w RGB in [0, data_range]; output 1×3×4h×4w, clamped, scaled to 0..255 and
rounded half to even. A sandboxed worker counts the parameters, times the forward pass (best of
three trials, the MSRResNet baseline timed in the same job on the same device) and scores PSNR.

Authenticate with `Authorization: Bearer <team token>`.
"""
DOCS_ASSETS = "/docs/assets"


def create_app() -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Blocking handlers run on this many threads, one database connection each (server/db.py):
        # a burst queues for a thread, with the event loop (and /healthz) free meanwhile.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.db_pool_size
        yield

    # /docs and /redoc serve Swagger UI 5 and ReDoc from the installed fastapi-offline, not a CDN:
    # the server may have no internet (swagger-ui-bundle's Swagger UI 4 cannot read OpenAPI 3.1).
    app = FastAPI(title="srchallenge", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.recent_boards = RecentResponses(settings.leaderboard_max_age_seconds)
    app.state.known_tokens = KnownTokens()
    app.state.upload_slots = UploadSlots(settings.max_concurrent_uploads_per_team, settings.rate_limit_storage)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_unavailable(_request: Request, _err: Exception):
        # an outage, not a bug: say so, and let clients retry (nothing was written)
        return JSONResponse({"detail": "the database is unavailable; try again shortly"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(PoolTimeout)
    async def database_busy(_request: Request, _err: Exception):
        return JSONResponse({"detail": "the server is busy; try again shortly"}, status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, err: ServiceError):
        return JSONResponse({"detail": err.message}, status_code=err.status_code, headers=err.headers)

    for module in (health, competitions, inputs, submissions, leaderboard, entries, pages, pages_info, pages_team,
                   exports, admin, admin_setup):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.mount(DOCS_ASSETS, StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title="srchallenge API",
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def api_redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url, title="srchallenge API",
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png", with_google_fonts=False)

    app.add_middleware(SecurityHeadersMiddleware)
    if settings.rate_limit_per_minute > 0:
        app.add_middleware(RateLimitMiddleware, per_minute=settings.rate_limit_per_minute,
                           known_tokens=app.state.known_tokens, storage_url=settings.rate_limit_storage,
                           trusted_proxies=settings.trusted_proxy_list)
    return app
