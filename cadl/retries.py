"""Airflow retries only what can succeed on a second try, decided by kernel.errors' `retryable` flag.

Bad input (an invalid METS, a corrupt page) fails the same way every time: retrying it only
delays the report the technician needs. Storage that is down, or a tool that timed out on a busy
machine, is worth retrying with backoff. Exceptions from outside the tree (a bug, an OSError
from the network) keep Airflow's default behaviour: the task's `retries`.
"""

from kernel import errors


def _tree() -> list[type[errors.PipelineError]]:
    """Every class of the exception tree, most specific first (so a subclass decides for itself)."""
    seen, todo = [], [errors.PipelineError]
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(seen, key=lambda c: len(c.__mro__), reverse=True)


def retry_rules() -> list[tuple[type[errors.PipelineError], bool]]:
    """(exception class, retry?) in the order they are matched."""
    return [(cls, bool(cls.retryable)) for cls in _tree()]


def retry_policy():
    """An Airflow ExceptionRetryPolicy: retry the retryable errors, fail the others at once."""
    from airflow.sdk import ExceptionRetryPolicy, RetryAction, RetryRule

    return ExceptionRetryPolicy(rules=[
        RetryRule(exception=cls, action=RetryAction.RETRY if retry else RetryAction.FAIL,
                  reason=(f"{cls.__name__} is transient: retry with backoff" if retry
                          else f"{cls.__name__} is permanent: a retry cannot help"))
        for cls, retry in retry_rules()
    ])
