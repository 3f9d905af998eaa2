#!/usr/bin/env python3
"""Request counts of a real kube-apiserver, from its /metrics (`apiserver_request_total`).

Used by scripts/sync-scale.sh and scripts/api-cost.sh (stdlib only):

  apiserver-requests.py snap CONTEXT FILE
      saves the counters of CONTEXT's API server (kubectl get --raw /metrics; KUBECONFIG from
      the environment) to FILE
  apiserver-requests.py delta BEFORE AFTER [--label TEXT] [--seconds S] [--exclude-resource R,...]
      prints what was served between the two snapshots, by verb and resource, dry-runs
      (`dry_run="All"`) apart, with totals for lists, gets, watches, dry-runs and writes, and
      per minute when --seconds is given. Non-resource requests (/metrics itself, /readyz)
      are left out.

The counters have no client label: everything the server answered in the window counts,
kube-controller-manager's requests included. The scripts measure a window without driftdeck
beside each window with it, so the difference is attributable.
"""
import collections
import re
import subprocess
import sys

LINE = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text):
    counts = collections.Counter()
    for line in text.splitlines():
        m = LINE.match(line.strip())
        if not m:
            continue
        labels = dict(LABEL.findall(m.group('labels')))
        resource = labels.get('resource', '')
        if not resource:
            continue  # non-resource URLs: /metrics, /readyz, discovery
        sub = labels.get('subresource', '')
        if sub:
            resource = f'{resource}/{sub}'
        dry = 'dry-run' if labels.get('dry_run', '') not in ('', 'None') else ''
        counts[(labels.get('verb', '?'), resource, dry)] += float(m.group('value'))
    return counts


def snap(context, path):
    out = subprocess.run(['kubectl', '--context', context, 'get', '--raw', '/metrics'],
                         check=True, capture_output=True, text=True).stdout
    with open(path, 'w') as f:
        f.write('\n'.join(l for l in out.splitlines() if l.startswith('apiserver_request_total')))


def load(path):
    with open(path) as f:
        return parse(f.read())


def delta(before, after, label, seconds, exclude):
    a, b = load(before), load(after)
    rows = []
    for key in sorted(set(a) | set(b)):
        n = int(round(b.get(key, 0) - a.get(key, 0)))
        if n > 0 and key[1].split('/')[0] not in exclude:
            rows.append((key, n))
    totals = collections.Counter()
    for (verb, _resource, dry), n in rows:
        if dry:
            totals['dry-run'] += n
        elif verb == 'LIST':
            totals['list'] += n
        elif verb == 'GET':
            totals['get'] += n
        elif verb == 'WATCH':
            totals['watch'] += n
        else:
            totals['write'] += n
        totals['total'] += n
    head = f'{label}: ' if label else ''
    parts = [f"{k} {totals[k]}" for k in ('total', 'list', 'get', 'watch', 'dry-run', 'write')]
    line = head + ', '.join(parts)
    if seconds:
        per_min = 60.0 / seconds
        line += (f"  | per minute: list {totals['list'] * per_min:.1f}, "
                 f"dry-run {totals['dry-run'] * per_min:.1f}, total {totals['total'] * per_min:.1f}"
                 f"  | per second: {totals['total'] / seconds:.2f}")
    print(line)
    for (verb, resource, dry), n in rows:
        print(f'    {n:7d}  {verb:7s} {resource}{"  (dry-run)" if dry else ""}')
    return totals


def main(argv):
    if len(argv) >= 4 and argv[1] == 'snap':
        snap(argv[2], argv[3])
        return 0
    if len(argv) >= 4 and argv[1] == 'delta':
        label, seconds, exclude = '', None, set()
        rest = argv[4:]
        while rest:
            flag, value, rest = rest[0], rest[1], rest[2:]
            if flag == '--label':
                label = value
            elif flag == '--seconds':
                seconds = float(value)
            elif flag == '--exclude-resource':
                exclude = set(value.split(','))
            else:
                print(f'unknown flag {flag}', file=sys.stderr)
                return 2
        delta(argv[2], argv[3], label, seconds, exclude)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
