#!/bin/bash
# Samples a running `stretch serve` every 15 s while it runs: time, completions answered (the 200s of
# /v1/completions and /v1/chat/completions), queue length, resident set (kB, /proc/PID/status) —
# the memory of a long load test (scripts/serve_load.py) between and within its passes.
# usage: bash scripts/serve_rss_poll.sh PORT PID > rss.log
port=$1 pid=$2
while kill -0 "$pid" 2> /dev/null; do
  m=$(curl -s --max-time 5 "localhost:$port/metrics")
  answered=$(echo "$m" | grep -E '^stretch_requests_total\{endpoint="/v1/(chat/)?completions",status="200"' | awk '{s += $2} END {print s}')
  queue=$(echo "$m" | grep -E '^stretch_queue_length' | awk '{print $2}')
  rss=$(grep VmRSS "/proc/$pid/status" | awk '{print $2}')
  echo "$(date +%H:%M:%S) $answered $queue $rss"
  sleep 15
done
