"""`cadl`: the front door for technicians and scripts, a thin layer over the pipeline and DAGs.

Results go to stdout (text, or JSON with --json); logs and progress go to stderr.
Exit codes: 0 success, 1 invalid batch or failed items, 2 usage error, other codes per
cadl.errors.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from cadl.errors import PipelineError, UsageError


def _cmd_sample(args) -> int:
    from ingest.sample import write_sample

    try:
        batch_dir, truth_dir = write_sample(Path(args.out_dir), args.batch_id)
    except FileExistsError as exc:
        raise UsageError(f"{exc}: remove it or pick another --batch-id") from None
    print(f"sample batch:  {batch_dir}\nground truth:  {truth_dir}")
    return 0


def _cmd_validate(args) -> int:
    from ingest.validate import validate_batch

    batch_dir = Path(args.batch_dir)
    if not batch_dir.is_dir():
        raise UsageError(f"{batch_dir} is not a folder")
    report = validate_batch(batch_dir)
    if args.json:
        data = report.model_dump(mode="json", exclude={"batch"})
        data["is_valid"] = report.is_valid
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for p in report.problems:
            where = p.file or "(batch)"
            if p.row:
                where += f" line {p.row}"
            print(f"{p.severity.upper():8} {where}: {p.message}")
        n = len(report.errors)
        items = len(report.batch.items) if report.batch else 0
        print(f"{batch_dir.name}: {'valid' if report.is_valid else f'{n} error(s)'}, "
              f"{items} item(s)")
    return 0 if report.is_valid else 1


def _cmd_run(args) -> int:
    from cadl.airflow_env import dags_test
    from cadl.settings import get_settings

    batch_dir = Path(args.batch_dir).absolute()
    if not batch_dir.is_dir():
        raise UsageError(f"{batch_dir} is not a folder")
    report_path = Path(get_settings().reports_dir) / batch_dir.name / "report.json"
    before = report_path.stat().st_mtime_ns if report_path.exists() else None
    code = dags_test("ingest_batch", {"batch_dir": str(batch_dir)})
    if not report_path.exists() or report_path.stat().st_mtime_ns == before:
        print(f"ingest_batch failed before writing a report (exit {code}); see the log above",
              file=sys.stderr)
        return code or 1
    report = json.loads(report_path.read_text("utf-8"))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(Path(report["report_text"]).read_text("utf-8"), end="")
        print(f"Report:    {report['report_json']}")
    s = report["summary"]
    return 1 if code or s["failed"] or s["invalid"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cadl", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write the generated sample batch and its ground truth")
    p.add_argument("out_dir", help="folder to write <batch_id>/ and <batch_id>.ground-truth/ in")
    p.add_argument("--batch-id", default="sample-batch-001")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("validate", help="check a batch against the landing-zone contract")
    p.add_argument("batch_dir")
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="run ingest_batch on a batch through Airflow")
    p.add_argument("batch_dir")
    p.add_argument("--json", action="store_true", help="print the batch report as JSON")
    p.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except PipelineError as exc:
        print(f"cadl: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
