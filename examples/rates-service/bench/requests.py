"""Writes bench/requests.json, the request file of the agent's workload: the benchmark's seeded mix
of conversions, as the sandbox's judge sends them (method and path), long enough that a measured
run does not repeat it.

    python3 -m bench.requests
"""

import json
from pathlib import Path

from bench.workload import Workload

SEED = 20_240_601
COUNT = 600


def main() -> None:
    workload = Workload(SEED)
    requests = [{"method": "GET", "path": workload.next_path()} for _ in range(COUNT)]
    target = Path(__file__).with_name("requests.json")
    target.write_text(json.dumps(requests) + "\n")
    print(f"wrote {len(requests)} requests to {target}")


if __name__ == "__main__":
    main()
