#!/usr/bin/env python3
"""The Python peer of offload's figures: concurrent.futures.ProcessPoolExecutor with N workers.

Stdlib only. Prints one JSON object on stdout:
  submit:            no-op task throughput through pool.submit() (all submitted, then all awaited)
  run_in_executor:   the same through asyncio's loop.run_in_executor(pool, ...)
  round_trip:        sequential pool.submit(noop).result() latencies (p50/p90/p99, microseconds)
  primes:            the seed's primality checks (trial division, as offload's is_prime), wall time

usage: python_pool.py WORKERS [NUMBERS_FILE] [--tasks 20000] [--round-trips 2000] [--prime-rounds 1]
(NUMBERS_FILE defaults to SeedNumbers.txt beside this script: the seed's 20 numbers)
"""

import argparse
import asyncio
import concurrent.futures
import json
import math
import multiprocessing
import os
import platform
import sys
import time


def noop(x):
    return x


def is_prime(n):
    """The seed's is_prime (Fluent Python): n < 2 no, 2 yes, other evens no, odd divisors to isqrt."""
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    root = math.isqrt(n)
    for i in range(3, root + 1, 2):
        if n % i == 0:
            return False
    return True


def percentile(sorted_values, p):
    index = max(0, math.ceil(p / 100 * len(sorted_values)) - 1)
    return sorted_values[index]


def measure_submit(pool, tasks):
    start = time.perf_counter()
    futures = [pool.submit(noop, i) for i in range(tasks)]
    for f in futures:
        f.result()
    seconds = time.perf_counter() - start
    return {"tasks": tasks, "seconds": seconds, "tasks_per_s": tasks / seconds}


def measure_run_in_executor(pool, tasks):
    async def main():
        loop = asyncio.get_running_loop()
        start = time.perf_counter()
        await asyncio.gather(*(loop.run_in_executor(pool, noop, i) for i in range(tasks)))
        return time.perf_counter() - start

    seconds = asyncio.run(main())
    return {"tasks": tasks, "seconds": seconds, "tasks_per_s": tasks / seconds}


def measure_round_trip(pool, count):
    latencies = []
    for i in range(count):
        start = time.perf_counter_ns()
        pool.submit(noop, i).result()
        latencies.append((time.perf_counter_ns() - start) / 1000)
    latencies.sort()
    return {
        "round_trips": count,
        "p50_us": percentile(latencies, 50),
        "p90_us": percentile(latencies, 90),
        "p99_us": percentile(latencies, 99),
    }


def measure_primes(pool, numbers):
    start = time.perf_counter()
    results = list(pool.map(is_prime, numbers))
    seconds = time.perf_counter() - start
    return {"checks": len(numbers), "primes": sum(results), "seconds": seconds,
            "checks_per_s": len(numbers) / seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workers", type=int)
    parser.add_argument("numbers_file", nargs="?",
                        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "SeedNumbers.txt"))
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--round-trips", type=int, default=2000)
    parser.add_argument("--prime-rounds", type=int, default=1,
                        help="rounds of the seed's numbers (10 rounds = the 200 checks)")
    args = parser.parse_args()
    with open(args.numbers_file) as f:
        seed = [int(line) for line in f if line.strip()]

    result = {"python": platform.python_version(), "workers": args.workers,
              "start_method": None}
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.workers) as pool:
        # Start every worker process and warm the queues before anything is timed.
        list(pool.map(noop, range(1000)))
        context = getattr(pool, "_mp_context", None)  # private, so looked at with care
        result["start_method"] = context.get_start_method() if context else multiprocessing.get_start_method()
        result["submit"] = measure_submit(pool, args.tasks)
        result["run_in_executor"] = measure_run_in_executor(pool, args.tasks)
        result["round_trip"] = measure_round_trip(pool, args.round_trips)
        if args.prime_rounds > 0:
            result["primes"] = measure_primes(pool, seed * args.prime_rounds)
            result["primes"]["rounds"] = args.prime_rounds
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
