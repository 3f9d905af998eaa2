//! One bench for the drift matrices, on either server: the real API server tier
//! ([`crate::realk8s_support`], context `dev`, kubelet stand-in running) or a sandbox on
//! 127.0.0.1:0. The test code is the same for both; only [`Bench::real`] / [`Bench::sandbox`]
//! differ. Each bench owns a unique namespace (the env's), a Git repo whose `env/` folder is the
//! env, a `driftdeck.yaml` and private HOME/XDG dirs, and runs the real `driftdeck` binary and
//! the real kubectl.
//!
//! The kinds are picked through discovery (preferred versions), so the same render works on
//! Kubernetes v1.20 (CronJob `batch/v1beta1`, HPA `autoscaling/v1`) and on the sandbox
//! (`batch/v1`, `autoscaling/v2`).
//! Ports carry `protocol` explicitly: v1.20's server-side apply rejects a port without it. The
//! HPA scales a StatefulSet of zero replicas: scaling is then disabled (Suspended), where the
//! real tier, which has no metrics API, would otherwise report it Degraded and fail the sync's
//! validation.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::realk8s_support::{realk8s, unique};
use crate::sandbox_kubectl::kubectl_path;
use crate::sandbox_support::{Running, start};

pub struct Bench {
    /// Held so a sandbox lives as long as the bench.
    _sandbox: Option<Running>,
    pub kubeconfig: PathBuf,
    pub context: String,
    /// The env's namespace and name (and a unique stem for cluster-scoped names): benches share
    /// the real tier's clusters, so cluster-scoped objects of one must not be another's extras.
    pub ns: String,
    root: tempfile::TempDir,
    cronjob_version: String,
    hpa_version: String,
}

/// What a command printed and how it exited.
#[derive(Debug)]
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    fn of(out: Output) -> Ran {
        Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Bench {
    /// A bench on the shared real API server tier (context `dev`).
    pub fn real(stem: &str) -> Bench {
        let k = realk8s();
        k.standin("dev");
        Bench::new(None, k.kubeconfig.clone(), "dev", &unique(stem))
    }

    /// A bench on a fresh sandbox (one cluster, `dev`).
    pub async fn sandbox(stem: &str) -> Bench {
        let sb = start(&["dev"], driftdeck::sandbox::SandboxOptions::default()).await;
        let kubeconfig = sb.kubeconfig.clone();
        Bench::new(Some(sb), kubeconfig, "dev", &unique(stem))
    }

    fn new(sandbox: Option<Running>, kubeconfig: PathBuf, context: &str, ns: &str) -> Bench {
        let root = tempfile::tempdir().expect("bench temp dir");
        let mut bench = Bench {
            _sandbox: sandbox,
            kubeconfig,
            context: context.to_owned(),
            ns: ns.to_owned(),
            root,
            cronjob_version: String::new(),
            hpa_version: String::new(),
        };
        bench.cronjob_version = bench.served("batch", "cronjobs");
        bench.hpa_version = bench.served("autoscaling", "horizontalpodautoscalers");
        for d in ["home", "data", "cache", "config", "repo/env"] {
            std::fs::create_dir_all(bench.root.path().join(d)).expect("bench dirs");
        }
        bench.git(&["init", "-q", "-b", "main"]);
        bench.write_config();
        bench
    }

    /// The group/version discovery prefers for `plural` of `group` (`kubectl api-resources`,
    /// which honours a server URL with a path prefix, as the sandbox's has).
    fn served(&self, group: &str, plural: &str) -> String {
        let out = self.kubectl_ok(&["api-resources", "--api-group", group, "--no-headers"]);
        out.lines()
            .filter(|l| l.split_whitespace().next() == Some(plural))
            .flat_map(str::split_whitespace)
            .find(|t| t.starts_with(&format!("{group}/")))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("the server does not serve {plural} in {group}:\n{out}"))
    }

    fn repo(&self) -> PathBuf {
        self.root.path().join("repo")
    }

    fn write_config(&self) {
        self.set_self_heal(false);
    }

    /// (Re)writes the config with self-heal on or off (auto-sync and prune off).
    pub fn set_self_heal(&self, on: bool) {
        self.set_automation(false, on);
    }

    /// (Re)writes the config with auto-sync and self-heal as given (prune off).
    pub fn set_automation(&self, auto_sync: bool, self_heal: bool) {
        let on = self_heal;
        let q = |p: &Path| serde_json::to_string(&p.display().to_string()).expect("path");
        let yaml = format!(
            "repo: {{url: {}, branch: main, poll_interval: 1s}}\nkubeconfig: {}\nvalidation_timeout: 120s\nenvironments:\n  - {{name: {}, path: env, context: {}, namespace: {}, self_heal: {on}, auto_sync: {auto_sync}, prune: false}}\n",
            q(&self.repo()),
            q(&self.kubeconfig),
            self.ns,
            self.context,
            self.ns
        );
        std::fs::write(self.root.path().join("driftdeck.yaml"), yaml).expect("write config");
    }

    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.repo())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Commits `yaml` as the env's only file; returns the file's path (for kubectl `-f`).
    pub fn commit(&self, yaml: &str, message: &str) -> PathBuf {
        let file = self.repo().join("env/all.yaml");
        std::fs::write(&file, yaml).expect("write env");
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        file
    }

    /// Commits `text` at `path` (repo-relative) beside the env's file, e.g. another env's.
    pub fn commit_with(&self, yaml: &str, path: &str, text: &str, message: &str) {
        let file = self.repo().join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).expect("create dir");
        }
        std::fs::write(&file, text).expect("write file");
        self.commit(yaml, message);
    }

    /// A file of the branch head (`None` when absent).
    pub fn file_at_head(&self, path: &str) -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.repo())
            .args(["show", &format!("HEAD:{path}")])
            .output()
            .expect("git show");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The branch head's full sha.
    pub fn head(&self) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.repo())
            .args(["rev-parse", "HEAD"])
            .output()
            .expect("git rev-parse");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// kubectl against the bench's context, whatever the exit.
    pub fn kubectl(&self, args: &[&str]) -> Ran {
        Ran::of(
            Command::new(kubectl_path())
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(["--context", &self.context])
                .args(args)
                .stdin(Stdio::null())
                .output()
                .expect("kubectl"),
        )
    }

    /// kubectl, failing the test on a non-zero exit.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let ran = self.kubectl(args);
        assert_eq!(ran.code, Some(0), "kubectl {args:?}: {}", ran.stderr);
        ran.stdout
    }

    /// The live object as JSON.
    pub fn live(&self, kind: &str, name: &str) -> Value {
        let out = self.kubectl_ok(&["-n", &self.ns, "get", kind, name, "-o", "json"]);
        serde_json::from_str(&out).expect("kubectl get -o json")
    }

    /// The real binary with this bench's config, no colour, private dirs.
    pub async fn driftdeck(&self, args: &[&str]) -> Ran {
        let root = self.root.path();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .arg("--config")
            .arg(root.join("driftdeck.yaml"))
            .args(args)
            .env("NO_COLOR", "1")
            .env("HOME", root.join("home"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env_remove("KUBECONFIG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(std::time::Duration::from_secs(180), out)
            .await
            .unwrap_or_else(|_| panic!("driftdeck {args:?} did not finish within 180 s"))
            .expect("run driftdeck");
        Ran::of(out)
    }

    /// `driftdeck controller` for this bench, killed when dropped; its stderr goes to
    /// `controller.log` in the bench dir ([`Bench::controller_log`]).
    pub fn spawn_controller(&self) -> tokio::process::Child {
        let root = self.root.path();
        let log = std::fs::File::create(root.join("controller.log")).expect("controller log");
        tokio::process::Command::new(env!("CARGO_BIN_EXE_driftdeck"))
            .arg("--config")
            .arg(root.join("driftdeck.yaml"))
            .arg("controller")
            .env("NO_COLOR", "1")
            .env("HOME", root.join("home"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start driftdeck controller")
    }

    pub fn controller_log(&self) -> String {
        std::fs::read_to_string(self.root.path().join("controller.log")).unwrap_or_default()
    }

    /// The env's cluster-held operation history (ConfigMap `driftdeck-<env>`, key `history`).
    pub fn history(&self) -> Vec<Value> {
        let name = format!("driftdeck-{}", self.ns);
        let cm = self.kubectl(&["-n", &self.ns, "get", "configmap", &name, "-o", "json"]);
        let cm: Value = serde_json::from_str(&cm.stdout).unwrap_or(Value::Null);
        cm["data"]["history"]
            .as_str()
            .and_then(|h| serde_json::from_str::<Vec<Value>>(h).ok())
            .unwrap_or_default()
    }

    /// `driftdeck diff <env>`.
    pub async fn diff(&self) -> Ran {
        self.driftdeck(&["diff", &self.ns]).await
    }

    /// `driftdeck sync <env> [extra]`, which must succeed.
    pub async fn sync(&self, extra: &[&str]) {
        let mut args = vec!["sync", self.ns.as_str()];
        args.extend_from_slice(extra);
        let ran = self.driftdeck(&args).await;
        assert_eq!(ran.code, Some(0), "sync: {ran:#?}");
    }

    /// The CRD part of the render: a cluster-scoped CRD unique to this bench, and its kind's
    /// group.
    pub fn crd(&self) -> (String, String) {
        let group = format!("{}.drift.example.com", self.ns);
        let yaml = format!(
            r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{group}
spec:
  group: {group}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {{type: integer}}
              color: {{type: string, default: blue}}
"#
        );
        (yaml, group)
    }

    /// Every kind of the matrix in the bench's namespace (the Namespace object included),
    /// except the CRD and its custom resource ([`Bench::crd`], [`Bench::widget`]).
    pub fn render(&self) -> String {
        let ns = &self.ns;
        let cj = &self.cronjob_version;
        let hpa = &self.hpa_version;
        let hpa_metrics = if hpa.ends_with("v1") {
            "targetCPUUtilizationPercentage: 80"
        } else {
            "metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}}]"
        };
        format!(
            r#"apiVersion: v1
kind: Namespace
metadata: {{name: {ns}, labels: {{team: drift}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: api, namespace: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: reader, namespace: {ns}}}
rules: [{{apiGroups: [""], resources: [configmaps], verbs: [get, list]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: reader, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}}
subjects: [{{kind: ServiceAccount, name: api, namespace: {ns}}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {ns}}}
data: {{level: info, mode: fast}}
---
apiVersion: v1
kind: Secret
metadata: {{name: token, namespace: {ns}}}
type: Opaque
data: {{token: c2VjcmV0}}
---
apiVersion: v1
kind: Service
metadata: {{name: api, namespace: {ns}}}
spec:
  selector: {{app: api}}
  ports: [{{name: http, port: 80, targetPort: 8080, protocol: TCP}}]
---
apiVersion: v1
kind: Service
metadata: {{name: edge, namespace: {ns}}}
spec:
  type: NodePort
  selector: {{app: api}}
  ports: [{{name: http, port: 80, targetPort: 8080, protocol: TCP}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: {ns}, labels: {{app: api}}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      serviceAccountName: api
      containers:
      - name: api
        image: nginx:1.25
        ports: [{{containerPort: 8080, protocol: TCP}}]
        env: [{{name: LEVEL, value: info}}]
        livenessProbe: {{httpGet: {{path: /healthz, port: 8080}}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {ns}}}
spec:
  serviceName: db
  replicas: 0
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: db, image: "postgres:16"}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      containers: [{{name: agent, image: "busybox:1.36"}}]
---
apiVersion: batch/v1
kind: Job
metadata: {{name: migrate, namespace: {ns}}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: migrate, image: "busybox:1.36"}}]
---
apiVersion: {cj}
kind: CronJob
metadata: {{name: report, namespace: {ns}}}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{{name: report, image: "busybox:1.36"}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web, namespace: {ns}}}
spec:
  rules:
  - host: {ns}.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend: {{service: {{name: api, port: {{number: 80}}}}}}
---
apiVersion: {hpa}
kind: HorizontalPodAutoscaler
metadata: {{name: api, namespace: {ns}}}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: StatefulSet, name: db}}
  minReplicas: 1
  maxReplicas: 3
  {hpa_metrics}
"#
        )
    }

    /// The custom resource of [`Bench::crd`]'s kind.
    pub fn widget(&self, group: &str) -> String {
        format!(
            "apiVersion: {group}/v1\nkind: Widget\nmetadata: {{name: w, namespace: {}}}\nspec: {{size: 3}}\n",
            self.ns
        )
    }

    /// Writes `yaml` to a scratch file for kubectl `-f`.
    pub fn scratch(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::write(&path, yaml).expect("write scratch file");
        path
    }
}

/// Every field `desired` sets has the same value in `live` (lists element by element): what
/// "live equals the render on every field Git sets" means. Returns the first mismatch.
pub fn covers(live: &Value, desired: &Value, path: &str) -> Result<(), String> {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => d.iter().try_for_each(|(k, dv)| {
            let lv = l.get(k).unwrap_or(&Value::Null);
            covers(lv, dv, &format!("{path}/{k}"))
        }),
        (Value::Array(l), Value::Array(d)) if l.len() == d.len() => l
            .iter()
            .zip(d)
            .enumerate()
            .try_for_each(|(i, (lv, dv))| covers(lv, dv, &format!("{path}/{i}"))),
        (l, d) if l == d => Ok(()),
        (l, d) if l.to_string().trim_matches('"') == d.to_string().trim_matches('"') => Ok(()),
        (l, d) => Err(format!("{path}: live {l} != desired {d}")),
    }
}

/// The render's documents as JSON (for [`covers`]).
pub fn documents(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_saphyr::from_str::<Value>(d).expect("render document"))
        .collect()
}
