#!/usr/bin/env python3
"""Drift latency of a running `driftdeck controller --metrics ADDR` (stdlib only; used by
scripts/api-cost.sh). Printed, never asserted.

  drift-latency.py wait METRICS_URL ENV [TIMEOUT_S]
      waits until ENV is observed and Synced (driftdeck_env_observed 1,
      driftdeck_env_sync_status{status="Synced"} 1); exit 1 on timeout
  drift-latency.py churn METRICS_URL ENV CONTEXT NAMESPACE PREFIX COUNT SECONDS [START]
      once a second for SECONDS: `kubectl patch` ConfigMap PREFIX-N (cycling through COUNT, N
      zero-padded to COUNT's width, as `seq -w` names them) with a new data value, then polls the metrics every 20 ms until ENV's
      Modified drift count has grown by one; prints each change's latency (kubectl returned →
      drift shown) as p50/p95/max and how many exceeded 1 s. A change not shown within 5 s
      counts as 5 s and is named.

Self-heal must be off for ENV (the drift must stay), and every patched object must start in sync.
"""
import re
import subprocess
import sys
import time
import urllib.request

SAMPLE = re.compile(r'^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metrics(url):
    with urllib.request.urlopen(url, timeout=2) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m:
            labels = tuple(sorted(LABEL.findall(m.group('labels'))))
            out[(m.group('name'), labels)] = float(m.group('value'))
    return out


def value(samples, name, **labels):
    want = set(labels.items())
    for (n, ls), v in samples.items():
        if n == name and want <= set(ls):
            return v
    return None


def modified(url, env):
    try:
        return value(metrics(url), 'driftdeck_env_drift_resources', env=env, kind='Modified')
    except OSError:
        return None


def wait(url, env, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            s = metrics(url)
            if (value(s, 'driftdeck_env_observed', env=env) == 1
                    and value(s, 'driftdeck_env_sync_status', env=env, status='Synced') == 1):
                return 0
        except OSError:
            pass
        time.sleep(0.2)
    print(f'{env} not observed and Synced within {timeout}s', file=sys.stderr)
    return 1


def churn(url, env, context, namespace, prefix, count, seconds, start):
    latencies, late = [], []
    base = modified(url, env) or 0
    for s in range(seconds):
        tick = time.monotonic()
        name = f'{prefix}-{(start + s) % count + 1:0{len(str(count))}d}'
        patch = '{"data":{"key":"churn-%d"}}' % s
        subprocess.run(['kubectl', '--context', context, '-n', namespace, 'patch', 'configmap',
                        name, '--type', 'merge', '-p', patch],
                       check=True, capture_output=True)
        patched = time.monotonic()
        shown = None
        while time.monotonic() - patched < 5:
            n = modified(url, env)
            if n is not None and n >= base + s + 1:
                shown = time.monotonic()
                break
            time.sleep(0.02)
        latency = (shown or patched + 5) - patched
        latencies.append(latency)
        if shown is None:
            late.append(name)
        left = 1 - (time.monotonic() - tick)
        if left > 0:
            time.sleep(left)
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
    over = sum(1 for l in latencies if l > 1)
    print(f'   drift latency (kubectl patch returned -> Modified count up in /metrics), '
          f'{len(latencies)} changes: p50 {pick(0.5) * 1000:.0f} ms, p95 {pick(0.95) * 1000:.0f} ms, '
          f'max {latencies[-1] * 1000:.0f} ms, over 1 s: {over}')
    if late:
        print(f'   not shown within 5 s: {", ".join(late)}')
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == 'wait':
        return wait(argv[2], argv[3], float(argv[4]) if len(argv) > 4 else 120)
    if len(argv) >= 9 and argv[1] == 'churn':
        start = int(argv[9]) if len(argv) > 9 else 0
        return churn(argv[2], argv[3], argv[4], argv[5], argv[6], int(argv[7]), int(argv[8]),
                     start)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
