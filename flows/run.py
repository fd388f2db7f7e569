"""Command line: ``python -m flows.run [command] ...``.

    python -m flows.run                              # demo on generated data
    python -m flows.run pipeline [--staging PATH] [--config FILE] [--home DIR]
                                 [--start ISO] [--end ISO] [--resume RUN_ID] [--json] [--wait]
    python -m flows.run reconcile [--home DIR] [--json]
    python -m flows.run export --out FILE.jsonl [--home DIR]
    python -m flows.run drain [--config FILE] [--home DIR] [--json]
    python -m flows.run search "TEXT" [--home DIR] [-k N]
    python -m flows.run generate --out DIR --cases N [--seed S]
    python -m flows.run reembed [--config FILE] [--home DIR] [--limit N] [--json]
    python -m flows.run register-blocks [--config FILE] [--home DIR] [--prefix NAME]

Exit codes: 0 done; 1 a critical discrepancy remains; 2 bad usage or
configuration; 3 another run holds the lock; 4 the run failed; 5 a service
is still unavailable (drain: the vector store, the queue is kept; reembed:
the primary embedder, the cases stay on the fallback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

# Before Prefect is imported: no telemetry, no network lookups for the suffix list.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

DEMO_CASES = 1_000


def _iso(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO date or timestamp, got {value!r}") from None


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML file choosing and configuring the blocks")
    common.add_argument("--home", type=Path, help="state folder (default ./.pipeline or $PIPELINE_HOME)")
    p = argparse.ArgumentParser(prog="python -m flows.run", description=__doc__.split("\n\n")[0],
                                parents=[common])
    sub = p.add_subparsers(dest="command")
    pipe = sub.add_parser("pipeline", parents=[common], help="run the pipeline on a date window")
    pipe.add_argument("--staging", type=Path, help="Parquet staging folder (overrides [staging])")
    pipe.add_argument("--start", type=_iso, help="window start, inclusive (default: high-water mark - overlap)")
    pipe.add_argument("--end", type=_iso, help="window end, exclusive (default: now)")
    pipe.add_argument("--resume", metavar="RUN_ID", help="continue a failed run from its last good checkpoint")
    pipe.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    pipe.add_argument("--wait", action="store_true", help="wait for a running pipeline instead of exiting")
    rec = sub.add_parser("reconcile", parents=[common], help="counts, id/checksum diff and stuck records")
    rec.add_argument("--json", action="store_true")
    rec.add_argument("--repair", action="store_true", help="act on what is found (default: report only)")
    rec.add_argument("--stuck-hours", type=float, default=24.0, help="age after which an unfinished record is stuck")
    rec.add_argument("--deep", action="store_true", help="weekly checks: content integrity, vector sizes, PII leaks")
    rec.add_argument("--sample", type=int, default=1_000, help="objects sampled by --deep (0: all)")
    exp = sub.add_parser("export", parents=[common], help="write stored cases as JSON lines")
    exp.add_argument("--out", type=Path, required=True)
    dr = sub.add_parser("drain", parents=[common], help="write loads queued while the vector store was down")
    dr.add_argument("--json", action="store_true", help="print one JSON object")
    se = sub.add_parser("search", parents=[common], help="best matching cases for a text")
    se.add_argument("text")
    se.add_argument("-k", type=int, default=10)
    reb = sub.add_parser("reembed", parents=[common], help="move cases the fallback embedded onto the primary")
    reb.add_argument("--limit", type=int, help="most cases to look at in this run (default: all)")
    reb.add_argument("--json", action="store_true", help="print one JSON object")
    reg = sub.add_parser("register-blocks", parents=[common],
                         help="save the configured blocks on the Prefect server as <prefix>-<section>")
    reg.add_argument("--prefix", default="case", help="block document name prefix (default: case)")
    gen = sub.add_parser("generate", parents=[common], help="write a synthetic staging folder")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--cases", type=int, required=True)
    gen.add_argument("--seed", type=int, default=7)
    return p


def _run_flow(args, blocks_home: Path | None, staging: Path | None, start=None, end=None, resume=None,
              wait=False, quiet=False) -> dict:
    from flows.pipeline import _progress_hook, case_vector_pipeline
    from flows.progress_display import RichProgress

    _progress_hook.set(None if quiet else RichProgress())
    try:
        return case_vector_pipeline(
            window_start=start, window_end=end, resume_run_id=resume,
            config_path=str(args.config) if args.config else None,
            home=str(blocks_home) if blocks_home else None,
            staging_path=str(staging) if staging else None, wait_for_lock=wait,
        )
    finally:
        _progress_hook.set(None)


def _cmd_demo(args) -> int:
    from flows.config import default_home
    from flows.summary_view import print_run_summary
    from generator import generate_staging

    home = (args.home or default_home()).resolve()
    staging = home / "staging"
    if not (staging / "case").exists() and args.config is None:
        print(f"Generating {DEMO_CASES:,} sample cases into {staging} ...", file=sys.stderr)
        generate_staging(staging, DEMO_CASES, seed=7)
    summary = _run_flow(args, home, None)
    print_run_summary(summary)
    print(f'\nTry: python -m flows.run search "memory DIMM replaced"{"" if args.home is None else f" --home {home}"}')
    return 0


def _cmd_pipeline(args) -> int:
    from flows.summary_view import print_run_summary

    summary = _run_flow(args, args.home, args.staging, args.start, args.end, args.resume, args.wait, quiet=args.json)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print_run_summary(summary)
    return 0


def _cmd_reconcile(args) -> int:
    from flows.reconcile import case_reconciliation
    from flows.summary_view import print_count_report

    report = case_reconciliation(config_path=str(args.config) if args.config else None,
                                 home=str(args.home) if args.home else None,
                                 repair=args.repair, stuck_after_hours=args.stuck_hours, deep=args.deep,
                                 sample_size=args.sample or None)
    if args.json:
        print(json.dumps(report, default=str))
    else:
        print_count_report(report)
        alerts = report.get("alerts") or {}
        if alerts.get("firing"):
            print(f"Alerts firing: {', '.join(alerts['firing'])} (sent {alerts['sent']}, failed {alerts['failed']})")
        if report.get("repair"):
            from flows.reconcile_report import recovery_lines

            print("Repair: " + "\n".join(recovery_lines(report["repair"])))
    return 1 if any(d["severity"] == "critical" for d in report["discrepancies"]) else 0


def _cmd_export(args) -> int:
    from flows.config import load_blocks
    from flows.queries import export_cases

    n = export_cases(load_blocks(args.config, args.home), args.out)
    print(f"exported {n} cases to {args.out}", file=sys.stderr)
    return 0


def _cmd_drain(args) -> int:
    from flows.drain import load_queue_drain

    summary = load_queue_drain(config_path=str(args.config) if args.config else None,
                               home=str(args.home) if args.home else None)
    if args.json:
        print(json.dumps(summary, default=str))
    elif summary["skipped"]:
        print(summary["skipped"], file=sys.stderr)
    else:
        print(f"drained {summary['drained']}, deleted {summary['deleted']}, failed {summary['failed']}, "
              f"superseded {summary['superseded']}; {summary['remaining_segments']} segments "
              f"({summary['remaining_rows']} rows) remain"
              + ("; the vector store is still unavailable" if summary["store_unavailable"] else ""))
    if summary["skipped"]:
        return 3
    return 5 if summary["store_unavailable"] else 0


def _cmd_search(args) -> int:
    from flows.config import load_blocks
    from flows.queries import search_cases
    from flows.summary_view import print_search_hits

    print_search_hits(search_cases(load_blocks(args.config, args.home), args.text, args.k))
    return 0


def _cmd_reembed(args) -> int:
    from flows.reembed import fallback_reembed

    summary = fallback_reembed(config_path=str(args.config) if args.config else None,
                               home=str(args.home) if args.home else None, limit=args.limit)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print(f"re-embed {summary['status']}: {summary['reembedded']} cases moved onto {summary['primary_model']}, "
              f"{summary['remaining']} still on another model")
    return 5 if summary["status"] == "primary_unavailable" else 0


def _cmd_register_blocks(args) -> int:
    from flows.block_documents import register_blocks
    from flows.config import load_blocks

    names = register_blocks(load_blocks(args.config, args.home), args.prefix)
    print(json.dumps({"block_names": names}))  # names only: secrets stay on the server
    return 0


def _cmd_generate(args) -> int:
    from generator import generate_staging

    report = generate_staging(args.out, args.cases, seed=args.seed)
    print(json.dumps({**report.manifest(), "elapsed_s": round(report.elapsed_s, 2)}, default=str))
    return 0


_COMMANDS = {None: _cmd_demo, "pipeline": _cmd_pipeline, "reconcile": _cmd_reconcile, "export": _cmd_export,
             "search": _cmd_search, "drain": _cmd_drain, "generate": _cmd_generate, "reembed": _cmd_reembed,
             "register-blocks": _cmd_register_blocks}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from flows.config import ConfigError
    from stages.errors import NothingToResume, RunLocked, StageError

    try:
        return _COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except RunLocked as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except NothingToResume as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except StageError as exc:
        print(f"run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 4
    except Exception as exc:  # noqa: BLE001 - the flow already logged the traceback
        print(f"run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
