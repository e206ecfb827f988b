"""What the list rules (INSPECT_LIST_RULES) do to the draw: one model, several rule sets.

    .venv/bin/python -m benchmarks.bench_list_rules [--families additive,outside-visible] \
        [--seeds 1] [--scale 20000] [--threads 2]

For each city (`benchmarks.bench_classifier.city_inputs`) the model is trained once, then
the active enterprises are classed under each rule set and the draw at the default ratios is
judged against the hidden truth (`simulations.classifier_check.draw_lift`): how many
enterprises a rule raised, the share of C and D, and the lift. The table of
docs/risk-model.md ("Classes and overrides") comes from here.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.bench_classifier import ALL, city_inputs
from inspect_engine.risk import TrainingConfig, score_enterprises, train_risk_model
from inspect_engine.risk.classes import DEFAULT_LIST_RULES, ClassPolicy, list_rules
from simulations.classifier_check import draw_lift

RULE_SETS: tuple[tuple[str, ...], ...] = (
    ("serious_violation:D", "abnormal:C"),  # the default until the sixth session
    ("serious_violation:D", "abnormal:B"),
    DEFAULT_LIST_RULES,
    (),
)


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", default="20000", help="small | city | a number of entities")
    parser.add_argument("--seeds", default="1", help="comma-separated seeds")
    parser.add_argument("--families", default="additive,outside-visible")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    unknown = sorted(set(families) - set(ALL))
    if unknown:
        parser.error(f"unknown families {unknown}: choose from {', '.join(ALL)}")
    rows: list[dict[str, object]] = []
    print(f"{'city':<16}{'seed':>5}  {'rules':<40}{'raised':>8}{'C+D':>8}{'lift':>7}")
    with tempfile.TemporaryDirectory(prefix="bench-list-rules-") as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for family in families:
                city = city_inputs(family, args.scale, seed, Path(tmp))
                trained = train_risk_model(
                    city.table, city.history, city.as_of,
                    TrainingConfig(threads=args.threads), random_state=seed,
                )  # fmt: skip
                active = np.flatnonzero(city.active)
                truth = np.asarray(city.true_risk, dtype=np.float64)[active]
                for rules in RULE_SETS:
                    scores = score_enterprises(
                        trained.artifact, city.table, city.history, city.as_of,
                        policy=ClassPolicy(overrides=list_rules(rules)), rows=active,
                    )  # fmt: skip
                    row = {
                        "city": family,
                        "seed": seed,
                        "rules": ",".join(rules) or "none",
                        "raised": float((scores.classes.override >= 0).mean()),
                        "c_or_d": float((scores.risk_class >= 2).mean()),
                        "lift": draw_lift(scores.risk_class, truth),
                    }
                    rows.append(row)
                    print(
                        f"{family:<16}{seed:>5}  {row['rules']:<40}{row['raised']:>8.1%}"
                        f"{row['c_or_d']:>8.1%}{row['lift']:>7.2f}",
                        flush=True,
                    )
    return rows


if __name__ == "__main__":
    main()
