//! The contract suite: scenarios written once as `async fn scenario(h: &Harness)` and run for
//! every storage backend by [`contract_suite!`](crate::contract_suite). `storage` holds the ports'
//! contract (what every adapter must do alike); `service` runs the use cases over each backend.
//!
//! Adding a scenario: write the function in its area's module and add its path to the list in
//! [`contract_scenarios!`](crate::contract_scenarios). Adding a backend: a [`Backend`] variant, its
//! factory in [`Harness::start`], and one entry in `tests/tests/contract.rs`.

pub mod fixtures;
pub mod harness;
pub mod service;
pub mod storage;

pub use harness::{Backend, Harness};

/// One `#[tokio::test]` per scenario and backend: `contract_suite!(memory: Memory, sqlite: Sqlite)`
/// makes modules `memory` and `sqlite`, each with every scenario, each test on a fresh store.
#[macro_export]
macro_rules! contract_suite {
    ($($module:ident: $backend:ident),+ $(,)?) => {
        $(
            mod $module {
                $crate::contract_scenarios!($backend);
            }
        )+
    };
}

/// The list of scenarios, expanded into tests for one backend (used by [`contract_suite!`]).
#[macro_export]
macro_rules! contract_scenarios {
    ($backend:ident) => {
        $crate::contract_tests!($backend;
            storage::accounts::users_are_found_by_email_case_insensitively,
            storage::accounts::duplicate_emails_conflict_and_nothing_lands,
            storage::accounts::workspaces_list_oldest_membership_first_with_counts,
            storage::accounts::memberships_order_by_time_then_insertion,
            storage::accounts::membership_keys_are_unique,
            storage::accounts::references_must_exist,
            storage::batch::a_stale_guard_rejects_the_whole_batch,
            storage::batch::member_roles_are_guarded,
            storage::batch::guards_see_earlier_writes_of_their_batch,
            storage::batch::racing_guarded_writes_have_one_winner,
            storage::batch::a_failing_guard_among_concurrent_batches_fails_alone,
            storage::tokens::credentials_join_user_and_membership,
            storage::tokens::used_revoked_and_expired_tokens_are_returned_as_they_are,
            storage::tokens::refresh_tokens_rotate_once,
            storage::tokens::revoke_family_revokes_all_of_the_family_and_nothing_else,
            storage::tokens::token_hashes_are_unique,
            storage::invites::invites_are_found_by_code_and_accepted_once,
            storage::invites::pending_invites_exclude_expired_and_accepted,
            storage::devices::device_decisions_and_exchanges_are_guarded,
            storage::devices::denied_devices_record_the_decision,
            storage::devices::device_codes_are_unique,
            storage::audit_rate::audit_lists_newest_first_with_a_limit_per_workspace,
            storage::audit_rate::rate_limiter_counts_resets_and_isolates_keys,
            storage::blobs::blobs_round_trip_bytes_type_and_size_across_chunks,
            storage::blobs::blobs_over_the_limit_are_refused_and_change_nothing,
            storage::blobs::blobs_with_a_failing_body_change_nothing,
            storage::blobs::blobs_delete_idempotently,
            storage::blobs::blobs_are_isolated_by_key,
            storage::blobs::blobs_are_replaced_by_overwrites,
            storage::blobs::blobs_may_be_empty,
            storage::templates::template_names_are_unique_per_workspace_whatever_the_case,
            storage::templates::version_labels_and_builds_are_unique_and_need_their_parents,
            storage::templates::guarded_updates_replace_mutable_fields_and_stale_ones_reject_the_batch,
            storage::templates::deleting_a_template_cascades_to_its_dependants_only,
            storage::templates::lists_are_ordered_by_time_then_insertion,
            storage::templates::stuck_builds_are_those_building_since_before_a_time,
            storage::templates::grants_are_found_by_hash_and_used_once,
            storage::templates::template_quotas_are_counted_with_the_batch,
            storage::sessions::session_names_are_unique_among_live_sessions_whatever_the_case,
            storage::sessions::session_references_must_exist,
            storage::sessions::racing_session_updates_have_one_winner,
            storage::sessions::session_events_come_back_in_append_order,
            storage::sessions::sessions_are_read_by_state_across_workspaces_or_in_one,
            storage::sessions::purging_a_session_takes_its_events_and_is_guarded,
            storage::sessions::active_session_quotas_count_slots_with_the_batch,
            storage::sessions::deleting_a_template_takes_its_sessions_and_their_events,
            storage::jobs::jobs_are_claimed_by_run_at_then_insertion,
            storage::jobs::delayed_jobs_are_not_claimed_before_their_time,
            storage::jobs::leased_jobs_are_not_claimed_twice_until_the_lease_ends,
            storage::jobs::released_jobs_come_back_at_their_new_time_and_completed_ones_are_gone,
            storage::jobs::queued_jobs_survive_reopening_the_store,
            storage::batch::an_empty_batch_commits,
            storage::audit_rate::rate_windows_survive_reopening_the_store,
            storage::concurrency::readers_and_writers_run_together,
            service::auth::register_then_login_checks_the_password,
            service::auth::registering_a_taken_email_conflicts,
            service::auth::refresh_rotates_and_reuse_revokes_the_family,
            service::auth::expired_refresh_tokens_are_refused,
            service::auth::logout_revokes_the_sign_in,
            service::auth::rate_limits_count_per_scope_and_identity,
            service::auth::emails_fold_by_ascii_case_only,
            service::auth::a_long_local_part_registers_with_a_derived_name,
            service::device::device_flow_issues_tokens_once,
            service::device::denied_and_expired_device_codes_are_refused,
            service::workspaces::invites_are_accepted_then_switched_to,
            service::workspaces::invite_codes_sort_by_time_and_older_codes_still_work,
            service::workspaces::invites_for_another_email_or_expired_are_refused,
            service::workspaces::viewers_cannot_manage_the_workspace,
            service::workspaces::the_owner_role_is_immutable,
            service::workspaces::plans_change_with_their_limits,
            service::members::a_removed_member_loses_access_at_once_and_their_sessions_stay,
            service::members::the_owner_stays_and_nobody_removes_themselves,
            service::members::a_member_who_leaves_falls_back_to_their_personal_workspace,
            service::members::revoked_invites_cannot_be_accepted,
            service::members::a_removal_racing_a_role_change_has_one_winner,
            storage::departures::deleting_a_membership_is_guarded,
            storage::departures::member_tokens_are_revoked_for_one_user_in_one_workspace,
            storage::departures::invites_are_read_by_id,
            service::maintenance::reconcile_purges_only_what_expired,
            service::builds::builds_wait_for_bundles_then_check_them,
            service::builds::hostile_bundles_fail_at_once,
            service::builds::transient_faults_retry_then_dead_letter,
            service::builds::builds_stuck_building_are_requeued,
            service::builds::an_unreadable_upload_is_a_400_and_keeps_the_bundle,
            service::uploads::an_upload_that_loses_its_race_changes_nothing,
            service::uploads::an_upload_overtaken_by_another_leaves_the_winner,
            service::uploads::built_versions_are_immutable,
            service::uploads::a_failed_grant_upload_leaves_the_grant_usable,
            service::uploads::promotion_refuses_a_bundle_its_build_did_not_check,
            service::uploads::racing_template_creates_stay_within_the_plan,
            service::jobs::jobs_are_queued_by_the_commit_of_their_batch,
            service::jobs::a_lost_send_is_repaired_by_reconcile,
            service::jobs::a_retried_build_forgets_its_last_run,
            service::sessions::a_session_runs_sleeps_restarts_and_is_deleted,
            service::sessions::sessions_are_refused_cleanly,
            service::sessions::viewers_read_sessions_but_do_not_run_them,
            service::sessions::racing_starts_have_one_winner,
            service::sessions::the_running_session_quota_holds_under_races,
            service::sessions::a_runtime_that_fails_to_boot_leaves_the_session_failed,
            service::sessions::a_server_without_a_runtime_says_so,
            service::sessions::reconcile_sleeps_only_idle_sessions_and_repairs_the_rest,
            service::sessions::runtime_tokens_open_one_running_session_for_a_few_minutes,
            service::sessions::a_session_deleted_while_it_boots_leaves_nothing_running,
            service::sessions::the_admin_report_counts_the_workspace,
            service::runtime_connect::members_connect_and_wake_sessions_viewers_only_preview,
            service::runtime_connect::activity_is_written_at_most_every_30_seconds,
            service::runtime_connect::reconcile_counts_use_the_agent_saw,
            service::runtime_connect::ssh_host_keys_are_pinned_per_session,
            service::runtime_connect::preview_passes_open_one_session_for_members_and_viewers,
            service::runtime_connect::an_unreachable_agent_whose_runtime_died_fails_its_session_at_once,
            service::jobs::a_requeued_stuck_build_hands_its_version_back,
            service::errors::a_lost_guard_is_a_conflict_without_the_adapters_text,
            service::snapshots::the_latest_snapshot_moves_only_when_an_upload_completed,
            service::snapshots::snapshot_grants_are_bound_to_their_snapshot_and_spent_once,
            service::snapshots::racing_uploads_stay_within_the_snapshot_quota,
            service::snapshot_quota::the_workspaces_plan_sets_its_snapshot_quota,
            service::snapshots::viewers_read_snapshots_and_other_workspaces_see_none,
            service::snapshot_reconcile::reconcile_purges_snapshots_of_purged_sessions_and_orphans,
            service::snapshot_reconcile::snapshot_writes_keep_their_guards,
            service::persist::persisted_paths_survive_stop_restart_and_reconciles_sleep,
            service::persist::a_failed_save_keeps_the_previous_latest_and_says_why,
            service::persist::snapshots_restore_into_running_sessions_only_when_their_digest_matches,
            service::persist_faults::a_stop_cut_off_before_its_save_is_saved_by_reconcile,
            service::persist_delete::a_session_deleted_while_its_save_runs_keeps_no_snapshot,
            service::persist_deadline::a_stalled_save_fails_at_its_deadline_and_the_stop_goes_on,
            service::persist_deadline::a_save_that_never_ends_fails_at_its_deadline_on_a_clock_without_a_timer,
        );
    };
}

/// Expands each scenario path into a test on a fresh [`Harness`] of the backend (used by
/// [`contract_scenarios!`]).
#[macro_export]
macro_rules! contract_tests {
    ($backend:ident; $($area:ident :: $module:ident :: $scenario:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() -> ::anyhow::Result<()> {
                let harness =
                    $crate::contract::Harness::start($crate::contract::Backend::$backend).await?;
                $crate::contract::$area::$module::$scenario(&harness).await
            }
        )+
    };
}
