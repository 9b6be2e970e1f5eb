"""/docs (Swagger UI) and /redoc from local assets: they render with no network at all.

FastAPI's defaults load Swagger UI, ReDoc and Google Fonts from CDNs, so on an air-gapped
support network (or offline) both pages are blank. The assets come from the
`fastapi-offline` package (MIT; it ships swagger-ui-bundle.js, swagger-ui.css,
redoc.standalone.js and a favicon); we serve its folder and build the pages with FastAPI's
own HTML helpers, fonts off.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
STATIC = "/docs-assets"


def add_docs(app: FastAPI) -> None:
    app.mount(STATIC, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
                                   swagger_js_url=f"{root}{STATIC}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{STATIC}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{STATIC}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{STATIC}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{STATIC}/favicon.png", with_google_fonts=False)
