"""Does the risk model generalise? One city per truth family, and one made by someone else.

    .venv/bin/python -m benchmarks.bench_classifier [--scale 20000] [--seeds 1] \
        [--families additive,interactions,drift,sparse,outside] [--threads 1]

For each family, `simulations.city.generate_city(..., family=F)` writes a city (the
"outside" cities are `simulations.outside_city`, another latent model altogether, in its
"hidden" and "visible" variants); the model
is trained on the directory and the history only, scores the active enterprises, and is
then judged against the hidden truth (`simulations.classifier_check`): AUC against realised
outcomes beside the true model's AUC, and the lift of a draw at the default ratios beside
the true model's lift. Small scale (20,000 enterprises, every family, one seed) takes a few
minutes on 2 cores; `--scale city` (270,000) is the larger run. The figures of
docs/risk-model.md ("Generalisation") come from here.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inspect_engine.risk import TrainingConfig
from inspect_engine.risk.tables import EnterpriseTable, HistoryEvents
from simulations.city import entity_count, generate_city
from simulations.classifier_check import AUC_MARGIN, LIFT_SHARE, Judgement, judge
from simulations.experiment_city import load_city
from simulations.families import FAMILIES

OUTSIDE = {"outside": "hidden", "outside-visible": "visible"}
ALL = (*FAMILIES, *OUTSIDE)


@dataclass(frozen=True)
class CityInputs:
    """What a user imports (directory, history, day) and the truth the model never sees."""

    table: EnterpriseTable
    history: HistoryEvents
    as_of: str
    active: np.ndarray
    true_risk: np.ndarray
    true_score: np.ndarray


def city_inputs(family: str, scale: str, seed: int, root: Path) -> CityInputs:
    """A city of the family (or an outside city), written under `root` where it is a file."""
    if family in OUTSIDE:
        from simulations.outside_city import make_outside_city

        made = make_outside_city(entity_count(scale), seed, OUTSIDE[family])
        return CityInputs(
            made.table, made.history, str(made.as_of), made.active, made.true_risk,
            made.true_score,
        )  # fmt: skip
    out = root / f"{family}-{scale}-{seed}"
    generate_city(scale, seed, out, family=family)
    city = load_city(out)
    t = city.truth
    at = t.index_of(city.codes.tolist())
    p = t.problem_prob[at]
    true_risk = np.where(t.shell[at], 1.0, np.where(t.dormant[at], 0.0, p))
    observable = city.static_logit - city.latent  # truth.csv's observable_logit
    return CityInputs(
        city.table, city.history, str(city.as_of), city.active & t.active[at], true_risk,
        observable,
    )  # fmt: skip


def judged(family: str, scale: str, seed: int, root: Path, config: TrainingConfig) -> Judgement:
    c = city_inputs(family, scale, seed, root)
    return judge(
        family, c.table, c.history, c.as_of, c.active, c.true_risk, c.true_score, seed=seed,
        config=config,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> list[Judgement]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", default="20000", help="small | city | a number of entities")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds")
    parser.add_argument("--families", default=",".join(ALL))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(ALL))
    if unknown:
        parser.error(f"unknown families {unknown}: choose from {', '.join(ALL)}")
    config = TrainingConfig(threads=args.threads)
    results: list[Judgement] = []
    print(
        f"{'city':<16}{'seed':>5}{'visits':>8} {'chosen':<10}{'AUC':>7}{'truth':>7}{'oracle':>7}"
        f"{'lift':>7}{'truth':>7}{'oracle':>7}{'share':>7}  met(AUC, lift)  no-ovr   ovr"
        "  seconds"
    )
    with tempfile.TemporaryDirectory(prefix="bench-classifier-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for family in families:
                j = judged(family, args.scale, seed, Path(tmp), config)
                results.append(j)
                print(
                    f"{j.city:<16}{seed:>5}{j.visits:>8} {j.chosen:<10}{j.auc_model:>7.3f}"
                    f"{j.auc_truth:>7.3f}{j.auc_oracle:>7.3f}{j.lift_model:>7.2f}"
                    f"{j.lift_truth:>7.2f}{j.lift_oracle:>7.2f}"
                    f"{j.lift_share:>7.0%}  {_met(j)}{j.lift_model_classes:>6.2f}"
                    f" {j.overridden:>5.0%}  {j.seconds:.0f}",
                    flush=True,
                )
    print(f"targets: AUC ≥ truth − {AUC_MARGIN}; lift ≥ {LIFT_SHARE:.0%} of the truth's;"
          " outside city: AUC ≥ 0.70 and lift ≥ 2.0")  # fmt: skip
    if args.json:
        rows = [{**j.__dict__, "auc_met": j.auc_met, "lift_met": j.lift_met} for j in results]
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return results


def _met(j: Judgement) -> str:
    marks = [j.auc_met, j.lift_met]
    if j.city in OUTSIDE:
        marks = [j.auc_met and j.auc_model >= 0.70, j.lift_met and j.lift_model >= 2.0]
    return f"{'yes' if marks[0] else 'NO ':<5}{'yes' if marks[1] else 'NO ':<10}"


if __name__ == "__main__":
    main()
