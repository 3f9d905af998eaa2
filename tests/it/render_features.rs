//! kustomize features of the native renderer, each from a small tree whose expected output was
//! checked against `kubectl kustomize` (v5.5): vars, generators, buildMetadata, JSON 6902
//! edge cases, objects without apiVersion, crds/openapi, the load restrictor and the empty
//! kustomization.

use driftdeck::render::{MemFs, Renderer, render};
use serde_json::{Value, json};

fn objects(fs: &MemFs, dir: &str) -> Vec<Value> {
    let r = render(fs, dir, &Renderer::Auto).unwrap_or_else(|e| panic!("render {dir}: {e}"));
    r.manifests.iter().map(|m| m.object().clone()).collect()
}

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {objs:?}"))
}

fn error(fs: &MemFs, dir: &str) -> String {
    match render(fs, dir, &Renderer::Auto) {
        Ok(r) => panic!("expected an error, rendered {:?}", r.manifests),
        Err(e) => e.to_string(),
    }
}

const SVC: &str =
    "apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {ports: [{port: 5432}]}\n";
const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: app, labels: {port: $(PORT), url: 'db://$(DB):$(PORT)'}}\nspec: {containers: [{name: c, image: x, args: [$(DB), $$(DB), $(OTHER)]}]}\n";

fn vars_tree() -> MemFs {
    MemFs::new()
        .with(
            "base/kustomization.yaml",
            "resources: [svc.yaml, pod.yaml]\nvars:\n- name: DB\n  objref: {kind: Service, name: db, apiVersion: v1}\n- name: PORT\n  objref: {kind: Service, name: db, version: v1}\n  fieldref: {fieldPath: 'spec.ports[0].port'}\n",
        )
        .with("base/svc.yaml", SVC)
        .with("base/pod.yaml", POD)
        .with("prod/kustomization.yaml", "resources: [../base]\nnamePrefix: prod-\n")
}

#[test]
fn vars_substitute_final_names_typed_values_and_escapes() {
    let objs = objects(&vars_tree(), "prod");
    let pod = find(&objs, "Pod");
    assert_eq!(pod["metadata"]["name"], "prod-app");
    // The var follows the Service through the overlay's prefix.
    assert_eq!(
        pod["spec"]["containers"][0]["args"],
        json!(["prod-db", "$(DB)", "$(OTHER)"])
    );
    // A whole-field reference keeps the number's type, as kustomize does.
    assert_eq!(pod["metadata"]["labels"]["port"], json!(5432));
    assert_eq!(pod["metadata"]["labels"]["url"], json!("db://prod-db:5432"));
}

#[test]
fn vars_that_match_nothing_or_repeat_are_errors() {
    let unbound = vars_tree().with(
        "base/kustomization.yaml",
        "resources: [svc.yaml, pod.yaml]\nvars:\n- name: DB\n  objref: {kind: Service, name: db}\n",
    );
    let e = error(&unbound, "prod");
    assert!(e.contains("var \"DB\" cannot be mapped"), "{e}");
    let twice = vars_tree().with(
        "prod/kustomization.yaml",
        "resources: [../base]\nvars:\n- name: DB\n  objref: {kind: Pod, name: app, apiVersion: v1}\n",
    );
    let e = error(&twice, "prod");
    assert!(e.contains("var \"DB\" already encountered"), "{e}");
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: nginx}]\n";

#[test]
fn generators_entries_inline_file_and_folder_generate_and_merge() {
    let fs = MemFs::new()
        .with(
            "base/kustomization.yaml",
            "configMapGenerator: [{name: env, literals: [A=1]}]\ngenerators:\n- |-\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: inline}\n  options: {disableNameSuffixHash: true}\n  literals: [K=V]\n- iam.yaml\n- ../gens\n",
        )
        .with(
            "base/iam.yaml",
            "apiVersion: builtin\nkind: IAMPolicyGenerator\nmetadata: {name: iam}\ncloud: gke\nkubernetesService: {name: ksa, namespace: ns}\nserviceAccount: {name: gsa, projectId: proj}\n",
        )
        .with("gens/kustomization.yaml", "resources: [merge.yaml]\n")
        .with(
            "gens/merge.yaml",
            "apiVersion: builtin\nkind: ConfigMapGenerator\nmetadata: {name: env}\nbehavior: merge\nenvs: [extra.env]\n",
        )
        // The generator's files are read from the kustomization that lists it.
        .with("base/extra.env", "B=2\n");
    let objs = objects(&fs, "base");
    let inline = objs
        .iter()
        .find(|o| o["metadata"]["name"] == "inline")
        .expect("inline ConfigMap without hash");
    assert_eq!(inline["data"], json!({"K": "V"}));
    let env = objs
        .iter()
        .find(|o| o["metadata"]["name"].as_str().unwrap().starts_with("env-"))
        .expect("hashed env ConfigMap");
    assert_eq!(env["data"], json!({"A": "1", "B": "2"}));
    let sa = find(&objs, "ServiceAccount");
    assert_eq!(
        sa["metadata"],
        json!({"name": "ksa", "namespace": "ns", "annotations": {"iam.gke.io/gcp-service-account": "gsa@proj.iam.gserviceaccount.com"}})
    );
    let exec = fs.clone().with(
        "base/iam.yaml",
        "apiVersion: example.com/v1\nkind: MyGen\nmetadata: {name: g}\n",
    );
    let e = error(&exec, "base");
    assert!(
        e.contains("needs an executable") && e.contains("MyGen"),
        "{e}"
    );
}

#[test]
fn transformer_configs_from_a_folder_patch_and_scale() {
    let fs = MemFs::new()
        .with(
            "app/kustomization.yaml",
            "resources: [deploy.yaml]\ntransformers: [../tx]\n",
        )
        .with("app/deploy.yaml", DEPLOY)
        .with("tx/kustomization.yaml", "resources: [t.yaml]\n")
        .with(
            "tx/t.yaml",
            "apiVersion: builtin\nkind: PatchTransformer\nmetadata: {name: p}\ntarget: {kind: Deployment}\npatch: '[{op: add, path: /spec/paused, value: true}]'\n---\napiVersion: builtin\nkind: PatchStrategicMergeTransformer\nmetadata: {name: s}\npatches: |-\n  apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: web}\n  spec: {template: {spec: {serviceAccountName: sa}}}\n---\napiVersion: builtin\nkind: ReplicaCountTransformer\nmetadata: {name: r}\nreplica: {name: web, count: 3}\nfieldSpecs: [{kind: Deployment, path: spec/replicas, create: true}]\n---\napiVersion: builtin\nkind: NamespaceTransformer\nmetadata: {name: n, namespace: team}\nfieldSpecs: [{path: metadata/namespace, create: true}]\n",
        );
    let objs = objects(&fs, "app");
    let d = find(&objs, "Deployment");
    assert_eq!(d["spec"]["paused"], json!(true));
    assert_eq!(d["spec"]["replicas"], json!(3));
    assert_eq!(d["spec"]["template"]["spec"]["serviceAccountName"], "sa");
    assert_eq!(d["metadata"]["namespace"], "team");
}

#[test]
fn crds_make_custom_fields_follow_renamed_objects() {
    let fs = MemFs::new()
        .with(
            "app/kustomization.yaml",
            "crds: [crd.json]\nresources: [svc.yaml, thing.yaml]\nnamePrefix: x-\n",
        )
        .with("app/svc.yaml", SVC)
        .with(
            "app/thing.yaml",
            "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\nspec: {dbRef: {name: db}}\n",
        )
        .with(
            "app/crd.json",
            r#"{"example.v1.Thing": {"Schema": {"properties": {"apiVersion": {}, "kind": {}, "metadata": {}, "spec": {"$ref": "example.v1.ThingSpec"}}}},
               "example.v1.ThingSpec": {"Schema": {"properties": {"dbRef": {"x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "Service"}}}}}"#,
        );
    let objs = objects(&fs, "app");
    assert_eq!(find(&objs, "Thing")["spec"]["dbRef"]["name"], "x-db");
    let without = fs.clone().with(
        "app/kustomization.yaml",
        "resources: [svc.yaml, thing.yaml]\nnamePrefix: x-\n",
    );
    assert_eq!(
        find(&objects(&without, "app"), "Thing")["spec"]["dbRef"]["name"],
        "db"
    );
}

#[test]
fn json6902_replace_of_a_missing_key_adds_it() {
    let fs = MemFs::new()
        .with(
            "app/kustomization.yaml",
            "resources: [deploy.yaml]\npatches:\n- target: {kind: Deployment}\n  patch: '[{op: replace, path: /spec/template/spec/hostNetwork, value: true}]'\n",
        )
        .with("app/deploy.yaml", DEPLOY);
    let objs = objects(&fs, "app");
    assert_eq!(
        find(&objs, "Deployment")["spec"]["template"]["spec"]["hostNetwork"],
        json!(true)
    );
    let parent_missing = fs.clone().with(
        "app/kustomization.yaml",
        "resources: [deploy.yaml]\npatches:\n- target: {kind: Deployment}\n  patch: '[{op: replace, path: /status/x, value: 1}]'\n",
    );
    let e = error(&parent_missing, "app");
    assert!(e.contains("replace /status/x"), "{e}");
}

#[test]
fn openapi_renders_alone_and_is_refused_beside_strategic_merge_patches() {
    let fs = MemFs::new()
        .with(
            "app/kustomization.yaml",
            "resources: [deploy.yaml]\nopenapi: {path: schema.json}\n",
        )
        .with("app/deploy.yaml", DEPLOY)
        .with("app/schema.json", "{\"definitions\": {}}\n");
    assert_eq!(objects(&fs, "app").len(), 1);
    let patched = fs.clone().with(
        "app/kustomization.yaml",
        "resources: [deploy.yaml]\nopenapi: {path: schema.json}\npatches:\n- patch: '{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {paused: true}}'\n",
    );
    let e = error(&patched, "app");
    assert!(e.contains("openapi"), "{e}");
}

#[test]
fn files_outside_the_kustomization_folder_are_refused() {
    let fs = MemFs::new().with("shared/deploy.yaml", DEPLOY).with(
        "app/kustomization.yaml",
        "resources: [../shared/deploy.yaml]\n",
    );
    let e = error(&fs, "app");
    assert!(
        e.contains("security; file 'shared/deploy.yaml' is not in or below 'app'"),
        "{e}"
    );
    let generator = fs.clone().with(
        "app/kustomization.yaml",
        "configMapGenerator: [{name: c, files: [../shared/deploy.yaml]}]\n",
    );
    assert!(error(&generator, "app").contains("security; file"));
    // Another kustomization folder is fine: it is built with its own root.
    let folder = fs
        .clone()
        .with("shared/kustomization.yaml", "resources: [deploy.yaml]\n")
        .with("app/kustomization.yaml", "resources: [../shared]\n");
    assert_eq!(objects(&folder, "app").len(), 1);
}

#[test]
fn an_empty_kustomization_is_refused_but_an_explicit_empty_list_is_not() {
    for text in [
        "",
        "# nothing\n",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
        "resources:\n",
    ] {
        let fs = MemFs::new().with("app/kustomization.yaml", text);
        let e = error(&fs, "app");
        assert!(e.contains("kustomization.yaml is empty"), "{text:?}: {e}");
    }
    let fs = MemFs::new().with("app/kustomization.yaml", "resources: []\n");
    assert!(objects(&fs, "app").is_empty());
}

#[test]
fn a_resource_id_declared_twice_is_an_error_naming_it_and_the_file() {
    const CM: &str =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: '1'}\n";
    let in_one_file = MemFs::new()
        .with("app/kustomization.yaml", "resources: [cms.yaml]\n")
        .with("app/cms.yaml", format!("{CM}---\n{SVC}---\n{CM}"));
    let in_two_files = MemFs::new()
        .with("app/kustomization.yaml", "resources: [a.yaml, b.yaml]\n")
        .with("app/a.yaml", CM)
        .with("app/b.yaml", CM);
    for fs in [in_one_file, in_two_files] {
        let message = error(&fs, "app");
        assert!(
            message.contains("already registered id") && message.contains("settings"),
            "{message}"
        );
        assert!(message.contains("app/kustomization.yaml"), "{message}");
    }
    // The same name under another kind or namespace is another id.
    let distinct = MemFs::new()
        .with("app/kustomization.yaml", "resources: [a.yaml]\n")
        .with(
            "app/a.yaml",
            format!(
                "{CM}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: settings}}\n---\n\
                 apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: settings, namespace: other}}\n"
            ),
        );
    assert_eq!(objects(&distinct, "app").len(), 3);
}
