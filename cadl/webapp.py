"""The archivists' pages as a small FastAPI app: what the Airflow plugin mounts in the api-server.

`create_app` builds a read-only app: the collection page (`/collection`) and its data
(`/collection.json`, `/review-queue.json`) from `cadl.collection` and `cadl.review`, and the
batch reports (`/reports/<batch_id>/report.html`), which the review tasks and the collection
page link to (set CADL_REPORTS_BASE_URL to `<airflow>/cadl/reports/`). It holds no state: every
request reads the reports and storage afresh. FastAPI comes with Airflow 3, so the app adds no
dependency; `plugins/cadl_collection.py` only registers it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

log = logging.getLogger(__name__)

_BATCH_ID = re.compile(r"^(?!\.)[A-Za-z0-9._-]{1,64}$")


def create_app(dependencies: list | None = None):
    """The FastAPI app; `dependencies` (e.g. Airflow's authenticated-user check) guard every
    route."""
    from fastapi import FastAPI, HTTPException
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

    @app.get("/reports/{batch_id}/report.html", response_class=HTMLResponse)
    async def batch_report(batch_id: str) -> HTMLResponse:
        from kernel.settings import get_settings

        # Only a batch id, never a path: nothing outside the reports folder is ever served.
        if not _BATCH_ID.match(batch_id):
            raise HTTPException(404, "no such batch")
        path = Path(get_settings().reports_dir) / batch_id / "report.html"
        try:
            html = await asyncio.to_thread(path.read_text, "utf-8")
        except FileNotFoundError:
            raise HTTPException(404, f"no report for batch {batch_id}") from None
        return HTMLResponse(html)

    return app
