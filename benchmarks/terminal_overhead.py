"""What the terminal costs a push: the progress bookkeeping per answered record with the bars drawn (a
terminal) and without (a pipe), and the summary of a run with many failures (grouping them by cause).
Prints microseconds per record for each; the push itself is not run, only what the terminal adds to it.

    python benchmarks/terminal_overhead.py [--records 100000] [--failed-share 0.1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.plan import PlannedRecord  # noqa: E402
from engine.progress import PushProgress  # noqa: E402
from engine.push import Outcome, PushResult  # noqa: E402
from engine.summary import print_push_summary  # noqa: E402

STREAMS = ("employer", "broker", "employer_contact")


def outcomes(total: int, failed_share: float) -> list[Outcome]:
    every = max(int(1 / failed_share), 1) if failed_share else total + 1
    made = []
    for n in range(total):
        record = PlannedRecord(STREAMS[n % 3], f"id-{n}", "companies", "net_new", "bench",
                               values={"name": f"Company {n}", "benefitflow_profile_url": f"x{n}"})
        if n % every == 0:
            made.append(Outcome(record, "insert", "error", None, "VALIDATION_ERROR",
                                f"benefitflow_profile_url: 'x{n}' is not a valid URL"))
        else:
            made.append(Outcome(record, "insert", "success", str(n)))
    return made


def progress_cost(answers: list[Outcome], terminal: bool) -> float:
    with open("/dev/null", "w") as devnull:
        console = Console(file=devnull, force_terminal=terminal, width=80)
        progress = PushProgress(console, enabled=True)
        for stream in STREAMS:
            progress.start(stream, [o.record for o in answers if o.record.stream == stream])
        began = time.perf_counter()
        for outcome in answers:
            progress.answered(outcome)
        progress.stop()
        return time.perf_counter() - began


def summary_cost(answers: list[Outcome]) -> float:
    with open("/dev/null", "w") as devnull:
        began = time.perf_counter()
        print_push_summary(PushResult("bench", answers), Console(file=devnull, width=80))
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--failed-share", type=float, default=0.1)
    args = parser.parse_args()
    answers = outcomes(args.records, args.failed_share)
    per = 1e6 / args.records
    print(f"{args.records:,} records, {args.failed_share:.0%} failed")
    print(f"progress, drawn on a terminal: {progress_cost(answers, True) * per:.2f} µs a record")
    print(f"progress, off a terminal:      {progress_cost(answers, False) * per:.2f} µs a record")
    print(f"summary by cause:              {summary_cost(answers) * per:.2f} µs a record")


if __name__ == "__main__":
    main()
