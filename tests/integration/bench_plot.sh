#!/usr/bin/env bash
# ci/plot-bench (ci/bench --plot's charts) turns results like ci/bench's into
# four PNG files, a "-" (a part not run) included.
set -euo pipefail
command -v gnuplot >/dev/null || { echo "[bench_plot] FAIL: gnuplot missing" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '64 14000000 7168000000 - - 9000000 4608000000\n1500 3000000 36000000000 - - 2000000 24000000000\n' >"$dir/throughput.dat"
printf '"fi_pingpong 8 B latency (us)" 3.1 1.2 20.5\n"fi_pingpong 64 KiB (MB/s)" 3000 5000 900\n' >"$dir/fabric.dat"
"$(dirname "$0")/../../ci/plot-bench" "$dir" >/dev/null
for f in throughput-mpps throughput-gbps fabric-latency fabric-bandwidth; do
  file "$dir/$f.png" | grep -q 'PNG image data' || { echo "[bench_plot] FAIL: $f.png is not a PNG" >&2; exit 1; }
done
echo "[bench_plot] PASS"
