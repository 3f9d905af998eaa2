//! The sandbox: an embedded Kubernetes API server and workload simulator for `driftdeck demo`
//! and the tests. It imports nothing of the rest of driftdeck; only the wire protocol is shared.
//!
//! This file is the pure-semantics half (the server core lives beside it): API-server
//! [`defaults`], the workload [`sim`]ulator, deterministic pod [`logs`] and injectable
//! [`faults`]. None of these do IO, spawn tasks or read a clock — time is passed in.

pub mod defaults;
pub mod faults;
pub mod logs;
pub mod sim;
