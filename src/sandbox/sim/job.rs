//! (being written) the job controller.

use std::time::Instant;

use super::Simulator;
use super::txn::Txn;

pub(crate) fn reconcile(_sim: &mut Simulator, _now: Instant, _txn: &mut Txn<'_>) {}
