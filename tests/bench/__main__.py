"""Benchmarks of the hub (issue 7): ``python -m tests.bench {peer,run,compare,memory,profile,instructions}``.

peer     the hub (registered and ad hoc) and PostGraphile 4 / 5 side by side, alternating, on every bench
         operation with a PostGraphile query; same-data checks first; JSON in .hub/bench/peer-<stamp>.json
run      the hub (production settings, 1 and 2 workers) and the hand-written-SQL floor on every operation
         of graphql/operations/bench/, wrk -c16 -t2 for a fixed time each; JSON in .hub/bench/<stamp>.json
compare  per-operation deltas of two result files
memory   hub worker RSS after 10,000 and 100,000 requests of a mix of the bench operations
profile  py-spy profile of the hub serving one operation, summarised by where the time goes
instructions  instructions per request of each operation (callgrind, in process), of this checkout and others
"""

from __future__ import annotations

import argparse
import os
import signal
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="hub and floor on every bench operation")
    p.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 10)),
                   help="seconds per operation and server (default 10, env BENCH_DURATION)")
    p.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 2)),
                   help="warm-up seconds before each timed run (default 2)")
    p.add_argument("--workers", default=os.environ.get("BENCH_WORKERS", "1,2"),
                   help="worker counts to measure, comma-separated (default 1,2)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--op", action="append", help="only this operation (name or file stem); repeatable")
    p.add_argument("--no-floor", action="store_true", help="skip the floor server")
    p.add_argument("--quiet-wait", type=float, default=float(os.environ.get("BENCH_QUIET_WAIT", 60)),
                   help="before each timed run, wait up to this many seconds for other processes to leave the "
                        "CPUs idle (default 60)")
    p.add_argument("--no-adhoc", dest="adhoc", action="store_false",
                   help="skip the hub runs with ad-hoc (unregistered) document texts, i.e. the general path")
    p.add_argument("--rate-limit", choices=("off", "on"), default=os.environ.get("BENCH_RATE_LIMIT", "off"),
                   help="the hub's per-consumer rate limit: off (default, env BENCH_RATE_LIMIT), or on at 10^6 "
                        "req/s, never reached, so that the limiter's cost is in the figures")

    p = sub.add_parser("peer", help="the hub and PostGraphile 4 / 5 side by side, alternating, same database")
    p.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 8)),
                   help="seconds per timed run (default 8, env BENCH_DURATION)")
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 2)),
                   help="rounds over every operation and server (default 2, env BENCH_ROUNDS)")
    p.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds before each run of round 1")
    p.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_PEER_WORKERS", 2)),
                   help="hub workers (default 2)")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--op", action="append", help="only this operation (name or file stem); repeatable")
    p.add_argument("--quiet-wait", type=float, default=float(os.environ.get("BENCH_QUIET_WAIT", 0)),
                   help="before each timed run, wait up to this many seconds for an idle machine (default 0)")
    p.add_argument("--rate-limit", choices=("off", "on"), default=os.environ.get("BENCH_RATE_LIMIT", "off"),
                   help="the hub's per-consumer rate limit (default off; on: at 10^6 req/s, never reached)")
    p.add_argument("--no-peers", dest="peers", action="store_false", help="measure the hub alone")

    p = sub.add_parser("peer-show", help="print a side-by-side result again (default: the latest), or --markdown")
    p.add_argument("file", nargs="?")
    p.add_argument("--markdown", action="store_true")

    p = sub.add_parser("compare", help="per-operation deltas of two result files (default: the two latest)")
    p.add_argument("a", nargs="?")
    p.add_argument("b", nargs="?")

    p = sub.add_parser("show", help="print a result file again (tables, or --markdown)")
    p.add_argument("file", nargs="?")
    p.add_argument("--markdown", action="store_true")

    p = sub.add_parser("memory", help="RSS after 10,000 and 100,000 requests")
    p.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_MEMORY_REQUESTS", 100_000)))
    p.add_argument("--step", type=int, default=10_000, help="requests between RSS samples (default 10,000)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-growth", type=float, default=10.0, help="allowed growth %% after the first step")
    p.add_argument("--adhoc", action="store_true",
                   help="send ad-hoc (unregistered) texts: the general path instead of the registered documents'")

    p = sub.add_parser("profile", help="py-spy profile of the hub serving one operation")
    p.add_argument("--op", action="append", help="operation(s) to profile (default: the flat and nested postings)")
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--path", choices=("registered", "adhoc", "both"), default="both",
                   help="send the registered document text, an ad-hoc (unregistered) copy, or both (default)")
    p.add_argument("--from", dest="from_dir", help="only summarise the raw samples of an earlier profile directory")

    p = sub.add_parser("instructions", help="instructions per request (callgrind), this checkout and others")
    p.add_argument("--op", action="append", help="only this operation (name or file stem); repeatable")
    p.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 400)),
                   help="timed requests per operation and tree (default 400, env BENCH_REQUESTS)")
    p.add_argument("--tree", action="append",
                   help="another checkout of the hub (e.g. a git worktree of another commit) to count too; repeatable")

    args = parser.parse_args(argv)
    # SIGTERM (make interrupted, a timeout) unwinds like Ctrl-C, so the servers this bench started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.command == "run":
        from tests.bench.run import run

        return run(args)
    if args.command == "peer":
        from tests.bench.peer.run import run as run_peer

        return run_peer(args)
    if args.command == "peer-show":
        import json

        from tests.bench.database import BENCH_DIR
        from tests.bench.peer.run import markdown as peer_markdown
        from tests.bench.peer.run import print_peer

        out = json.loads(open(args.file or sorted(BENCH_DIR.glob("peer-*.json"))[-1]).read())
        print(peer_markdown(out)) if args.markdown else print_peer(out)
        return 0
    if args.command == "compare":
        from tests.bench.database import BENCH_DIR
        from tests.bench.report import compare

        a, b = args.a, args.b
        if a is None or b is None:
            runs = sorted(BENCH_DIR.glob("2*.json"))
            if len(runs) < 2 and not (a or b):
                raise SystemExit("need two result files in .hub/bench/ (make bench twice) or A and B")
            a, b = (a, runs[-1]) if a else (runs[-2], runs[-1])
        return compare(a, b)
    if args.command == "show":
        import json

        from tests.bench.database import BENCH_DIR
        from tests.bench.report import markdown, print_run

        path = args.file or sorted(BENCH_DIR.glob("2*.json"))[-1]
        out = json.loads(open(path).read())
        if args.markdown:
            print(markdown(out))
        else:
            print_run(out)
        return 0
    if args.command == "memory":
        from tests.bench.memory import memory

        return memory(args)
    if args.command == "instructions":
        from tests.bench.instructions import instructions

        return instructions(args)
    from tests.bench.profile import profile

    return profile(args)


if __name__ == "__main__":
    sys.exit(main())
