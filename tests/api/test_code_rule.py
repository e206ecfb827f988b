"""DATA-FORMATS: a task code names a page (/draws/{task_code}) and an export file
(draws/<task_code>.json), so a code with `/` or `..` is refused at plan time, by row and
column, through the production app."""

from __future__ import annotations

import pytest

from tests.api.conftest import Service
from tests.workflows.tinycity import TASKS_HEADER

MONTH = "2026-08"
RATIOS = "0.05,0.1,0.2,0.4,0.01,any,2"


def _task(code: str) -> str:
    return f"{code},抽查,SAMR-INFO,false,,{RATIOS}"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("../../../etc/2026-08-INFO", "contains a slash"),
        ("2026-08/INFO", "contains a slash"),
        ("2026-08..INFO", "contains '..'"),
        (".hidden", "starting with a letter or digit"),
        ("2026 08 INFO", "not a code for URLs and file names"),
    ],
)
def test_a_task_code_that_would_climb_out_of_a_folder_is_refused(
    service: Service, code: str, reason: str
) -> None:
    body = f"{TASKS_HEADER}\n{_task('2026-08-OK')}\n{_task(code)}\n"
    response = service.client.post(
        f"/supervisor/plans/{MONTH}/tasks",
        headers=service.city.headers("sup_samr"),
        files={"file": ("tasks.csv", body.encode("utf-8"), "text/csv")},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/import-rejected"
    [error] = problem["errors"]
    assert (error["row"], error["column"]) == (3, "task_code")
    assert reason in error["reason"]
    # nothing of the file was kept: the month has no plan
    assert service.get(f"/public/plans/{MONTH}").status_code == 404
