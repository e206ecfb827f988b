"""The plan-level π of each drawn enterprise: stored once at the draw, read by the month's
estimates (never simulated again there), and recorded on the history rows that train the
model. The service city is drawn for September 2026 (INFO at λ 0.1 over companies, FOOD at
0.2 over catering businesses: catering companies sit in both frames). SQLite and
PostgreSQL."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

import models
from inspect_engine.formats.spec import FORMATS
from inspect_engine.risk import labelled_visits
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.sampling.population import coordinated_inclusion
from inspect_engine.workflows import estimates, results
from inspect_engine.workflows import visit_inclusion as plan_pi
from inspect_engine.workflows.imports import event_hash
from inspect_engine.workflows.planning import (
    draw_month,
    frame_inclusion,
    frame_lines,
    freeze_month,
    get_plan,
    plan_frames,
    plan_month,
)
from inspect_engine.workflows.risk_data import load_risk_data
from tests.api import servicecity
from tests.api.servicecity import MONTH, City
from tests.workflows import tinycity

TODAY = date(2026, 10, 15)


@pytest.fixture
def city(session: Session, tmp_path: Path) -> City:
    return servicecity.populate(session, tmp_path)


def _stored(session: Session) -> dict[str, models.VisitInclusion]:
    return {r.credit_code: r for r in session.scalars(select(models.VisitInclusion))}


def _frames(session: Session) -> tuple[list[plan_pi.FrameLines], models.Plan]:
    plan = get_plan(session, MONTH)
    lines = []
    for frame in plan_frames(session, plan):
        codes, lambdas = frame_lines(frame)
        lam = np.array([float(x) for x in lambdas])
        lines.append(plan_pi.FrameLines(codes, lam, frame_inclusion(frame)))
    return lines, plan


# Both tasks at λ 0.5 over a small city (about 45 companies, 19 catering businesses, 15 of
# them companies in both frames, so some are always drawn): each frame's cut-off in u is
# random around 0.5, so an enterprise of both is visited more often than its frame π (by
# about 0.035 here; DRAW-SPEC's two 10-unit frames at 0.2: 0.266 against 0.2).
EVEN_TASKS = (
    "2026-09-INFO,企业公示信息抽查,SAMR-INFO,false,,0.5,0.5,0.5,0.5,0.01,cross_office,2",
    "2026-09-FOOD,餐饮联合抽查,SAMR-FOOD;FIRE-CATER,true,H62,0.5,0.5,0.5,0.5,0.01,local,3",
)


@pytest.mark.parametrize("tasks", ["even", "service"])
def test_the_draw_stores_each_drawn_enterprises_probability_under_the_plan(
    session: Session, tmp_path: Path, tasks: str
) -> None:
    """One row per enterprise the plan drew. In one frame: that frame's recorded π, exact
    (error 0). In both frames: within 4 SE of counting hits over 20,000 coordinated draws of
    the frozen frames, never below the larger of its frame π by more than 3 SE, and, where
    the two cut-offs overlap (both at 0.5), clearly above it (the service city's 0.1 and
    0.2 hardly overlap: there the excess is about 0.001). Recomputing from the seed gives
    the same numbers (a redone draw)."""
    if tasks == "even":
        tinycity.build(session, enterprises=60)
        tinycity.add_inspectors(session)
        plan_month(session, MONTH, tinycity.tasks_file(tmp_path, EVEN_TASKS))
        freeze_month(session, MONTH, ExclusionPolicy())
        draw_month(session, MONTH, "dice 2-7-1-8")
    else:
        servicecity.populate(session, tmp_path)
    stored = _stored(session)
    drawn = set(session.scalars(select(models.Selection.credit_code)))
    assert set(stored) == drawn and len(drawn) >= 5
    lines, plan = _frames(session)
    frame_pi: dict[str, list[float]] = {}
    for frame in lines:
        for code, pi in zip(frame.codes, frame.pi().tolist(), strict=True):
            frame_pi.setdefault(code, []).append(pi)
    single = [c for c in drawn if len(frame_pi[c]) == 1]
    double = [c for c in drawn if len(frame_pi[c]) == 2]
    assert single and double
    for code in single:
        assert (stored[code].pi, stored[code].std_error) == (frame_pi[code][0], 0.0)
    excess = np.array([stored[c].pi - max(frame_pi[c]) for c in double])
    se = np.array([stored[c].std_error for c in double])
    assert (se > 0).all() and (excess > -3 * se).all(), (excess, se)
    if tasks == "even":
        assert (excess > 0.015).all() and (excess > 4 * se).all(), (excess, se)

    union, inverse = plan_pi.frame_union([frame.codes for frame in lines])
    parts, start = [], 0
    for frame in lines:
        parts.append((inverse[start : start + len(frame.codes)], frame.lam, frame.pi()))
        start += len(frame.codes)
    hits = coordinated_inclusion(parts, union.size, reps=20_000, rng=np.random.default_rng(9))
    for code in double:
        at = int(np.searchsorted(union, code.encode()))
        gap = abs(stored[code].pi - hits.pi[at])
        assert gap <= 4 * math.hypot(stored[code].std_error, hits.std_error[at]), code

    assert plan.seed is not None
    codes, again = plan_pi.compute(lines, plan.seed, sorted(drawn))
    assert dict(zip(codes.astype(str).tolist(), again.pi.tolist(), strict=True)) == {
        c: r.pi for c, r in stored.items()
    }


def _publish_some(session: Session, city: City) -> None:
    """Results on the first dozen of S01's visits, a problem on every third, published."""
    for n, visit in enumerate(city.visits_of("S01")[:12]):
        for item in city.visits[visit][1]:
            row = results.submit_result(
                session, inspector_id="S01", visit_code=visit, item_code=item,
                result="pending" if n % 3 == 0 else "no_problem",
                inspected_on=date(2026, 9, 24), today=TODAY, actor="S01",
            )  # fmt: skip
            results.review_result(session, row.id, approve=True, departments=None)
    results.publish_month(session, MONTH, departments=None, today=TODAY)


def test_estimates_read_the_stored_probability_instead_of_simulating(
    session: Session, city: City
) -> None:
    """The published estimates say the π was stored at the draw; changing a stored value
    changes them (so they are read, not simulated again); a plan without stored values (drawn
    before they were) gets them computed from its frames, equal to what the draw stores, and
    the next publication keeps them."""
    _publish_some(session, city)
    plan = get_plan(session, MONTH)
    published = plan.summary["estimates"]
    assert published["plan_inclusion"]["source"] == "stored at the draw"
    assert published["plan_inclusion"]["max_std_error"] > 0
    first = estimates.month_estimates(session, MONTH)
    assert first["overall"] == published["overall"]

    before = {c: (r.pi, r.std_error) for c, r in _stored(session).items()}
    for code, (pi, _) in before.items():
        session.execute(
            update(models.VisitInclusion)
            .where(models.VisitInclusion.credit_code == code)
            .values(pi=pi / 2)
        )
    halved = estimates.month_estimates(session, MONTH)
    assert float(halved["overall"]["share"]) != pytest.approx(float(first["overall"]["share"]))
    session.execute(delete(models.VisitInclusion))
    computed = estimates.month_estimates(session, MONTH)
    assert computed["plan_inclusion"]["source"].startswith("computed from the frozen frames")
    assert computed["overall"] == first["overall"]
    assert _stored(session) == {}  # a read keeps nothing
    estimates.publish_estimates(session, MONTH)
    kept = {c: (r.pi, r.std_error) for c, r in _stored(session).items()}
    assert kept and kept == {c: before[c] for c in kept}  # the drawn visits' enterprises


def test_history_rows_carry_the_visits_plan_probability_and_labels_use_it(
    session: Session, city: City
) -> None:
    """A visit drawn by both tasks (two items, two tasks): each history row keeps its own
    task's π (the file format's column, in the hash) and records the visit's π under the
    plan beside it (not hashed); the training label of the visit is weighted by the plan's
    π, not by the larger of the rows'."""
    visit_code = city.visits_of("S01", "SAMR-FOOD", "SAMR-INFO")[0]
    visit = session.scalars(select(models.Visit).where(models.Visit.visit_code == visit_code)).one()
    for item in ("SAMR-FOOD", "SAMR-INFO"):
        row = results.submit_result(
            session, inspector_id="S01", visit_code=visit_code, item_code=item,
            result="no_problem", inspected_on=date(2026, 9, 24), today=TODAY, actor="S01",
        )  # fmt: skip
        results.review_result(session, row.id, approve=True, departments=None)
    results.publish_month(session, MONTH, departments=None, today=TODAY)
    plan_value = session.get_one(models.VisitInclusion, (visit.plan_id, visit.credit_code)).pi
    history = list(session.scalars(select(models.Inspection)))
    assert len(history) == 2
    task_pi = sorted(h.inclusion_probability or 0.0 for h in history)
    assert task_pi[0] < task_pi[1]  # the λ 0.1 and 0.2 frames' π
    # the plan's is not the larger row π (here only about 0.001 above it, within its SE)
    assert plan_value != task_pi[1] and plan_value > task_pi[0]
    for h in history:
        assert h.visit_probability == plan_value
        contract = {name: getattr(h, name) for name in FORMATS["inspections"].names}
        assert h.row_hash == event_hash(FORMATS["inspections"], contract)

    data = load_risk_data(session)
    labels = labelled_visits(data.history.inspections, before=np.datetime64("2026-10-01"))
    assert len(labels) == 1 and labels.pi_known.tolist() == [True]
    inspections = data.history.inspections
    assert np.nanmax(inspections.visit_probability) == plan_value
    # the weight is normalised to mean 1; add an imported visit at π 0.5 to compare
    visits = labelled_visits(
        type(inspections)(
            enterprise=np.r_[inspections.enterprise, inspections.enterprise[:1] + 1],
            inspected_on=np.r_[inspections.inspected_on, inspections.inspected_on[:1]],
            result=np.r_[inspections.result, inspections.result[:1]],
            inspector=np.r_[inspections.inspector, -1],
            inclusion_probability=np.r_[inspections.inclusion_probability, 0.5],
            department=np.r_[inspections.department, inspections.department[:1]],
            visit_probability=np.r_[inspections.visit_probability, np.nan],
        ),
        before=np.datetime64("2026-10-01"),
    )
    ratio = visits.weight[0] / visits.weight[1]
    assert ratio == pytest.approx(0.5 / plan_value)


def test_a_plan_drawn_before_pi_was_stored_gives_its_first_history_rows_the_plan_pi(
    session: Session, city: City
) -> None:
    """The first publication of such a plan stores its π before writing the history, so
    those rows carry it too (not only the later batches)."""
    stored = {c: r.pi for c, r in _stored(session).items()}
    session.execute(delete(models.VisitInclusion))  # as if drawn before the column existed
    _publish_some(session, city)
    history = list(session.scalars(select(models.Inspection)))
    assert history and all(h.visit_probability is not None for h in history)
    codes = {h.credit_code for h in history}
    assert {h.credit_code: h.visit_probability for h in history} == {c: stored[c] for c in codes}


def test_the_union_of_frames_sorts_like_the_codes_themselves() -> None:
    """`frame_union` sorts by integer keys of the code's bytes: the same union and positions
    as `np.unique` on the strings, codes differing only in their last characters included."""
    rng = np.random.default_rng(4)
    alphabet = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    pool = ["".join(rng.choice(alphabet, 18)) for _ in range(300)]
    pool += [pool[0][:16] + tail for tail in ("00", "0A", "A0", "YY")]  # same first 16 bytes
    frames = [sorted(set(rng.choice(pool, 120).tolist())) for _ in range(4)]
    union, inverse = plan_pi.frame_union(frames)
    every = np.concatenate([np.array(f, dtype="S18") for f in frames])
    expected, expected_inverse = np.unique(every, return_inverse=True)
    assert union.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.reshape(-1).tolist()
    assert plan_pi.frame_union([])[0].size == 0
