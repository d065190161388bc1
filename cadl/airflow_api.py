"""A small client of Airflow's REST API (v2), as `cadl run` and `cadl status` use it.

Only what `cadl` needs: trigger a run, read runs and task instances, unpause a DAG, answer a
review (human-in-the-loop) task. The token is
a JWT from the simple auth manager's `/auth/token`, fetched again when it expires.
"""

import logging
import time

import httpx

from kernel.errors import ConfigError, PipelineError

log = logging.getLogger(__name__)


class ApiError(PipelineError):
    """Airflow's API answered with an error the caller did not expect."""

    exit_code = 3

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def health(url: str) -> bool:
    """True when the api-server answers its health check (no token needed)."""
    try:
        return httpx.get(f"{url}/api/v2/monitor/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


class Api:
    """REST client of one embedded Airflow (`cadl.embedded.Embedded`)."""

    def __init__(self, embedded, user: str = "cadl"):
        self.url = embedded.api_url
        self.user, self.password = user, embedded.password
        self.client = httpx.Client(base_url=self.url, timeout=30)
        self._token: str | None = None

    def _auth(self) -> dict[str, str]:
        if self._token is None:
            r = self.client.post("/auth/token", json={"username": self.user,
                                                      "password": self.password})
            if r.status_code not in (200, 201):
                raise ConfigError(f"Airflow at {self.url} refused user {self.user!r} "
                                  f"({r.status_code}): {r.text[:300]}")
            self._token = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, ok=(200,), **kw) -> httpx.Response:
        for attempt in range(5):
            try:
                r = self.client.request(method, "/api/v2" + path, headers=self._auth(), **kw)
            except httpx.TransportError as exc:
                if attempt == 4:
                    raise ApiError(f"Airflow at {self.url} does not answer: {exc}") from None
                time.sleep(1 + attempt)
                continue
            if r.status_code == 401 and attempt == 0:
                self._token = None  # expired
                continue
            if r.status_code in ok:
                return r
            if r.status_code >= 500 and attempt < 4:
                time.sleep(1 + attempt)  # SQLite busy under load: try again
                continue
            raise ApiError(f"{method} {path} -> {r.status_code}: {r.text[:500]}", r.status_code)
        raise ApiError(f"{method} {path}: no answer from {self.url}")

    # --- DAGs and runs ---------------------------------------------------------------------

    def dag(self, dag_id: str) -> dict | None:
        r = self.request("GET", f"/dags/{dag_id}", ok=(200, 404))
        return r.json() if r.status_code == 200 else None

    def wait_for_dag(self, dag_id: str, timeout: float, procs: dict | None = None) -> dict:
        """Wait until the dag-processor has parsed `dag_id` (fail early if a process died)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in (procs or {}).items():
                if proc.poll() is not None:
                    raise ConfigError(f"the Airflow {name} exited with {proc.returncode}; "
                                      "see its log in the Airflow home's logs/ folder")
            found = self.dag(dag_id)
            if found is not None:
                return found
            time.sleep(1)
        raise ConfigError(f"Airflow did not load the DAG {dag_id} within {timeout:.0f}s; see "
                          "dag-processor.log in the Airflow home's logs/ folder")

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, run_id: str, conf: dict) -> dict | None:
        """Start a run; None when a run with this id already exists (someone else started it)."""
        r = self.request("POST", f"/dags/{dag_id}/dagRuns", ok=(200, 409),
                         json={"dag_run_id": run_id, "logical_date": None, "conf": conf})
        return r.json() if r.status_code == 200 else None

    def run(self, dag_id: str, run_id: str) -> dict | None:
        r = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}", ok=(200, 404))
        return r.json() if r.status_code == 200 else None

    def runs(self, dag_id: str, run_id_contains: str | None = None, limit: int = 100) -> list[dict]:
        """The DAG's runs, newest first (`run_id_contains` is matched by Airflow as a pattern,
        so callers filter the result exactly)."""
        params = {"order_by": "-run_after", "limit": limit}
        if run_id_contains:
            params["run_id_pattern"] = run_id_contains
        return self.request("GET", f"/dags/{dag_id}/dagRuns", params=params).json()["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        out, offset = [], 0
        while True:
            page = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                                params={"limit": 100, "offset": offset}).json()
            out += page["task_instances"]
            offset += len(page["task_instances"])
            if not page["task_instances"] or offset >= page["total_entries"]:
                return out

    def task_instance(self, dag_id: str, run_id: str, task_id: str,
                      map_index: int = -1) -> dict | None:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        r = self.request("GET", path + (f"/{map_index}" if map_index >= 0 else ""),
                         ok=(200, 404))
        return r.json() if r.status_code == 200 else None

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value",
             map_index: int = -1):
        params = {"deserialize": True} | ({"map_index": map_index} if map_index >= 0 else {})
        r = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
                         f"/xcomEntries/{key}", ok=(200, 404), params=params)
        return r.json().get("value") if r.status_code == 200 else None

    # --- human-in-the-loop (review) tasks ------------------------------------------------

    def hitl_details(self, dag_id: str = "~", run_id: str = "~", **filters) -> list[dict]:
        """Human-in-the-loop requests ("Required actions"), each with its task instance;
        filters as Airflow's API names them (response_received, subject_search, ...)."""
        params = {"limit": 100} | {k: (str(v).lower() if isinstance(v, bool) else v)
                                   for k, v in filters.items()}
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/hitlDetails",
                            params=params).json()["hitl_details"]

    def answer_hitl(self, dag_id: str, run_id: str, task_id: str, map_index: int,
                    chosen: list[str], params_input: dict) -> dict:
        """Answer a waiting human-in-the-loop task, as the UI's form does (one answer only:
        409 when someone answered first)."""
        return self.request("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
                            f"{task_id}/{map_index}/hitlDetails",
                            json={"chosen_options": chosen,
                                  "params_input": params_input}).json()
