"""inspect-engine: risk-based 双随机、一公开 inspection scheduling."""

import os

# The gradient-boosting model's OpenMP threads spin while they wait, by default. On a shared
# two-core machine the spinning takes the CPU the working thread needs: training the city's
# model took 21.8 s spinning and 10.8 s passive at load 4 (benchmarks/bench_training.py).
# It must be set before an OpenMP runtime is loaded; an explicit setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
