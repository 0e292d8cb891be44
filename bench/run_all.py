"""`make bench`: every benchmark in turn, each writing bench/results/<name>.json."""

import subprocess
import sys

BENCHMARKS = ["bench.import_customers", "bench.proxy_get", "bench.survey_responses", "bench.kpi_queries"]

if __name__ == "__main__":
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        subprocess.run([sys.executable, "-m", module], check=True)
