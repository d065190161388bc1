"""Worker identity for Airflow (`[core] hostname_callable = cadl.worker.hostname`).

Several Celery workers on one machine share a host name; naming each (CADL_WORKER_NAME) lets an
archivist, and the distributed test, see which worker ran which task.
"""

import os
import socket


def hostname() -> str:
    return os.environ.get("CADL_WORKER_NAME") or socket.getfqdn()
