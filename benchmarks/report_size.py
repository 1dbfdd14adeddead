"""The static HTML report (`crmsync plan --format html`): its size and the time to write it, with and
without `--requests`, and the peak memory of a dry-run with and without writing it.

    python benchmarks/report_size.py [--totals 5000,100000] [--memory-total 100000] [--no-browser]

For each total: `engine.exampledata.generate(total, seed)`, an offline plan of it (no CRM: every
record a first sync would create, besides the data's invalid and skipped ones: the largest report,
every field old -> new), then the page written to a file: its size and the seconds to write it.
With Chromium installed (/usr/bin/chromium), also the seconds until the page, opened from the file,
shows its first rows.

Memory: at --memory-total records, each in a fresh process: the dry-run alone, then the dry-run and
the report written (without and with --requests), and for comparison the report made as one string
before it is written. For each, the process's peak resident set size (getrusage) and how far the
resident set rose, while the page was made, above what it was before (the plan's): the page is
written as it is made, so that rise stays a few MB whatever the total; as one string it is a copy
of the page and more.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.dryrun import dry_run  # noqa: E402
from engine.exampledata import generate  # noqa: E402
from engine.htmlreport import write_html  # noqa: E402
from engine.plan import Plan  # noqa: E402

PROFILE = ROOT / "profiles" / "hubspot-benefitflow.yaml"
CHROMIUM = Path("/usr/bin/chromium")
MB = 1_000_000


def plan_of(source: Path, state: Path) -> Plan:
    return dry_run(PROFILE, source, state_dir=state)


def written(plan: Plan, out: Path, requests: bool) -> float:
    started = time.perf_counter()
    with out.open("w", encoding="utf-8") as page:
        write_html(plan, page, requests=requests)
    return time.perf_counter() - started


def seconds_to_open(page: Path) -> float | None:
    """Seconds from asking Chromium to open the file to its first rows shown; None without Chromium."""
    if not CHROMIUM.exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page()
        tab.goto("about:blank")
        started = time.perf_counter()
        tab.goto(page.as_uri(), timeout=120_000)
        tab.wait_for_selector("#rows tr", timeout=120_000)
        seconds = time.perf_counter() - started
        browser.close()
    return seconds


def report_sizes(total: int, work: Path, seed: int, browser: bool) -> None:
    source = work / f"data-{total}"
    generate(source, total, seed)
    started = time.perf_counter()
    plan = plan_of(source, work / f"state-{total}")
    planning = time.perf_counter() - started
    statuses = {k: v for k, v in plan.summary().items() if v}
    print(f"{total:,} records (plan {planning:.1f} s; {statuses})")
    for requests in (False, True):
        out = work / f"report-{total}-{requests}.html"
        seconds = written(plan, out, requests)
        flag = "with --requests   " if requests else "without --requests"
        line = f"  {flag}: {out.stat().st_size / MB:6.2f} MB, written in {seconds:.2f} s"
        if browser and not requests and (opened := seconds_to_open(out)) is not None:
            line += f"; Chromium shows the first rows {opened:.2f} s after opening the file"
        print(line)


def status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise LookupError(key)


def child(source: Path, state: Path, out: Path | None, mode: str) -> None:
    """One measured process: the plan, then the page as asked; prints as JSON the process's peak RSS
    and how far above the RSS before the page its peak rose while the page was made (Linux: the
    high-water mark is reset first through /proc/self/clear_refs)."""
    plan = plan_of(source, state)
    Path("/proc/self/clear_refs").write_text("5")
    before = status_kib("VmRSS")
    if mode == "string":  # the whole page as one string first: what writing it as it is made avoids
        from engine.htmlreport import html_report

        text = "".join(html_report(plan))
        out.write_text(text, encoding="utf-8")  # type: ignore[union-attr]
        del text
    elif out is not None:
        written(plan, out, mode == "requests")
    print(json.dumps({"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "rise": (status_kib("VmHWM") - before) * 1024, "records": len(plan.records)}))


def measured(source: Path, work: Path, mode: str) -> dict[str, int]:
    args = [sys.executable, __file__, "--child", str(source), "--state", str(work / f"state-{mode}"),
            "--mode", mode]
    if mode != "plan":
        args += ["--out", str(work / f"memory-{mode}.html")]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


MODES = (("plan", "dry-run alone"), ("html", "dry-run + report"),
         ("requests", "dry-run + report with --requests"),
         ("string", "dry-run + report made as one string (for comparison)"))


def report_memory(total: int, work: Path, seed: int) -> None:
    source = work / f"data-{total}"
    if not source.exists():
        generate(source, total, seed)
    print(f"memory at {total:,} records, each in a fresh process: peak RSS; rise above the RSS "
          f"before the page while it is made")
    for mode, what in MODES:
        got = measured(source, work, mode)
        rise = f"; rise {got['rise'] / 2**20:+.1f} MiB" if mode != "plan" else ""
        print(f"  {what + ':':55} peak {got['peak'] / 2**20:7.1f} MiB{rise}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--totals", default="5000,100000")
    parser.add_argument("--memory-total", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-browser", action="store_true", help="do not time opening the page in Chromium")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--state", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="plan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.state, args.out, args.mode)
        return
    work = Path(tempfile.mkdtemp(prefix="crmsync-report-size-"))
    try:
        for total in (int(t) for t in args.totals.split(",")):
            report_sizes(total, work, args.seed, not args.no_browser)
        if args.memory_total:
            report_memory(args.memory_total, work, args.seed)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
