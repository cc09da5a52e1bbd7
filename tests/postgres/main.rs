//! Tests that need a PostgreSQL server: many `patrol sweep` workers sharing one sweep through
//! a PostgreSQL datastore (`sweep_pg`); TLS to the datastore (`sslmode`, `sslrootcert`) and
//! `sweep --join`, each against a cluster of its own (`pg_tls`); the store contract
//! (`tests/support/store_contract.rs`, also run on SQLite by the library's unit tests); a
//! finding's round trip through the datastore, on both backends (`round_trip`).
//!
//! A harness of its own (`harness = false`, see `tests/support/prerequisite.rs`): it starts a
//! throw-away cluster when PostgreSQL's server programs are installed (or uses the server
//! `PATROL_TEST_PG_URL` names), and otherwise counts these tests as ignored, with the reason;
//! under `CI=true` a missing server is a failure.

#[path = "../integration/git_repo.rs"]
mod git_repo;
#[path = "../support/pg_server.rs"]
mod pg_server;
mod pg_tls;
#[path = "../support/prerequisite.rs"]
mod prerequisite;
mod round_trip;
#[path = "../support/store_contract.rs"]
mod store_contract;
mod sweep_pg;
#[path = "../integration/sweep_server.rs"]
mod sweep_server;
#[path = "../integration/util.rs"]
mod util;

use prerequisite::Case;
use store_contract as contract;

/// A store contract check on PostgreSQL, as a test body.
macro_rules! on_postgres {
    ($check:ident, $secrets:expr) => {
        Case {
            name: concat!("store_contract::", stringify!($check)),
            needs: true,
            run: || contract::on_postgres(stringify!($check), $secrets, contract::$check),
        }
    };
}

const CASES: &[Case] = &[
    Case {
        name: "sweep_pg::three_workers_share_a_sweep_and_a_killed_workers_repository_is_taken_over",
        needs: true,
        run: sweep_pg::three_workers_share_a_sweep_and_a_killed_workers_repository_is_taken_over,
    },
    Case {
        name: "sweep_pg::workers_ride_out_a_database_restart_and_nothing_is_lost_or_doubled",
        needs: true,
        run: sweep_pg::workers_ride_out_a_database_restart_and_nothing_is_lost_or_doubled,
    },
    Case {
        name: "sweep_pg::a_password_in_the_datastore_url_is_refused_and_never_echoed",
        needs: false,
        run: sweep_pg::a_password_in_the_datastore_url_is_refused_and_never_echoed,
    },
    on_postgres!(
        the_plan_is_claimed_once_each_and_a_repository_committed_twice_is_recorded_once,
        false
    ),
    on_postgres!(
        whole_secrets_are_kept_only_when_asked_and_outcomes_merge,
        true
    ),
    on_postgres!(a_second_sweep_sees_old_findings_as_not_new, false),
    Case {
        name: "store_contract::workers_share_a_plan_and_a_lost_lease_writes_nothing",
        needs: true,
        run: contract::workers_share_a_plan_and_a_lost_lease_writes_nothing,
    },
    Case {
        name: "store_contract::a_running_sweep_of_another_target_is_refused",
        needs: true,
        run: contract::a_running_sweep_of_another_target_is_refused,
    },
    Case {
        name: "store_contract::a_newer_schema_is_refused_and_an_empty_database_gets_the_schema",
        needs: true,
        run: contract::a_newer_schema_is_refused_and_an_empty_database_gets_the_schema,
    },
    Case {
        name: "store_contract::a_version_1_datastore_is_migrated_and_keeps_its_rows_on_postgres",
        needs: true,
        run: contract::a_version_1_datastore_is_migrated_and_keeps_its_rows_on_postgres,
    },
    Case {
        name: "round_trip::scan_then_store_then_report_equals_scan_then_report_on_sqlite",
        needs: false,
        run: round_trip::scan_then_store_then_report_equals_scan_then_report_on_sqlite,
    },
    Case {
        name: "round_trip::scan_then_store_then_report_equals_scan_then_report_on_postgres",
        needs: true,
        run: round_trip::scan_then_store_then_report_equals_scan_then_report_on_postgres,
    },
    Case {
        name: "pg_tls::sslmodes_against_a_server_with_a_generated_ca",
        needs: true,
        run: pg_tls::sslmodes_against_a_server_with_a_generated_ca,
    },
    Case {
        name: "pg_tls::prefer_falls_back_to_plain_and_require_is_refused_without_tls",
        needs: true,
        run: pg_tls::prefer_falls_back_to_plain_and_require_is_refused_without_tls,
    },
    Case {
        name: "pg_tls::a_join_worker_after_a_complete_sweep_waits_for_the_next_one",
        needs: true,
        run: pg_tls::a_join_worker_after_a_complete_sweep_waits_for_the_next_one,
    },
    Case {
        name: "pg_tls::join_needs_a_shared_datastore",
        needs: false,
        run: pg_tls::join_needs_a_shared_datastore,
    },
];

fn main() -> std::process::ExitCode {
    prerequisite::run(CASES, pg_server::PgServer::start).exit_code()
}
