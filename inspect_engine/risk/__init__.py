"""Credit-risk classification kernel (企业信用风险分类 A/B/C/D). Pure: numpy + scikit-learn.

Entry points for the use-case layer:
- tables: `EnterpriseTable`, `HistoryEvents` (and its event tables) — the inputs;
- `train_risk_model(...) -> TrainingResult` (artefact, backtest, inspector report);
- `RiskModelArtifact.to_bytes() / from_bytes()` and its JSON-able `metadata`;
- `score_enterprises(...) -> RiskScores` (probability, class, override, reasons);
- `write_backtest_report(...)` for the Markdown + PNG report.
See docs/risk-model.md.
"""

from inspect_engine.risk.backtest import Backtest, Metrics, evaluate, write_backtest_report
from inspect_engine.risk.classes import (
    DEFAULT_LIST_RULES,
    DEFAULT_OVERRIDES,
    PUBLISHED_SHARES,
    ClassAssignment,
    ClassPolicy,
    OverrideRule,
    RiskClass,
    assign_classes,
    list_rules,
)
from inspect_engine.risk.features import FeatureConfig, FeatureMatrix, FeatureSpec, build_features
from inspect_engine.risk.inspectors import InspectorDetection, inspector_detection
from inspect_engine.risk.labels import LabelledVisits, Teams, labelled_visits
from inspect_engine.risk.models import CalibratedRiskModel, Contributions, RiskModel
from inspect_engine.risk.pipeline import (
    RiskModelArtifact,
    RiskScores,
    TrainingConfig,
    TrainingResult,
    score_enterprises,
    train_risk_model,
)
from inspect_engine.risk.reasons import Reasons
from inspect_engine.risk.tables import (
    AnnualReports,
    Complaints,
    EnterpriseTable,
    HistoryEvents,
    Inspections,
    ListEntries,
    Penalties,
)

__all__ = [
    "DEFAULT_LIST_RULES",
    "DEFAULT_OVERRIDES",
    "PUBLISHED_SHARES",
    "AnnualReports",
    "Backtest",
    "CalibratedRiskModel",
    "ClassAssignment",
    "ClassPolicy",
    "Complaints",
    "Contributions",
    "EnterpriseTable",
    "FeatureConfig",
    "FeatureMatrix",
    "FeatureSpec",
    "HistoryEvents",
    "Inspections",
    "InspectorDetection",
    "LabelledVisits",
    "ListEntries",
    "Metrics",
    "OverrideRule",
    "Penalties",
    "Reasons",
    "RiskClass",
    "RiskModel",
    "RiskModelArtifact",
    "RiskScores",
    "Teams",
    "TrainingConfig",
    "TrainingResult",
    "assign_classes",
    "build_features",
    "evaluate",
    "inspector_detection",
    "labelled_visits",
    "list_rules",
    "score_enterprises",
    "train_risk_model",
    "write_backtest_report",
]
