"""The draw sized to the staff through HTTP: the preview, the upload that keeps it, the
refusal naming the shortfall, and the public plan showing λ per task and class."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Service
from tests.workflows.tinycity import TASKS_HEADER

MONTH = "2027-03"
HEADER = f"{TASKS_HEADER},min_ratio"
TASK = "2027-03-INFO,2027年3月企业公示信息抽查,SAMR-INFO,false,,{r},{r},{r},{r},0.01,any,{team},{m}"


def _upload(service: Service, query: str, ratio: str, team: int, least: str) -> Any:
    text = f"{HEADER}\n{TASK.format(r=ratio, team=team, m=least)}\n"
    return service.client.post(
        f"/supervisor/plans/{MONTH}/tasks{query}",
        headers=service.city.headers("sup_samr"),
        files={"file": ("tasks.csv", text.encode("utf-8"), "text/csv")},
    )


def test_sizing_preview_upload_refusal_and_the_public_plan(service: Service) -> None:
    refused = _upload(service, "?fit_capacity=true", "0.9", 20, "0.9")
    assert refused.status_code == 422, refused.text
    assert "department SAMR" in refused.text and "inspector-visits" in refused.text
    assert service.get(f"/supervisor/plans/{MONTH}", "sup_samr").status_code == 404  # no plan

    plain = _upload(service, "", "0.9", 20, "")
    assert plain.status_code == 201, plain.text
    assert any("exceeds capacity" in w for w in plain.json()["warnings"])
    assert plain.json()["sizing"] is None
    preview = service.get(f"/supervisor/plans/{MONTH}/sizing", "sup_samr")
    assert preview.status_code == 200, preview.text
    assert preview.json()["stored"] is False
    loads = preview.json()["sizing"]["loads"]
    assert loads and all(r["load"] <= r["capacity"] + 1e-6 for r in loads)

    sized = _upload(service, "?fit_capacity=true", "0.9", 20, "0.01")
    assert sized.status_code == 201, sized.text
    lambdas = sized.json()["sizing"]["lambdas"]["2027-03-INFO"]
    assert float(lambdas["A"]) < 0.9  # the staff cannot take the ratios
    kept = service.get(f"/supervisor/plans/{MONTH}/sizing", "sup_samr").json()
    assert kept["stored"] is True and kept["sizing"]["lambdas"] == sized.json()["sizing"]["lambdas"]
    frozen = service.client.post(
        f"/supervisor/plans/{MONTH}/freeze", headers=service.city.headers("sup_samr")
    )
    assert frozen.status_code == 200, frozen.text
    public = service.get(f"/public/plans/{MONTH}").json()
    (task,) = public["tasks"]
    assert task["sized_ratios"] == lambdas and task["min_ratio"] == "0.01"
    page = service.get(f"/plans/{MONTH}")
    assert page.status_code == 200 and lambdas["D"] in page.text
