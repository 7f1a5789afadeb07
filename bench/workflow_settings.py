"""Settings of the approval benchmarks' server: the benchmark settings plus the bare
insert-one-row view of ``bench/workflow_urls.py``."""

from bench.settings_bench import *  # noqa: F403

ROOT_URLCONF = "bench.workflow_urls"
