#!/usr/bin/env bash
# Checks the seed's primality numbers (Fluent Python's example) ten times over, as one batch.
# Prints one result line per check; the summary goes to stderr. Runnable as is:
#   scripts/examples/seed-primes.sh > primes.jsonl
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
numbers=(2 142702110479723 299593572317531 3333333333333301 3333333333333333 3333335652092209
  4444444444444423 4444444444444444 4444444488888889 5555553133149889 5555555555555503
  5555555555555555 6666666666666666 6666666666666719 6666667141414921 7777777536340681
  7777777777777753 7777777777777777 9999999999999917 9999999999999999)
for round in $(seq 10); do
  for n in "${numbers[@]}"; do
    printf '{"id": "%s-%s", "handler": "is_prime", "input": %s}\n' "$n" "$round" "$n"
  done
done | "$here/../offload" batch - "$@"
