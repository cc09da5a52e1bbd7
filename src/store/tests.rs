//! The store contract on SQLite. The checks live in `tests/support/store_contract.rs`, written
//! against the public API, so that `tests/postgres/` runs the same checks on PostgreSQL
//! (counted as not run when PostgreSQL's server programs are missing).

#[path = "../../tests/support/store_contract.rs"]
mod contract;

pub(super) use contract::{entry, result};

#[test]
fn the_plan_is_claimed_once_each_and_a_repository_committed_twice_is_recorded_once() {
    contract::on_sqlite(
        false,
        contract::the_plan_is_claimed_once_each_and_a_repository_committed_twice_is_recorded_once,
    );
}

#[test]
fn whole_secrets_are_kept_only_when_asked_and_outcomes_merge() {
    contract::on_sqlite(
        true,
        contract::whole_secrets_are_kept_only_when_asked_and_outcomes_merge,
    );
}

#[test]
fn a_second_sweep_sees_old_findings_as_not_new() {
    contract::on_sqlite(false, contract::a_second_sweep_sees_old_findings_as_not_new);
}

/// A datastore made by the previous patrol (schema version 1) is migrated on open.
#[test]
fn a_version_1_datastore_is_migrated_and_keeps_its_rows() {
    contract::a_version_1_datastore_is_migrated_and_keeps_its_rows_on_sqlite();
}
