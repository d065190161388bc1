"""Airflow plugin: the archivists' collection view and the batch reports, in Airflow's own UI.

Registers the FastAPI app of `cadl.webapp` under `/cadl` in the api-server and a "Collection"
entry in the navigation (an external view shown inside the UI). The routes require a user
logged into Airflow (the same token the UI uses). Airflow loads this folder as its plugins
folder (`AIRFLOW__CORE__PLUGINS_FOLDER`, set by `cadl.airflow_env`).
"""

from airflow.plugins_manager import AirflowPlugin

from cadl.webapp import create_app


def _requires_login() -> list:
    """Airflow's own check for a logged-in user, when this Airflow offers it to plugins."""
    try:
        from fastapi import Depends

        from airflow.api_fastapi.core_api.security import get_user
    except ImportError:  # an Airflow without it: the api-server's own binding must protect it
        return []
    return [Depends(get_user)]


class CadlCollectionPlugin(AirflowPlugin):
    name = "cadl_collection"
    fastapi_apps = [{"app": create_app(_requires_login()), "url_prefix": "/cadl",
                     "name": "cadl collection view"}]
    external_views = [{"name": "Collection", "href": "cadl/collection", "destination": "nav",
                       "url_route": "cadl-collection", "category": "browse"}]
