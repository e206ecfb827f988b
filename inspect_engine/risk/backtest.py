"""Time-split backtest: model choice, metrics and a Markdown + PNG report.

Candidates are fitted on the visits before a split day and judged on the visits on or after
it, each visit's features as of its own day (exactly what monthly scoring does). The model
kind is chosen by the test metric, never by the fit on the training visits; both are kept
in the result so the difference can be seen. All metrics are weighted by 1/π so that they
describe the population, not the sample of inspected enterprises.

The test period also calibrates: a candidate's core fitted before the split day scores the
later visits, its calibrator is fitted on those scores, and the test figures use
calibrators cross-fitted by enterprise (a visit is never judged by a calibrator that saw
it). The pipeline then refits the winner's core on all visits and keeps this calibrator,
so every core is fitted once. Candidates fit on one capped sample of the training visits
(`labels.capped_sample`), and a fitted scorecard is shared with the GBM's explanation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import log_loss, roc_auc_score

from inspect_engine.risk.classes import CLASS_LETTERS, PUBLISHED_SHARES, classes_by_share
from inspect_engine.risk.features import FeatureMatrix
from inspect_engine.risk.inspectors import InspectorDetection
from inspect_engine.risk.labels import LabelledVisits, capped_sample
from inspect_engine.risk.models import HeldOutCalibrated, RiskModel

SelectionMetric = Literal["log_loss", "brier", "auc"]
_LOWER_IS_BETTER = {"log_loss": True, "brier": True, "auc": False}
# Independent random streams of one training run, derived from its random_state.
_BACKTEST_SAMPLE, FINAL_SAMPLE = 1, 2


@dataclass(frozen=True)
class Metrics:
    """Weighted quality figures of predicted probabilities against observed visits."""

    n: int
    base_rate: float  # weighted share of visits that found a problem
    auc: float
    brier: float
    log_loss: float
    budget: float
    share_found: float  # share of (weighted) problems among the riskiest `budget` share
    lift: float  # share_found / share inspected; uniform random sampling has lift 1
    decile_predicted: NDArray[np.float64]
    decile_observed: NDArray[np.float64]
    decile_n: NDArray[np.int64]
    decile_n_eff: NDArray[np.float64]
    class_share: NDArray[np.float64]  # A..D, weighted
    class_observed: NDArray[np.float64]
    class_n: NDArray[np.int64]
    gains_x: NDArray[np.float64]  # cumulative share inspected (riskiest first)
    gains_y: NDArray[np.float64]  # cumulative share of problems found

    def value(self, metric: SelectionMetric) -> float:
        return float(getattr(self, metric))

    def summary(self) -> dict[str, float]:
        keys = ("n", "base_rate", "auc", "brier", "log_loss", "budget", "share_found", "lift")
        return {k: float(getattr(self, k)) for k in keys}


def _weighted_mean(x: NDArray[np.float64], w: NDArray[np.float64]) -> float:
    return float((x * w).sum() / w.sum()) if w.sum() > 0 else float("nan")


def evaluate(
    probability: NDArray[np.floating],
    problem: NDArray[np.bool_],
    weight: NDArray[np.floating] | None = None,
    budget: float = 0.05,
    shares: tuple[float, float, float, float] = PUBLISHED_SHARES,
    n_bins: int = 10,
    rank_score: NDArray[np.floating] | None = None,
) -> Metrics:
    """Metrics of probabilities against outcomes, each visit weighted (1/π).

    `rank_score` (default: the probability) orders the visits for AUC, gains, lift, deciles
    and classes. Pass the core's raw score when the probabilities come from calibrators
    cross-fitted by fold: scoring ranks by one calibrator, monotone in the raw score (ties
    broken by it), so the raw score is the ranking a deployed model makes."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(problem, dtype=bool)
    w = np.ones(len(p)) if weight is None else np.asarray(weight, dtype=np.float64)
    rank = p if rank_score is None else np.asarray(rank_score, dtype=np.float64)
    yf = y.astype(np.float64)
    both = bool(y.any() and not y.all())
    auc = float(roc_auc_score(y, rank, sample_weight=w)) if both else float("nan")
    loss = float(log_loss(y, p, sample_weight=w, labels=[False, True]))

    order = np.argsort(-rank, kind="stable")
    cum_w = np.cumsum(w[order]) / w.sum()
    cum_found = np.cumsum((w * yf)[order]) / max((w * yf).sum(), 1e-300)
    chosen = (cum_w - w[order] / w.sum()) < budget  # rows ranked within the budget
    inspected = float(cum_w[chosen][-1]) if chosen.any() else 0.0
    found = float(cum_found[chosen][-1]) if chosen.any() else 0.0

    # Deciles of the (weighted) population by predicted probability.
    ascending = order[::-1]
    before = np.cumsum(w[ascending]) - w[ascending]
    bin_of = np.minimum((before / w.sum() * n_bins).astype(np.int64), n_bins - 1)
    bins = np.empty(len(p), dtype=np.int64)
    bins[ascending] = bin_of
    sw = np.bincount(bins, w, n_bins)
    sw2 = np.bincount(bins, w * w, n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        dec_pred = np.bincount(bins, w * p, n_bins) / sw
        dec_obs = np.bincount(bins, w * yf, n_bins) / sw
        n_eff = sw**2 / sw2

    classes, _ = classes_by_share(rank, shares, weight=w)
    cw = np.bincount(classes, w, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        class_obs = np.bincount(classes, w * yf, 4) / cw
    step = max(1, len(p) // 400)
    return Metrics(
        n=len(p),
        base_rate=_weighted_mean(yf, w),
        auc=auc,
        brier=_weighted_mean((p - yf) ** 2, w),
        log_loss=loss,
        budget=budget,
        share_found=found,
        lift=found / inspected if inspected > 0 else float("nan"),
        decile_predicted=dec_pred,
        decile_observed=dec_obs,
        decile_n=np.bincount(bins, minlength=n_bins),
        decile_n_eff=n_eff,
        class_share=cw / w.sum(),
        class_observed=class_obs,
        class_n=np.bincount(classes, minlength=4),
        gains_x=np.r_[0.0, cum_w[::step], 1.0],
        gains_y=np.r_[0.0, cum_found[::step], 1.0],
    )


@dataclass(frozen=True)
class CandidateResult:
    kind: str
    train: Metrics  # in-sample: shown for contrast, never used to choose
    test: Metrics


@dataclass(frozen=True)
class Backtest:
    split_day: np.datetime64
    n_train: int
    n_test: int
    metric: SelectionMetric
    candidates: dict[str, CandidateResult]
    chosen: str
    n_fit: int = 0  # training visits in the capped sample the candidates fitted on
    models: dict[str, RiskModel] = field(default_factory=dict, repr=False, compare=False)

    def metadata(self) -> dict[str, Any]:
        """JSON-able summary for the model artefact."""
        return {
            "split_day": str(self.split_day),
            "n_train": self.n_train,
            "n_fit": self.n_fit,
            "n_test": self.n_test,
            "metric": self.metric,
            "chosen": self.chosen,
            "candidates": {
                k: {"train": _clean(c.train.summary()), "test": _clean(c.test.summary())}
                for k, c in self.candidates.items()
            },
        }


def _clean(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else round(v, 6)) for k, v in d.items()}


def split_day(days: NDArray[np.datetime64], test_fraction: float) -> np.datetime64:
    """First day of the test period: about `test_fraction` of the visits are on or after it."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError("test_fraction must lie strictly between 0 and 1")
    numbers = np.sort(days.astype(np.int64))
    cut = numbers[min(int(len(numbers) * (1.0 - test_fraction)), len(numbers) - 1)]
    return np.datetime64(int(cut), "D")


def choose_model(
    X: FeatureMatrix,
    labels: LabelledVisits,
    candidates: Mapping[str, Callable[[], RiskModel]],
    test_fraction: float = 0.25,
    metric: SelectionMetric = "log_loss",
    budget: float = 0.05,
    max_fit_visits: int | None = None,
    random_state: int = 0,
) -> Backtest:
    """Fit every candidate before the split day, judge it after; the best test metric wins.

    Candidates that calibrate in two steps (`HeldOutCalibrated`) are calibrated on the test
    period (see the module docstring); others calibrate themselves in `fit`. In-sample
    figures are on the fitted sample, with its weights."""
    day = split_day(labels.day, test_fraction)
    train = np.flatnonzero(labels.day < day)
    test = np.flatnonzero(labels.day >= day)
    if len(train) == 0 or len(test) == 0:
        raise ValueError("the history is too short for a time-split backtest")
    found = labels.problem[test]
    if found.all() or not found.any():
        raise ValueError(
            f"the test period (visits from {day}) needs visits with and without problems "
            "to calibrate and judge the models; more history is needed"
        )
    rng = np.random.default_rng(np.random.SeedSequence([random_state, _BACKTEST_SAMPLE]))
    rows, fit_weight = capped_sample(
        labels.problem[train], labels.weight[train], max_fit_visits, rng
    )
    fit = train[rows]
    fit_labels, test_labels = labels.subset(fit), labels.subset(test)
    X_fit, X_test = X.take(fit), X.take(test)
    results: dict[str, CandidateResult] = {}
    models: dict[str, RiskModel] = {}
    scorecard = None  # fitted once on the sample, shared by the candidates that use one
    for kind, make in candidates.items():
        model = make()
        if isinstance(model, HeldOutCalibrated):
            model.fit_core(
                X_fit, fit_labels.problem, fit_weight, fit_labels.teams, scorecard=scorecard
            )
            scorecard = getattr(model, "scorecard_", scorecard)
            rank_test = model.raw_score(X_test)
            p_test = model.calibrate(
                rank_test, test_labels.problem, test_labels.weight, test_labels.enterprise
            )
        else:
            model.fit(X_fit, fit_labels.problem, fit_weight, fit_labels.teams)
            p_test = model.predict_proba(X_test)[:, 1]
            rank_test = p_test
        raw_fit = model.raw_score(X_fit)
        results[kind] = CandidateResult(
            kind,
            evaluate(
                model.probability_from_score(raw_fit),
                fit_labels.problem,
                fit_weight,
                budget,
                rank_score=raw_fit,
            ),
            evaluate(p_test, test_labels.problem, test_labels.weight, budget, rank_score=rank_test),
        )
        models[kind] = model
    sign = 1.0 if _LOWER_IS_BETTER[metric] else -1.0
    chosen = min(results, key=lambda k: sign * _finite(results[k].test.value(metric)))
    return Backtest(day, len(train), len(test), metric, results, chosen, len(fit), models)


def _finite(x: float) -> float:
    return x if math.isfinite(x) else float("inf")


# --- the report -----------------------------------------------------------------------------


def _fmt(x: float, digits: int = 4) -> str:
    return "—" if not math.isfinite(x) else f"{x:.{digits}f}"


def write_backtest_report(
    backtest: Backtest,
    out_dir: Path | str,
    inspectors: InspectorDetection | None = None,
    title: str = "Risk model backtest",
    notes: Sequence[str] = (),
) -> Path:
    """Markdown report with calibration, gains and (optionally) inspector funnel charts;
    `notes` (e.g. the features training dropped) come first, under their own heading."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _plot_calibration(backtest, out / "calibration.png")
    _plot_gains(backtest, out / "gains.png")
    lines = [
        f"# {title}",
        "",
        f"Time split at {backtest.split_day}: {backtest.n_train} visits before it train"
        f"{_sample_note(backtest)}, {backtest.n_test} visits on or after it calibrate and "
        f"test (test figures from calibrators cross-fitted by enterprise). Chosen by test "
        f"{backtest.metric}: **{backtest.chosen}**. Figures are weighted by 1/π.",
        "",
        *(["## Notes", "", *(f"- {note}" for note in notes), ""] if notes else []),
        "| model | data | AUC | Brier | log loss | base rate | problems found at "
        f"{backtest.candidates[backtest.chosen].test.budget:.0%} | lift vs random |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, c in backtest.candidates.items():
        for name, m in (("test", c.test), ("train (in-sample)", c.train)):
            lines.append(
                f"| {kind} | {name} | {_fmt(m.auc)} | {_fmt(m.brier)} | {_fmt(m.log_loss)} | "
                f"{_fmt(m.base_rate)} | {_fmt(m.share_found, 3)} | {_fmt(m.lift, 2)} |"
            )
    best = backtest.candidates[backtest.chosen].test
    lines += [
        "",
        f"## Calibration of {backtest.chosen} on the test visits (deciles of predicted risk)",
        "",
        "| decile | visits | mean predicted | observed | ±2 s.e. |",
        "|---|---|---|---|---|",
    ]
    for i in range(len(best.decile_n)):
        pred, n_eff = best.decile_predicted[i], best.decile_n_eff[i]
        se = math.sqrt(pred * (1 - pred) / n_eff) if n_eff > 0 and math.isfinite(pred) else math.nan
        lines.append(
            f"| {i + 1} | {best.decile_n[i]} | {_fmt(pred)} | {_fmt(best.decile_observed[i])} | "
            f"{_fmt(2 * se)} |"
        )
    lines += [
        "",
        "## Observed problem rate per class (test visits, classes by the target shares)",
        "",
        "| class | share | visits | observed problem rate |",
        "|---|---|---|---|",
    ]
    for k, letter in enumerate(CLASS_LETTERS):
        lines.append(
            f"| {letter} | {_fmt(best.class_share[k], 3)} | {best.class_n[k]} | "
            f"{_fmt(best.class_observed[k])} |"
        )
    lines += ["", "![calibration](calibration.png)", "", "![gains](gains.png)", ""]
    if inspectors is not None:
        _plot_funnel(inspectors, out / "inspectors.png")
        high, low = int((inspectors.flag > 0).sum()), int((inspectors.flag < 0).sum())
        lines += [
            "## Inspectors: problems recorded against expectation",
            "",
            f"{len(inspectors.inspector)} inspectors; outside the ±{inspectors.z_limit:g} z "
            f"funnel: {high} above, {low} below.",
            "",
            "![inspectors](inspectors.png)",
            "",
        ]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _sample_note(backtest: Backtest) -> str:
    if 0 < backtest.n_fit < backtest.n_train:
        return f" (the models fit on a weighted sample of {backtest.n_fit})"
    return ""


def _figure() -> Any:
    from matplotlib.figure import Figure  # object API: no pyplot global state

    return Figure(figsize=(6, 4.5), dpi=100)


def _plot_calibration(backtest: Backtest, path: Path) -> None:
    fig = _figure()
    ax = fig.subplots()
    top = 0.0
    for kind, c in backtest.candidates.items():
        m = c.test
        se = np.sqrt(m.decile_predicted * (1 - m.decile_predicted) / m.decile_n_eff)
        ax.errorbar(
            m.decile_predicted, m.decile_observed, yerr=2 * se, marker="o", capsize=3, label=kind
        )
        top = max(top, float(np.nanmax(m.decile_predicted)), float(np.nanmax(m.decile_observed)))
    ax.plot([0, top], [0, top], color="grey", linestyle="--", label="perfect")
    ax.set_xlabel("mean predicted probability (decile)")
    ax.set_ylabel("observed problem rate (weighted)")
    ax.set_title("Calibration on the test period")
    ax.legend()
    fig.savefig(path)


def _plot_gains(backtest: Backtest, path: Path) -> None:
    fig = _figure()
    ax = fig.subplots()
    for kind, c in backtest.candidates.items():
        ax.plot(c.test.gains_x, c.test.gains_y, label=f"{kind} (AUC {c.test.auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="uniform random")
    budget = backtest.candidates[backtest.chosen].test.budget
    ax.axvline(budget, color="red", linestyle=":", label=f"budget {budget:.0%}")
    ax.set_xlabel("share of enterprises inspected (riskiest first)")
    ax.set_ylabel("share of problems found")
    ax.set_title("Gains on the test period")
    ax.legend()
    fig.savefig(path)


def _plot_funnel(report: InspectorDetection, path: Path) -> None:
    fig = _figure()
    ax = fig.subplots()
    e = np.maximum(report.expected, 1e-9)
    ax.scatter(e, report.ratio, s=8, c=np.where(report.flag != 0, "red", "steelblue"))
    grid = np.linspace(max(float(e.min()), 0.5), float(e.max()) + 1, 200)
    # Funnel limits for O/E at the given z: Var(O) = Σ p(1-p) ≈ E (1 - p̄).
    p_bar = float(report.expected.sum() / max(report.visits.sum(), 1))
    for sign in (1, -1):
        limit = 1 + sign * report.z_limit * np.sqrt((1 - p_bar) / grid)
        ax.plot(grid, limit, color="grey", linestyle="--")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("expected problems (Σ predicted probability)")
    ax.set_ylabel("observed / expected")
    ax.set_title("Inspector detection funnel")
    fig.savefig(path)
