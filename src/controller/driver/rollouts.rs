//! The rollout feed: reads every configured rollout's cluster-held record
//! (`driftdeck-rollout-<name>`, [`RolloutStore::load`]) when the driver starts and then every
//! [`ROLLOUT_PERIOD`], and hands the rows to the driver, which publishes them in
//! `Snapshot.rollouts` when they changed.
//!
//! Decisions where the issue was silent:
//! - Polling, not a watch: the record changes a few times per wave (minutes apart) and the
//!   console counts the soak down from `soak_ends_at` on its own clock, so a read every 5 s
//!   shows a step at most 5 s late for one GET per rollout; a ConfigMap watch per rollout
//!   cluster would cost a long-lived connection for the same picture.
//! - Only this process's reads: the process driving the rollout (`rollout start|resume`) writes
//!   the record; the console and `controller` only read it and never act on it.
//! - A read error is not fatal and raises no notice: the row keeps the last good read and
//!   carries the error (`RolloutRow.error`), which the console shows on the rollout's line; the
//!   log gets one line when the error starts or changes, not one per period.
//! - Started only by drivers over every env (the console, watch mode, `controller`); a CLI
//!   verb's driver (`opts.envs` set) has no one to show rollouts to.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::cluster;
use crate::config::{Config, RolloutConfig};
use crate::controller::rollout::{RolloutStore, base_row, row_of};
use crate::model::RolloutRow;

/// How often each rollout's record is read.
pub const ROLLOUT_PERIOD: Duration = Duration::from_secs(5);

/// One rollout's reader: its store once connected, and the row last published.
struct Reader {
    rollout: RolloutConfig,
    store: Option<RolloutStore>,
    row: RolloutRow,
}

impl Reader {
    async fn read(&mut self, config: &Config) {
        if self.store.is_none() {
            match RolloutStore::connect(config, &self.rollout).await {
                Ok(store) => self.store = Some(store),
                Err(e) => {
                    self.failed(format!("connecting for rollout {}: {e}", self.rollout.name));
                    return;
                }
            }
        }
        let Some(store) = self.store.as_mut() else {
            return;
        };
        match store.load().await {
            Ok(state) => self.row = row_of(&self.rollout, state.as_ref()),
            Err(e @ cluster::Error::BadObject { .. }) => self.failed(e.to_string()),
            Err(e) => {
                let message = format!("reading {}: {e}", store.label());
                self.failed(message);
            }
        }
    }

    fn failed(&mut self, message: String) {
        if self.row.error.as_deref() != Some(message.as_str()) {
            tracing::warn!("rollout {}: {message}", self.rollout.name);
        }
        self.row.error = Some(message);
    }
}

/// Reads every rollout of `config` now and then every [`ROLLOUT_PERIOD`], sending the rows (in
/// config order) whenever any changed; ends when the receiver is dropped.
pub(crate) async fn run(config: Config, tx: mpsc::Sender<Vec<RolloutRow>>) {
    let mut readers: Vec<Reader> = config
        .rollouts
        .iter()
        .map(|r| Reader {
            rollout: r.clone(),
            store: None,
            row: base_row(r),
        })
        .collect();
    let mut last: Option<Vec<RolloutRow>> = None;
    let mut ticks = tokio::time::interval(ROLLOUT_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = tx.closed() => return,
        }
        for reader in &mut readers {
            reader.read(&config).await;
        }
        let rows: Vec<RolloutRow> = readers.iter().map(|r| r.row.clone()).collect();
        if last.as_ref() != Some(&rows) {
            if tx.send(rows.clone()).await.is_err() {
                return;
            }
            last = Some(rows);
        }
    }
}
