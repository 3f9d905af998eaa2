//! The `render` module at its boundaries: the kustomize conformance corpus through the real
//! binary, the external renderer against `kubectl kustomize`, plain-YAML folders, errors that
//! name their file, determinism of the digest, and a property test that no input panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use driftdeck::render::{DiskFs, Error, MemFs, Renderer, render, to_yaml};
use proptest::prelude::*;
use serde_json::{Value, json};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/kustomize")
}

/// Runs compare.py (with `--order`: kustomize's output order counts) over `corpus`; returns
/// (passed, failed, every line printed).
fn compare(corpus: &Path) -> (usize, usize, String) {
    assert!(
        corpus.join("README.md").is_file(),
        "RENDER CONFORMANCE NOT RUN: corpus missing at {} (shared/ must sit beside the repo)",
        corpus.display()
    );
    let script = corpus.join("../compare.py");
    let yaml_ok = Command::new("python3")
        .args(["-c", "import yaml"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        yaml_ok,
        "RENDER CONFORMANCE NOT RUN: python3 with PyYAML is needed (python3 -m pip install pyyaml)"
    );
    let out = Command::new("python3")
        .arg(&script)
        .arg("--order")
        .arg(corpus)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_driftdeck"))
        .arg("render")
        .output()
        .expect("run compare.py");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    let nums: Vec<usize> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert!(
        last.ends_with("failed") && nums.len() == 2,
        "unexpected compare.py output:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (nums[0], nums[1], stdout)
}

/// Every case of the corpus must pass, in kustomize's output order. The count is the real
/// figure reached (38 of 38); a machine without python3, PyYAML or the corpus fails loudly
/// instead of passing.
#[test]
fn conformance_corpus_passes_through_the_binary() {
    let (passed, failed, stdout) = compare(&corpus());
    assert!(passed >= 38 && failed == 0, "conformance:\n{stdout}");
}

/// The real-world corpus: at least the figure reached (195 of 200), and no case renders
/// something other than what kustomize prints — every remaining failure is an error.
#[test]
fn wild_corpus_never_renders_different_output() {
    let wild = corpus().join("../kustomize-wild");
    let (passed, _, stdout) = compare(&wild);
    let wrong: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAIL") && !l.contains("render exited"))
        .collect();
    assert!(
        wrong.is_empty(),
        "exit 0 with output unlike kustomize's:\n{}",
        wrong.join("\n")
    );
    assert!(passed >= 195, "wild corpus:\n{stdout}");
}

fn sorted(objs: Vec<Value>) -> Vec<Value> {
    let mut objs = objs;
    objs.sort_by_key(|o| o.to_string());
    objs
}

/// Fails the test when kubectl is missing: `.ci/run` installs it (Debian's kubernetes-client),
/// and a renderer comparison that did not run must not pass.
fn require_kubectl() {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "kubectl is required to compare the external renderer and was not found on PATH"
    );
}

/// The external renderer runs `kubectl kustomize .` in a copy of the tree; its output must
/// equal the native renderer's on a realistic case.
#[test]
fn external_kubectl_kustomize_agrees_with_native() {
    require_kubectl();
    let fs = DiskFs::new(corpus().join("env-shop-production"));
    let external = Renderer::External {
        command: vec!["kubectl".into(), "kustomize".into(), ".".into()],
    };
    let ext = render(&fs, "overlays/production", &external).unwrap();
    let native = render(&fs, "overlays/production", &Renderer::Auto).unwrap();
    assert!(ext.manifests.len() >= 5);
    let objs = |r: &driftdeck::render::Rendered| {
        sorted(r.manifests.iter().map(|m| m.object().clone()).collect())
    };
    assert_eq!(objs(&ext), objs(&native));
    assert!(
        ext.inputs
            .contains(&"overlays/production/kustomization.yaml".to_string())
    );
}

#[test]
fn external_failure_reports_stderr() {
    let fs = MemFs::new().with("app/kustomization.yaml", "resources: [missing.yaml]\n");
    let external = Renderer::External {
        command: vec!["kubectl".into(), "kustomize".into(), ".".into()],
    };
    let err = render(&fs, "app", &external).unwrap_err().to_string();
    assert!(
        err.contains("kubectl kustomize") && err.contains("missing.yaml"),
        "{err}"
    );
}

#[test]
fn plain_yaml_folder_reads_every_yaml_file_sorted() {
    let fs = MemFs::new()
        .with(
            "env/b.yaml",
            "# comment only\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n---\n",
        )
        .with(
            "env/a/list.yml",
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: s1}}\n- {apiVersion: v1, kind: Service, metadata: {name: s2}}\n",
        )
        .with("env/notes.txt", "not yaml: [")
        .with("other/c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    let r = render(&fs, "env", &Renderer::Auto).unwrap();
    let names: Vec<&str> = r.manifests.iter().map(|m| m.name()).collect();
    assert_eq!(names, ["s1", "s2", "b"]);
    assert_eq!(r.inputs, ["env/a/list.yml", "env/b.yaml"]);
    let text = to_yaml(&r.manifests);
    assert_eq!(text.matches("\n---\n").count(), 2, "{text}");
}

fn shop() -> MemFs {
    MemFs::new()
        .with(
            "base/kustomization.yaml",
            "resources: [app.yaml]\nconfigMapGenerator:\n- name: cfg\n  literals: [A=1]\n",
        )
        .with(
            "base/app.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n        envFrom: [{configMapRef: {name: cfg}}]\n",
        )
        .with(
            "prod/kustomization.yaml",
            "resources: [../base]\nnamePrefix: prod-\nnamespace: shop\nimages: [{name: nginx, newTag: '2.0'}]\n",
        )
}

#[test]
fn kustomize_overlay_in_memory_with_inputs_and_stable_digest() {
    let fs = shop();
    let a = render(&fs, "prod", &Renderer::Auto).unwrap();
    let b = render(&fs, "prod/", &Renderer::Auto).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.digest.len(), 64);
    assert_eq!(
        a.inputs,
        [
            "base/app.yaml",
            "base/kustomization.yaml",
            "prod/kustomization.yaml"
        ]
    );
    let deploy = a
        .manifests
        .iter()
        .find(|m| m.kind() == "Deployment")
        .unwrap();
    assert_eq!(deploy.name(), "prod-web");
    assert_eq!(deploy.namespace(), "shop");
    let c = &deploy.object()["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], json!("nginx:2.0"));
    let cm = a
        .manifests
        .iter()
        .find(|m| m.kind() == "ConfigMap")
        .unwrap();
    assert!(cm.name().starts_with("prod-cfg-") && cm.name().len() == "prod-cfg-".len() + 10);
    assert_eq!(c["envFrom"][0]["configMapRef"]["name"], json!(cm.name()));

    let changed = shop().with(
        "base/kustomization.yaml",
        "resources: [app.yaml]\nconfigMapGenerator:\n- name: cfg\n  literals: [A=2]\n",
    );
    let d = render(&changed, "prod", &Renderer::Auto).unwrap();
    assert_ne!(a.digest, d.digest);
}

#[test]
fn render_errors_name_the_file_and_position() {
    let cases: Vec<(MemFs, &str, &str)> = vec![
        (
            MemFs::new().with("k/kustomization.yaml", "resources: [nope.yaml]\n"),
            "k/kustomization.yaml",
            "nope.yaml",
        ),
        (
            MemFs::new()
                .with("a/kustomization.yaml", "resources: [../b]\n")
                .with("b/kustomization.yaml", "resources: [../a]\n"),
            "cycle",
            "a -> b -> a",
        ),
        (
            MemFs::new()
                .with("k/kustomization.yaml", "resources: [d.yaml]\n")
                .with("k/d.yaml", "kind: A\nmetadata:\n  name: x\n   bad: y\n"),
            "k/d.yaml:",
            ":",
        ),
        (
            MemFs::new().with("k/kustomization.yaml", "resources: []\nimgaes: []\n"),
            "k/kustomization.yaml:2:1",
            "imgaes",
        ),
        (
            MemFs::new()
                .with(
                    "k/kustomization.yaml",
                    "resources: [d.yaml]\npatches:\n- patch: |\n    kind: Deployment\n    apiVersion: apps/v1\n    metadata: {name: other}\n",
                )
                .with("k/d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"),
            "k/kustomization.yaml",
            "other",
        ),
        (
            MemFs::new().with("k/kustomization.yaml", "resources: [../../etc]\n"),
            "escapes",
            "../../etc",
        ),
        (
            MemFs::new().with("k/kustomization.yaml", "helmCharts: [{name: x}]\n"),
            "helmCharts",
            "not supported",
        ),
    ];
    for (fs, want1, want2) in cases {
        let entry = if want1 == "cycle" { "a" } else { "k" };
        let err = render(&fs, entry, &Renderer::Auto).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(want1) && text.contains(want2),
            "{text:?} should mention {want1:?} and {want2:?}"
        );
    }
    let rooted = Error::Cycle(vec!["a".into(), "b".into()]).rooted("/repo/");
    assert_eq!(
        rooted.to_string(),
        "kustomization cycle: /repo/a -> /repo/b"
    );
}

const FIELDS: &[&str] = &[
    "resources: [deploy.yaml, svc.yaml]",
    "resources: [base]",
    "resources: [deploy.yaml, ../x, base, missing.yaml]",
    "components: [comp]",
    "namespace: prod",
    "namePrefix: p-",
    "nameSuffix: -s",
    "commonLabels: {app: web, tier: x}",
    "labels: [{pairs: {a: b}, includeSelectors: true}]",
    "labels: [{pairs: {c: d}, includeTemplates: true}]",
    "commonAnnotations: {note: hi}",
    "images: [{name: nginx, newName: reg/nginx, newTag: '2', digest: 'sha256:ab'}]",
    "replicas: [{name: web, count: 3}]",
    "patches: [{patch: '[{op: add, path: /spec/replicas, value: 2}]', target: {kind: Deployment}}]",
    "patches: [{patch: '[{op: remove, path: /metadata/labels/app}]', target: {name: 'w.*', labelSelector: 'app in (web)'}}]",
    "patches: [{patch: '{kind: Deployment, apiVersion: apps/v1, metadata: {name: web}, spec: {template: {spec: {containers: [{name: web, $patch: delete}]}}}}'}]",
    "patches: [{path: patch.yaml}]",
    "patchesStrategicMerge: [patch.yaml]",
    "patchesJson6902: [{target: {version: v1, kind: Service, name: svc}, path: ops.yaml}]",
    "configMapGenerator: [{name: cfg, literals: ['A=1', 'B=\"q\"'], files: [deploy.yaml], envs: [app.env]}]",
    "configMapGenerator: [{name: cfg, behavior: merge, literals: [C=3]}]",
    "secretGenerator: [{name: sec, literals: [p=s3cr3t], type: Opaque}]",
    "generatorOptions: {disableNameSuffixHash: true, labels: {g: h}}",
    "kind: Component",
    "replacements: [{source: {kind: Service, name: svc, fieldPath: metadata.name}, targets: [{select: {kind: Deployment}, fieldPaths: ['spec.template.spec.containers.[name=web].env.0.value', spec.x.y], options: {delimiter: '.', index: 1, create: true}}]}]",
    "replacements: [{path: repl.yaml}]",
    "configurations: [kcfg.yaml]",
    "transformers: [tx.yaml]",
    "sortOptions: {order: fifo}",
    "sortOptions: {order: legacy, legacySortOptions: {orderFirst: [Service], orderLast: [Deployment]}}",
    "vars: [{name: SVC, objref: {kind: Service, name: svc, apiVersion: v1}}, {name: IMG, objref: {kind: Deployment, name: web, apiVersion: apps/v1}, fieldref: {fieldpath: 'spec.template.spec.containers[0].image'}}]",
    "generators: [\"apiVersion: builtin\\nkind: ConfigMapGenerator\\nmetadata: {name: gen}\\nliterals: [K=$(SVC)]\\n\"]",
    "generators: [gen.yaml]",
    "transformers: [\"apiVersion: builtin\\nkind: PatchTransformer\\nmetadata: {name: p}\\ntarget: {kind: Deployment}\\npatch: '[{op: replace, path: /spec/paused, value: true}]'\\n\"]",
    "transformers: [\"apiVersion: builtin\\nkind: ReplicaCountTransformer\\nmetadata: {name: r}\\nreplica: {name: web, count: 2}\\nfieldSpecs: [{kind: Deployment, path: spec/replicas, create: true}]\\n\"]",
    "crds: [crd.json]",
    "openapi: {path: schema.json}",
    "resources: [../outside.yaml]",
];

const YAMLISH: &[char] = &[
    ':', '-', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ',
    '\n', '\t', '$', '/', '~', '0', 'a',
];

fn mutate(text: String, edits: Vec<(usize, usize)>) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (pos, c) in edits {
        let at = if chars.is_empty() {
            0
        } else {
            pos % (chars.len() + 1)
        };
        chars.insert(at, YAMLISH[c % YAMLISH.len()]);
    }
    chars.into_iter().collect()
}

fn tree(kustomization: String, resource: String) -> MemFs {
    MemFs::new()
        .with("app/kustomization.yaml", kustomization)
        .with("app/deploy.yaml", resource)
        .with(
            "app/svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: svc}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n",
        )
        .with("app/base/kustomization.yaml", "resources: [svc.yaml]\n")
        .with(
            "app/base/svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: base-svc}\n",
        )
        .with("app/comp/kustomization.yaml", "kind: Component\nnamePrefix: c-\n")
        .with(
            "app/patch.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: null, template: {spec: {containers: [{name: web, image: x}]}}}\n",
        )
        .with(
            "app/gen.yaml",
            "apiVersion: builtin\nkind: SecretGenerator\nmetadata: {name: gsec}\nliterals: [p=$(IMG)]\n---\napiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata: {name: iam}\ncloud: gke\nkubernetesService: {name: ksa}\nserviceAccount: {name: gsa, projectId: p}\n",
        )
        .with(
            "app/crd.json",
            "{\"x.v1.Thing\": {\"Schema\": {\"properties\": {\"apiVersion\": {}, \"kind\": {}, \"metadata\": {}, \"spec\": {\"$ref\": \"x.v1.ThingSpec\"}}}}, \"x.v1.ThingSpec\": {\"Schema\": {\"properties\": {\"svc\": {\"x-kubernetes-object-ref-api-version\": \"v1\", \"x-kubernetes-object-ref-kind\": \"Service\"}, \"self\": {\"$ref\": \"x.v1.ThingSpec\"}}}}}\n",
        )
        .with("app/schema.json", "{\"definitions\": {}}\n")
        .with("outside.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: out}\n")
        .with("app/ops.yaml", "- {op: replace, path: /spec/ports/0/port, value: 81}\n")
        .with("app/app.env", "# c\nK=V\nQ=\"x\"\nBARE\n")
        .with(
            "app/repl.yaml",
            "source: {kind: Deployment, fieldPath: spec.template.spec.containers.0.image, options: {delimiter: ':'}}\ntargets: [{select: {kind: Service}, reject: [{name: other}], fieldPaths: [metadata.annotations.img], options: {create: true}}]\n",
        )
        .with(
            "app/kcfg.yaml",
            "nameReference:\n- kind: Service\n  fieldSpecs: [{kind: Deployment, path: spec/template/metadata/annotations/svc}]\nnamespace: [{kind: Deployment, path: spec/ns, create: true}]\ncommonLabels: [{kind: Deployment, path: spec/extra/labels, create: true}]\nimages: [{kind: Deployment, path: 'spec/template/spec/containers[]/image'}]\n",
        )
        .with(
            "app/tx.yaml",
            "apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata: {name: t}\nprefix: t-\nfieldSpecs: [{path: metadata/name}, {kind: Deployment, path: spec/template/spec/serviceAccountName}]\n---\napiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\nlabels: {x: y}\nfieldSpecs: [{path: metadata/labels, create: true}]\n",
        )
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      serviceAccountName: sa\n      containers:\n      - name: web\n        image: nginx:1\n        envFrom: [{configMapRef: {name: cfg}}]\n        env: [{name: S, valueFrom: {secretKeyRef: {name: sec, key: p}}}]\n";

fn inputs() -> impl Strategy<Value = (String, String)> {
    let structured = (
        proptest::sample::subsequence(FIELDS.to_vec(), 0..=FIELDS.len()),
        proptest::collection::vec((any::<usize>(), any::<usize>()), 0..4),
        proptest::collection::vec((any::<usize>(), any::<usize>()), 0..4),
    )
        .prop_map(|(fields, kedits, redits)| {
            let mut k = String::new();
            let mut seen = std::collections::BTreeSet::new();
            for f in fields {
                // One line per field name; a repeated key is a different (parser) test.
                if seen.insert(f.split(':').next().unwrap_or_default().to_owned()) {
                    k.push_str(f);
                    k.push('\n');
                }
            }
            (mutate(k, kedits), mutate(DEPLOY.to_owned(), redits))
        });
    let bytes = (
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(a, b)| {
            (
                String::from_utf8_lossy(&a).into_owned(),
                String::from_utf8_lossy(&b).into_owned(),
            )
        });
    prop_oneof![4 => structured, 1 => bytes]
}

proptest! {
    // 256 cases unless PROPTEST_CASES says otherwise (a long run: PROPTEST_CASES=200000).
    #![proptest_config(ProptestConfig::default())]

    /// Arbitrary kustomizations and manifests never panic, and rendering is deterministic.
    #[test]
    fn render_never_panics((kustomization, resource) in inputs()) {
        let fs = tree(kustomization, resource);
        let first = render(&fs, "app", &Renderer::Auto);
        let second = render(&fs, "app", &Renderer::Auto);
        prop_assert_eq!(&first, &second);
        if let Ok(r) = first {
            prop_assert_eq!(r.digest.len(), 64);
            let _ = to_yaml(&r.manifests);
        }
    }
}

/// The property test's building blocks are valid on their own (so its inputs reach the
/// transformers instead of stopping at the parser), except the ones meant to fail.
#[test]
fn property_building_blocks_render_alone() {
    // openapi is refused next to the strategic merge patches other fields add; alone it renders.
    let must_fail = ["missing.yaml", "behavior: merge", "../outside.yaml"];
    for f in FIELDS {
        let k = if f.starts_with("resources:") {
            format!("{f}\n")
        } else {
            format!("resources: [deploy.yaml, svc.yaml]\n{f}\n")
        };
        let result = render(&tree(k, DEPLOY.to_owned()), "app", &Renderer::Auto);
        if must_fail.iter().any(|m| f.contains(m)) {
            assert!(result.is_err(), "{f} should fail");
        } else {
            let r = result.unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(!r.manifests.is_empty(), "{f}");
        }
    }
}
