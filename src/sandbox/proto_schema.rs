//! Protobuf field tables for the kinds `kubectl create <generator>` sends as
//! `application/vnd.kubernetes.protobuf` besides Namespace, ConfigMap and Secret (`proto`):
//! Deployment, Job, CronJob, Service, ServiceAccount, Role, ClusterRole, RoleBinding,
//! ClusterRoleBinding and Ingress. Each table maps a field number of `k8s.io/api`'s
//! `generated.proto` to its JSON name and type; fields not listed are skipped (no generator sets
//! them). Pure; imports nothing of the crate.
//!
//! Go's generated marshallers write every non-pointer field, empty or not, so a decoded empty
//! string, zero number or `false` of a plain field means "unset" and is dropped (that is what
//! made `generateName: ""` appear); pointer fields (`replicas`, `backoffLimit`, `suspend`, …)
//! are written only when set and keep their zero. Empty non-pointer messages stay `{}`, as
//! kubectl's JSON sends them (`resources: {}`, `strategy: {}`).

use serde_json::{Map, Value, json};

use super::proto::{Field, fields, insert_entry, object_meta, text};

#[derive(Clone, Copy)]
pub(super) enum Ty {
    Meta,
    Str,
    /// A non-pointer integer: zero is unset.
    Int,
    /// A pointer integer: present means set.
    OptInt,
    Bool,
    OptBool,
    Msg(&'static [F]),
    /// A repeated message.
    List(&'static [F]),
    /// A message whose fields JSON inlines into the parent (`IngressRuleValue`).
    Inline(&'static [F]),
    Strs,
    StrMap,
    /// `map<string, Quantity>`: resource requests and limits.
    QtyMap,
    IntOrStr,
}

pub(super) struct F(pub u64, pub &'static str, pub Ty);

const SELECTOR_REQ: &[F] = &[
    F(1, "key", Ty::Str),
    F(2, "operator", Ty::Str),
    F(3, "values", Ty::Strs),
];
const LABEL_SELECTOR: &[F] = &[
    F(1, "matchLabels", Ty::StrMap),
    F(2, "matchExpressions", Ty::List(SELECTOR_REQ)),
];
const CONTAINER_PORT: &[F] = &[
    F(1, "name", Ty::Str),
    F(2, "hostPort", Ty::Int),
    F(3, "containerPort", Ty::Int),
    F(4, "protocol", Ty::Str),
    F(5, "hostIP", Ty::Str),
];
const ENV_VAR: &[F] = &[F(1, "name", Ty::Str), F(2, "value", Ty::Str)];
const RESOURCES: &[F] = &[F(1, "limits", Ty::QtyMap), F(2, "requests", Ty::QtyMap)];
const CONTAINER: &[F] = &[
    F(1, "name", Ty::Str),
    F(2, "image", Ty::Str),
    F(3, "command", Ty::Strs),
    F(4, "args", Ty::Strs),
    F(5, "workingDir", Ty::Str),
    F(6, "ports", Ty::List(CONTAINER_PORT)),
    F(7, "env", Ty::List(ENV_VAR)),
    F(8, "resources", Ty::Msg(RESOURCES)),
    F(13, "terminationMessagePath", Ty::Str),
    F(14, "imagePullPolicy", Ty::Str),
    F(16, "stdin", Ty::Bool),
    F(17, "stdinOnce", Ty::Bool),
    F(18, "tty", Ty::Bool),
    F(20, "terminationMessagePolicy", Ty::Str),
];
const LOCAL_REF: &[F] = &[F(1, "name", Ty::Str)];
const POD_SPEC: &[F] = &[
    F(2, "containers", Ty::List(CONTAINER)),
    F(3, "restartPolicy", Ty::Str),
    F(4, "terminationGracePeriodSeconds", Ty::OptInt),
    F(5, "activeDeadlineSeconds", Ty::OptInt),
    F(6, "dnsPolicy", Ty::Str),
    F(7, "nodeSelector", Ty::StrMap),
    F(8, "serviceAccountName", Ty::Str),
    F(10, "nodeName", Ty::Str),
    F(11, "hostNetwork", Ty::Bool),
    F(15, "imagePullSecrets", Ty::List(LOCAL_REF)),
    F(16, "hostname", Ty::Str),
    F(17, "subdomain", Ty::Str),
    F(19, "schedulerName", Ty::Str),
    F(20, "initContainers", Ty::List(CONTAINER)),
];
const POD_TEMPLATE: &[F] = &[F(1, "metadata", Ty::Meta), F(2, "spec", Ty::Msg(POD_SPEC))];
const STRATEGY: &[F] = &[F(1, "type", Ty::Str)];
const DEPLOYMENT_SPEC: &[F] = &[
    F(1, "replicas", Ty::OptInt),
    F(2, "selector", Ty::Msg(LABEL_SELECTOR)),
    F(3, "template", Ty::Msg(POD_TEMPLATE)),
    F(4, "strategy", Ty::Msg(STRATEGY)),
    F(5, "minReadySeconds", Ty::Int),
    F(6, "revisionHistoryLimit", Ty::OptInt),
    F(7, "paused", Ty::Bool),
    F(9, "progressDeadlineSeconds", Ty::OptInt),
];
const JOB_SPEC: &[F] = &[
    F(1, "parallelism", Ty::OptInt),
    F(2, "completions", Ty::OptInt),
    F(3, "activeDeadlineSeconds", Ty::OptInt),
    F(4, "selector", Ty::Msg(LABEL_SELECTOR)),
    F(5, "manualSelector", Ty::OptBool),
    F(6, "template", Ty::Msg(POD_TEMPLATE)),
    F(7, "backoffLimit", Ty::OptInt),
    F(8, "ttlSecondsAfterFinished", Ty::OptInt),
    F(9, "completionMode", Ty::Str),
    F(10, "suspend", Ty::OptBool),
];
const JOB_TEMPLATE: &[F] = &[F(1, "metadata", Ty::Meta), F(2, "spec", Ty::Msg(JOB_SPEC))];
const CRONJOB_SPEC: &[F] = &[
    F(1, "schedule", Ty::Str),
    F(2, "startingDeadlineSeconds", Ty::OptInt),
    F(3, "concurrencyPolicy", Ty::Str),
    F(4, "suspend", Ty::OptBool),
    F(5, "jobTemplate", Ty::Msg(JOB_TEMPLATE)),
    F(6, "successfulJobsHistoryLimit", Ty::OptInt),
    F(7, "failedJobsHistoryLimit", Ty::OptInt),
    F(8, "timeZone", Ty::Str),
];
const SERVICE_PORT: &[F] = &[
    F(1, "name", Ty::Str),
    F(2, "protocol", Ty::Str),
    F(3, "port", Ty::Int),
    F(4, "targetPort", Ty::IntOrStr),
    F(5, "nodePort", Ty::Int),
    F(6, "appProtocol", Ty::Str),
];
const SERVICE_SPEC: &[F] = &[
    F(1, "ports", Ty::List(SERVICE_PORT)),
    F(2, "selector", Ty::StrMap),
    F(3, "clusterIP", Ty::Str),
    F(4, "type", Ty::Str),
    F(5, "externalIPs", Ty::Strs),
    F(7, "sessionAffinity", Ty::Str),
    F(8, "loadBalancerIP", Ty::Str),
    F(10, "externalName", Ty::Str),
    F(11, "externalTrafficPolicy", Ty::Str),
];
const POLICY_RULE: &[F] = &[
    F(1, "verbs", Ty::Strs),
    F(2, "apiGroups", Ty::Strs),
    F(3, "resources", Ty::Strs),
    F(4, "resourceNames", Ty::Strs),
    F(5, "nonResourceURLs", Ty::Strs),
];
const SUBJECT: &[F] = &[
    F(1, "kind", Ty::Str),
    F(2, "apiGroup", Ty::Str),
    F(3, "name", Ty::Str),
    F(4, "namespace", Ty::Str),
];
const ROLE_REF: &[F] = &[
    F(1, "apiGroup", Ty::Str),
    F(2, "kind", Ty::Str),
    F(3, "name", Ty::Str),
];
const BACKEND_PORT: &[F] = &[F(1, "name", Ty::Str), F(2, "number", Ty::Int)];
const SERVICE_BACKEND: &[F] = &[F(1, "name", Ty::Str), F(2, "port", Ty::Msg(BACKEND_PORT))];
const INGRESS_BACKEND: &[F] = &[F(4, "service", Ty::Msg(SERVICE_BACKEND))];
const HTTP_PATH: &[F] = &[
    F(1, "path", Ty::Str),
    F(2, "backend", Ty::Msg(INGRESS_BACKEND)),
    F(3, "pathType", Ty::Str),
];
const HTTP_RULE: &[F] = &[F(1, "paths", Ty::List(HTTP_PATH))];
const RULE_VALUE: &[F] = &[F(1, "http", Ty::Msg(HTTP_RULE))];
const INGRESS_RULE: &[F] = &[F(1, "host", Ty::Str), F(2, "", Ty::Inline(RULE_VALUE))];
const INGRESS_TLS: &[F] = &[F(1, "hosts", Ty::Strs), F(2, "secretName", Ty::Str)];
const INGRESS_SPEC: &[F] = &[
    F(1, "defaultBackend", Ty::Msg(INGRESS_BACKEND)),
    F(2, "tls", Ty::List(INGRESS_TLS)),
    F(3, "rules", Ty::List(INGRESS_RULE)),
    F(4, "ingressClassName", Ty::Str),
];

const DEPLOYMENT: &[F] = &[
    F(1, "metadata", Ty::Meta),
    F(2, "spec", Ty::Msg(DEPLOYMENT_SPEC)),
];
const JOB: &[F] = &[F(1, "metadata", Ty::Meta), F(2, "spec", Ty::Msg(JOB_SPEC))];
const CRONJOB: &[F] = &[
    F(1, "metadata", Ty::Meta),
    F(2, "spec", Ty::Msg(CRONJOB_SPEC)),
];
const SERVICE: &[F] = &[
    F(1, "metadata", Ty::Meta),
    F(2, "spec", Ty::Msg(SERVICE_SPEC)),
];
const SERVICE_ACCOUNT: &[F] = &[
    F(1, "metadata", Ty::Meta),
    F(3, "imagePullSecrets", Ty::List(LOCAL_REF)),
    F(4, "automountServiceAccountToken", Ty::OptBool),
];
const ROLE: &[F] = &[
    F(1, "metadata", Ty::Meta),
    F(2, "rules", Ty::List(POLICY_RULE)),
];
const ROLE_BINDING: &[F] = &[
    F(1, "metadata", Ty::Meta),
    F(2, "subjects", Ty::List(SUBJECT)),
    F(3, "roleRef", Ty::Msg(ROLE_REF)),
];
const INGRESS: &[F] = &[
    F(1, "metadata", Ty::Meta),
    F(2, "spec", Ty::Msg(INGRESS_SPEC)),
];

/// The field table of a top-level kind, `None` for kinds without one.
pub(super) fn schema_of(kind: &str) -> Option<&'static [F]> {
    Some(match kind {
        "Deployment" => DEPLOYMENT,
        "Job" => JOB,
        "CronJob" => CRONJOB,
        "Service" => SERVICE,
        "ServiceAccount" => SERVICE_ACCOUNT,
        "Role" | "ClusterRole" => ROLE,
        "RoleBinding" | "ClusterRoleBinding" => ROLE_BINDING,
        "Ingress" => INGRESS,
        _ => return None,
    })
}

/// Decodes one message by its table.
pub(super) fn message(buf: &[u8], schema: &[F]) -> Option<Map<String, Value>> {
    let mut out = Value::Object(Map::new());
    for (num, field) in fields(buf)? {
        let Some(F(_, name, ty)) = schema.iter().find(|f| f.0 == num) else {
            continue;
        };
        let name = *name;
        match (*ty, field) {
            (Ty::Meta, Field::Bytes(b)) => out[name] = object_meta(b)?,
            (Ty::Str, Field::Bytes(b)) if !b.is_empty() => out[name] = text(b),
            (Ty::Int, Field::Varint(v)) if v != 0 => out[name] = json!(signed(v)),
            (Ty::OptInt, Field::Varint(v)) => out[name] = json!(signed(v)),
            (Ty::Bool, Field::Varint(v)) if v != 0 => out[name] = json!(true),
            (Ty::OptBool, Field::Varint(v)) => out[name] = json!(v != 0),
            (Ty::Msg(s), Field::Bytes(b)) => out[name] = Value::Object(message(b, s)?),
            (Ty::Inline(s), Field::Bytes(b)) => {
                if let Some(map) = out.as_object_mut() {
                    map.extend(message(b, s)?);
                }
            }
            (Ty::List(s), Field::Bytes(b)) => push(&mut out, name, Value::Object(message(b, s)?)),
            (Ty::Strs, Field::Bytes(b)) => push(&mut out, name, text(b)),
            (Ty::StrMap, Field::Bytes(b)) => insert_entry(&mut out, name, b, false)?,
            (Ty::QtyMap, Field::Bytes(b)) => {
                let (key, qty) = quantity_entry(b)?;
                if !out[name].is_object() {
                    out[name] = Value::Object(Map::new());
                }
                out[name][key] = qty;
            }
            (Ty::IntOrStr, Field::Bytes(b)) => out[name] = int_or_string(b)?,
            _ => {}
        }
    }
    match out {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// An int32/int64 varint as the signed number it encodes.
fn signed(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

fn push(out: &mut Value, name: &str, item: Value) {
    if !out[name].is_array() {
        out[name] = json!([]);
    }
    if let Some(list) = out[name].as_array_mut() {
        list.push(item);
    }
}

/// A `map<string, Quantity>` entry: `{1: key, 2: Quantity{1: string}}`.
fn quantity_entry(b: &[u8]) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut qty = Value::String(String::new());
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => key = String::from_utf8_lossy(x).into_owned(),
            (2, Field::Bytes(x)) => {
                for (qn, qf) in fields(x)? {
                    if let (1, Field::Bytes(s)) = (qn, qf) {
                        qty = text(s);
                    }
                }
            }
            _ => {}
        }
    }
    Some((key, qty))
}

/// `IntOrString{1: type (0 int, 1 string), 2: intVal, 3: strVal}`.
fn int_or_string(b: &[u8]) -> Option<Value> {
    let (mut is_string, mut int, mut string) = (false, 0, Value::String(String::new()));
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Varint(t)) => is_string = t == 1,
            (2, Field::Varint(v)) => int = signed(v),
            (3, Field::Bytes(s)) => string = text(s),
            _ => {}
        }
    }
    Some(if is_string { string } else { json!(int) })
}
