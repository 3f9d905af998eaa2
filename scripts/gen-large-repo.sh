#!/usr/bin/env bash
# Writes a large kustomize repo for render speed measurements: 20 bases ("teams") of 5 apps,
# each app a Deployment, Service, ServiceAccount, PodDisruptionBudget and a generated
# ConfigMap (500 resources), and one overlay that includes every base and adds what real
# overlays add: a namespace, labels, image tags for all 100 apps, strategic-merge and JSON 6902
# patches, and configMapGenerator merges.
#
# usage: scripts/gen-large-repo.sh DIR        (renders with: kubectl kustomize DIR/overlays/large)
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
if [[ -e $dir && -n $(ls -A "$dir" 2>/dev/null) ]]; then
  echo "$0: $dir exists and is not empty" >&2
  exit 2
fi

teams=20
apps_per_team=5

mkdir -p "$dir/overlays/large"

for t in $(seq -w 1 "$teams"); do
  team="team-$t"
  base="$dir/bases/$team"
  mkdir -p "$base"
  {
    echo "apiVersion: kustomize.config.k8s.io/v1beta1"
    echo "kind: Kustomization"
    echo
    echo "labels:"
    echo "  - pairs:"
    echo "      team: $team"
    echo
    echo "resources:"
    for a in $(seq 1 "$apps_per_team"); do echo "  - app-$a.yaml"; done
    echo
    echo "configMapGenerator:"
    for a in $(seq 1 "$apps_per_team"); do
      echo "  - name: $team-app-$a-config"
      echo "    literals:"
      echo "      - LOG_LEVEL=info"
      echo "      - UPSTREAM=http://$team-app-$(( a % apps_per_team + 1 )):8080"
      echo "      - CACHE_SIZE=$(( a * 64 ))Mi"
    done
    echo
    echo "patches:"
    echo "  - target:"
    echo "      kind: Deployment"
    echo "    patch: |-"
    echo "      apiVersion: apps/v1"
    echo "      kind: Deployment"
    echo "      metadata:"
    echo "        name: any"
    echo "        annotations:"
    echo "          owner: $team@example.com"
  } > "$base/kustomization.yaml"

  for a in $(seq 1 "$apps_per_team"); do
    app="$team-app-$a"
    cat > "$base/app-$a.yaml" <<YAML
apiVersion: v1
kind: ServiceAccount
metadata:
  name: $app
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: $app
  labels:
    app.kubernetes.io/name: $app
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: $app
  template:
    metadata:
      labels:
        app.kubernetes.io/name: $app
    spec:
      serviceAccountName: $app
      containers:
        - name: main
          image: registry.example.com/$team/app-$a:1.0.0
          args: ["--port=8080", "--upstream=\$(UPSTREAM)"]
          envFrom:
            - configMapRef:
                name: $app-config
          ports:
            - name: http
              containerPort: 8080
          readinessProbe:
            httpGet: {path: /ready, port: http}
          resources:
            requests: {cpu: 50m, memory: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: $app
spec:
  selector:
    app.kubernetes.io/name: $app
  ports:
    - name: http
      port: 8080
      targetPort: http
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: $app
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: $app
YAML
  done
done

{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo
  echo "namespace: large"
  echo
  echo "labels:"
  echo "  - pairs:"
  echo "      environment: large"
  echo
  echo "resources:"
  for t in $(seq -w 1 "$teams"); do echo "  - ../../bases/team-$t"; done
  echo
  echo "patches:"
  echo "  - target:"
  echo "      kind: Deployment"
  echo "    patch: |-"
  echo "      apiVersion: apps/v1"
  echo "      kind: Deployment"
  echo "      metadata:"
  echo "        name: any"
  echo "      spec:"
  echo "        template:"
  echo "          spec:"
  echo "            containers:"
  echo "              - name: main"
  echo "                resources:"
  echo "                  limits: {memory: 256Mi}"
  echo "  - target:"
  echo "      kind: Deployment"
  echo "      labelSelector: team in (team-01,team-02,team-03)"
  echo "    patch: |-"
  echo "      - op: replace"
  echo "        path: /spec/replicas"
  echo "        value: 3"
  echo
  echo "configMapGenerator:"
  for t in $(seq -w 1 "$teams"); do
    echo "  - name: team-$t-app-1-config"
    echo "    behavior: merge"
    echo "    literals:"
    echo "      - LOG_LEVEL=warn"
  done
  echo
  echo "images:"
  for t in $(seq -w 1 "$teams"); do
    for a in $(seq 1 "$apps_per_team"); do
      echo "  - name: registry.example.com/team-$t/app-$a"
      echo "    newTag: 1.$(( 10#$t % 7 )).$a"
    done
  done
} > "$dir/overlays/large/kustomization.yaml"

files=$(find "$dir" -type f | wc -l)
echo "wrote $dir: $teams bases x $apps_per_team apps x 5 resources = $(( teams * apps_per_team * 5 )) resources in $files files; overlay: $dir/overlays/large"
