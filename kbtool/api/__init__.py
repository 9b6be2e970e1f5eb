"""The suggest HTTP API (FastAPI): what ticket tools, help-center widgets and the help center call.

- `models`: request and response bodies (documented, unknown fields refused);
- `errors`: the JSON error shape and the body guard (content type, size);
- `auth`: scoped API keys (`public`, `agent`, `admin`), the keys file, rate limits;
- `recording`: every answer and feedback recorded off the request path;
- `routes`: the endpoints and their security rules; `docs`: /docs and /redoc offline;
- `app`: `create_app(config)` and the uvicorn factory `create_app_from_env`.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use (PEP 562), so `kbtool.api.auth` (keys, no FastAPI) serves `kbtool keys`
# in an install without the `api` extra.
_EXPORTS = {"create_app": "app", "create_app_from_env": "app", "MAX_BODY": "errors",
            "article_response": "routes", "suggest_response": "routes"}

__all__ = ["MAX_BODY", "article_response", "create_app", "create_app_from_env", "suggest_response"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
