//! How driftdeck marks what it owns in a cluster: one set of names for the applier, the
//! observation, the diff's normalisation and the cluster-held state.

/// Label on everything driftdeck applies and on its own state objects.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// [`MANAGED_BY_LABEL`]'s value.
pub const MANAGED_BY_VALUE: &str = "driftdeck";
/// Annotation naming the env an applied object belongs to.
pub const ENV_ANNOTATION: &str = "driftdeck.io/env";
/// Annotation with the revision that last changed an applied object.
pub const REVISION_ANNOTATION: &str = "driftdeck.io/revision";
/// Label telling the state objects (ConfigMap, Lease) apart from applied ones.
pub const STATE_LABEL: &str = "driftdeck.io/state";
/// Lease annotation with the holder's running operation (JSON text).
pub const OPERATION_ANNOTATION: &str = "driftdeck.io/operation";
