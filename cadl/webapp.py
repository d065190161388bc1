"""The archivists' pages as a small FastAPI app: what the Airflow plugin mounts in the api-server.

`create_app` builds a read-only app with the collection page (`/collection`) and its data
(`/collection.json`, `/review-queue.json`), from `cadl.collection` and `cadl.review`. It holds no
state: every request reads the reports and storage afresh. FastAPI comes with Airflow 3, so the
app adds no dependency; the plugin file in `plugins/` only registers it.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


def create_app(dependencies: list | None = None):
    """The FastAPI app; `dependencies` (e.g. Airflow's authenticated-user check) guard every
    route."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse, JSONResponse

    app = FastAPI(title="cadl collection", dependencies=dependencies or [],
                  docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/collection", response_class=HTMLResponse)
    async def collection_page() -> HTMLResponse:
        from cadl.collection import collection_view, render_collection

        # Reading storage is blocking I/O: keep it off the api-server's event loop.
        view = await asyncio.to_thread(collection_view)
        return HTMLResponse(render_collection(view))

    @app.get("/collection.json")
    async def collection_data() -> JSONResponse:
        from cadl.collection import collection_view

        return JSONResponse(await asyncio.to_thread(collection_view))

    @app.get("/review-queue.json")
    async def review_queue() -> JSONResponse:
        from cadl.review import review_queue as queue

        return JSONResponse(await asyncio.to_thread(queue))

    return app
