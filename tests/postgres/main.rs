//! Tests that need a PostgreSQL server: many `patrol sweep` workers sharing one sweep through
//! a PostgreSQL datastore (`sweep_pg`); TLS to the datastore (`sslmode`, `sslrootcert`) and
//! `sweep --join`, each against a cluster of its own (`pg_tls`).
//!
//! A harness of its own (`harness = false`, see `tests/support/prerequisite.rs`): it starts a
//! throw-away cluster when PostgreSQL's server programs are installed (or uses the server
//! `PATROL_TEST_PG_URL` names), and otherwise counts these tests as ignored, with the reason;
//! under `CI=true` a missing server is a failure.

#[path = "../support/pg_server.rs"]
mod pg_server;
mod pg_tls;
#[path = "../support/prerequisite.rs"]
mod prerequisite;
mod sweep_pg;
#[path = "../integration/sweep_server.rs"]
mod sweep_server;
#[path = "../integration/util.rs"]
mod util;

use prerequisite::Case;

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
