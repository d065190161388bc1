"""`cadl`: the front door for technicians and scripts, a thin layer over the pipeline and DAGs.

Results go to stdout (text, or JSON with --json); logs and progress go to stderr.
Exit codes: 0 success, 1 invalid batch or failed items, 2 usage error, other codes per
kernel.errors.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from kernel.errors import PipelineError, UsageError, redact
from kernel.text import terminal_json, terminal_safe


class _SafeLogText(logging.Filter):
    """Every log line on the technician's terminal: URL passwords masked, escapes shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = terminal_safe(redact(record.getMessage()))
        record.args = None
        return True


def _cmd_sample(args) -> int:
    from ingest.sample import write_sample, write_serial_sample

    if not args.serial_only:
        try:
            batch_dir, truth_dir = write_sample(Path(args.out_dir), args.batch_id)
        except FileExistsError as exc:
            raise UsageError(f"{exc}: remove it or pick another --batch-id") from None
        print(f"sample batch:  {batch_dir}\nground truth:  {truth_dir}")
    # The second sample: a journal (title and two issues) and a record-described book.
    try:
        serial_dir, serial_truth = write_serial_sample(Path(args.out_dir))
    except FileExistsError:
        print("serial sample: already there, kept as it is")
    else:
        print(f"serial sample: {serial_dir}\nground truth:  {serial_truth}")
    return 0


def _cmd_validate(args) -> int:
    from ingest.models import where
    from ingest.validate import validate_batch

    batch_dir = Path(args.batch_dir)
    if not batch_dir.is_dir():
        raise UsageError(f"{batch_dir} is not a folder")
    from cadl.records import describe_from_records

    report = describe_from_records(validate_batch(batch_dir))
    if args.json:
        data = report.model_dump(mode="json", exclude={"batch"})
        data["is_valid"] = report.is_valid
        print(terminal_json(data))
    else:
        for p in report.problems:
            print(terminal_safe(f"{p.severity.upper():8} {where(p.file, p.row)}: {p.message}"))
        n = len(report.errors)
        items = len(report.batch.items) if report.batch else 0
        print(terminal_safe(f"{batch_dir.name}: {'valid' if report.is_valid else f'{n} error(s)'}"
                            f", {items} item(s)"))
    return 0 if report.is_valid else 1


def _cmd_run(args) -> int:
    from kernel.ids import ID_RULE, is_valid_id

    batch_dir = Path(args.batch_dir).absolute()
    if not batch_dir.is_dir():
        raise UsageError(f"{batch_dir} is not a folder")
    if not is_valid_id(batch_dir.name):
        raise UsageError(f"{batch_dir}: the folder name {batch_dir.name!r} is not a valid "
                         f"batch_id ({ID_RULE}); give the path of a batch folder so named")
    if args.dags_test:
        return _run_dags_test(batch_dir, args)
    from cadl import runs
    from cadl.airflow_api import Api
    from cadl.embedded import ensure_running

    embedded = ensure_running()
    api = Api(embedded)
    run_id, started = runs.start_or_attach(api, batch_dir)
    print(f"cadl: {'started' if started else 'attached to'} run {run_id} of {runs.DAG_ID} "
          f"({embedded.api_url}/dags/{runs.DAG_ID}/runs/{run_id})", file=sys.stderr, flush=True)
    return runs.follow_and_report(api, embedded, run_id, args.json)


def _run_dags_test(batch_dir: Path, args) -> int:
    """The debugging path: every task serially in this process (`airflow dags test`)."""
    from cadl.airflow_env import dags_test
    from kernel.paths import inside
    from kernel.settings import get_settings

    report_path = inside(get_settings().reports_dir, batch_dir.name, "report.json")
    before = report_path.stat().st_mtime_ns if report_path.exists() else None
    # `airflow dags test` cannot wait for a person: held items wait in `cadl review list`.
    code = dags_test("ingest_batch", {"batch_dir": str(batch_dir), "review": False})
    if not report_path.exists() or report_path.stat().st_mtime_ns == before:
        print(f"ingest_batch failed before writing a report (exit {code}); see the log above",
              file=sys.stderr)
        return code or 1
    report = json.loads(report_path.read_text("utf-8"))
    if args.json:
        print(terminal_json({**report, "state": "failed" if code else "success"}))
    else:
        print(terminal_safe(Path(report["report_text"]).read_text("utf-8"), keep_newlines=True),
              end="")
        print(terminal_safe(f"Report:    {report['report_json']}"))
    s = report["summary"]
    return 1 if code or s["failed"] or s["invalid"] or s.get("quarantined") else 0


def _cmd_status(args) -> int:
    from cadl import runs
    from cadl.airflow_api import Api
    from cadl.embedded import ensure_running

    embedded = ensure_running()
    api = Api(embedded)
    if not args.run:
        listed = api.runs(runs.DAG_ID, limit=20)
        rows = [{"run_id": r["dag_run_id"], "state": runs.public_state(r["state"]),
                 "batch_id": Path((r.get("conf") or {}).get("batch_dir", "")).name,
                 "started": r.get("start_date")} for r in listed]
        if args.json:
            print(terminal_json(rows))
        else:
            for r in rows:
                print(terminal_safe(f"{r['run_id']:40} {r['state']:8} {r['batch_id']:30} "
                                    f"{r['started'] or ''}"))
        return 0
    try:
        run_id = runs.resolve(api, args.run)
    except LookupError:
        raise UsageError(f"no run or batch {args.run!r} in the embedded Airflow "
                         f"({embedded.api_url})") from None
    if args.follow:
        return runs.follow_and_report(api, embedded, run_id, args.json)
    snap = runs.snapshot(api, run_id)
    if args.json:
        print(terminal_json(snap.as_json()))
    else:
        print(terminal_safe(snap.line()))
        for item_id, message in snap.failures:
            print(terminal_safe(f"  item {item_id} FAILED: {message}"))
        if snap.report_json:
            print(terminal_safe(f"Report:    {snap.report_json}"))
    return 0


def _cmd_up(args) -> int:
    from cadl.embedded import USER, ensure_running

    embedded = ensure_running()
    print(f"Airflow UI:  {embedded.api_url}  (user {USER}, password in "
          f"{embedded.home / 'passwords.json'})\nlogs:        {embedded.logs}\n"
          "stop it:     cadl down")
    return 0


def _cmd_down(args) -> int:
    from cadl.embedded import stop

    stopped = stop()
    print("embedded Airflow stopped" if stopped else "embedded Airflow was not running")
    return 0


def _cmd_bag_validate(args) -> int:
    from ingest.bagcheck import check_bag

    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    report = check_bag(path)
    if args.json:
        print(terminal_json({**report.model_dump(), "is_valid": report.is_valid}))
    else:
        for message in report.errors:
            print(terminal_safe(f"ERROR    {message}"))
        for message in report.warnings:
            print(terminal_safe(f"WARNING  {message}"))
        verdict = "valid" if report.is_valid else f"{len(report.errors)} error(s)"
        warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        print(terminal_safe(f"{path}: {verdict}{warned}"))
    return 0 if report.is_valid else 1


def _cmd_serve(args) -> int:
    import signal

    from cadl.serve import make_server
    from kernel.settings import get_settings

    try:
        server = make_server(get_settings(), args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    print(f"OAI-PMH: {server.oai_url}\nfiles:   {server.public_url}/items/…\n"
          f"listening on {server.host}:{server.port}", flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # `kill` and container stops end it cleanly too
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _cmd_audit(args) -> int:
    from kernel.errors import FixityFailed
    from cadl.fixity import plan, run

    audit_plan = plan(args.items, slice_spec=args.slice, all_items=not args.slice)
    try:
        report_text, code = run(audit_plan, repair=not args.no_repair)["report_text"], 0
    except FixityFailed as exc:
        print(f"cadl: {terminal_safe(redact(str(exc)))}", file=sys.stderr)
        report_text, code = exc.report_text, exc.exit_code
    if args.json:
        report_json = Path(report_text).with_name("audit.json")
        print(terminal_json(json.loads(report_json.read_text("utf-8"))))
    else:
        print(terminal_safe(Path(report_text).read_text("utf-8"), keep_newlines=True), end="")
        print(terminal_safe(f"Report:   {report_text}"))
    return code


def _cmd_versions(args) -> int:
    from cadl.fixity import versions

    found = versions(args.item_id)
    if args.json:
        print(terminal_json(found))
    else:
        for v in found:
            if v["complete"]:
                print(f"v{v['version']:04d}  {v['deposited']}  {v['objects']} objects  "
                      f"{v['bytes']} bytes  {v['bag']}")
            else:
                print(f"v{v['version']:04d}  incomplete (interrupted deposit)  {v['uri']}")
    return 0 if found else 1


def _cmd_review_list(args) -> int:
    from cadl.review import review_queue

    queue = review_queue(batch_id=args.batch)
    if args.json:
        print(json.dumps(queue, ensure_ascii=False, indent=2))
        return 0
    for e in queue:
        print(f"{e['item_id']}  batch {e['batch_id']}  v{e['version']}  waiting "
              f"{e['age_hours']:g} h{'  OVERDUE' if e['overdue'] else ''}\n"
              f"    “{e['title']}”\n    held for: {e['reason']}\n    report: {e['report']}")
    print(f"{len(queue)} item(s) waiting for review")
    return 0


def _cmd_review_decide(args) -> int:
    from cadl.review_answer import decide_anywhere

    result = decide_anywhere(args.item_id, args.decision, args.by, args.comment,
                             engine=args.engine, preprocess=args.preprocess,
                             tessdata=args.tessdata)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        print(f"{result['item_id']}: {result['decision']} by {result['by']} → "
              f"{result['status']} (version {result['version']})")
        for key in ("access", "quarantine"):
            if result.get(key):
                print(f"    {key}: {result[key]}")
        print(f"    PREMIS review event: {result['event']['record']}\n"
              f"    taken through: {result['via']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cadl", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write the generated sample batch and its ground truth")
    p.add_argument("out_dir", help="folder to write <batch_id>/ and <batch_id>.ground-truth/ in")
    p.add_argument("--batch-id", default="sample-batch-001")
    p.add_argument("--serial-only", action="store_true",
                   help="write only the second sample (a journal and a record-described book)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("validate", help="check a batch against the landing-zone contract")
    p.add_argument("batch_dir")
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("run", help="run ingest_batch on a batch on the embedded Airflow")
    p.add_argument("batch_dir")
    p.add_argument("--json", action="store_true", help="print the batch report as JSON")
    p.add_argument("--dags-test", action="store_true",
                   help="debugging: run every task serially in this process (airflow dags "
                   "test) instead of on the scheduler")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("status", help="state of a run (or of a batch's latest run)")
    p.add_argument("run", nargs="?", help="run id or batch id (default: list recent runs)")
    p.add_argument("--json", action="store_true", help="machine-readable state on stdout")
    p.add_argument("--follow", action="store_true",
                   help="follow the run until it ends, then print its report")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("up", help="start (or reuse) the embedded Airflow; print where its UI is")
    p.set_defaults(func=_cmd_up)

    p = sub.add_parser("down", help="stop the embedded Airflow (running batches stop too)")
    p.set_defaults(func=_cmd_down)

    p = sub.add_parser("serve", help="serve OAI-PMH (/oai) and the access files over HTTP")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8800, help="port (default 8800; 0 picks one)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("bag", help="BagIt bags from partners or elsewhere")
    bag_sub = p.add_subparsers(dest="bag_command", required=True)
    p = bag_sub.add_parser("validate", help="check a bag strictly; exit 0 valid, 1 invalid")
    p.add_argument("path", help="the bag folder")
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    p.set_defaults(func=_cmd_bag_validate)

    p = sub.add_parser("audit", help="fixity audit of preservation storage (and the replica)")
    p.add_argument("items", nargs="*", help="item ids (default: every item)")
    p.add_argument("--slice", help="audit slice N of M of the archive, written N/M")
    p.add_argument("--no-repair", action="store_true", help="report only, copy nothing back")
    p.add_argument("--json", action="store_true", help="print the audit report as JSON")
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser("review", help="items held by the OCR quality check: list, decide")
    review_sub = p.add_subparsers(dest="review_command", required=True)
    p = review_sub.add_parser("list", help="items waiting for a decision, oldest first")
    p.add_argument("--batch", help="only this batch")
    p.add_argument("--json", action="store_true", help="machine-readable list on stdout")
    p.set_defaults(func=_cmd_review_list)
    p = review_sub.add_parser("decide", help="publish, re-OCR or return a held item")
    p.add_argument("item_id")
    p.add_argument("decision", choices=("publish", "reocr", "return"))
    p.add_argument("--by", required=True, help="your name (recorded as a PREMIS agent)")
    p.add_argument("--comment", required=True, help="why (recorded as the event detail; for "
                   "return, the reason the scanner station sees)")
    p.add_argument("--engine", help="reocr: OCR engine for every language of the item "
                   "(tesseract or ppocr)")
    p.add_argument("--preprocess", help="reocr: preprocessing steps, as CADL_OCR_PREPROCESS")
    p.add_argument("--tessdata", help="reocr: folder of other .traineddata models")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_review_decide)

    p = sub.add_parser("versions", help="list every preserved version of an item")
    p.add_argument("item_id")
    p.add_argument("--json", action="store_true", help="machine-readable list on stdout")
    p.set_defaults(func=_cmd_versions)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_SafeLogText())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per API request otherwise
    try:
        return args.func(args)
    except PipelineError as exc:
        print(f"cadl: {terminal_safe(redact(str(exc)))}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
