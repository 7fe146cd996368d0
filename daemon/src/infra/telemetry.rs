//! Prometheus metrics: what is recorded, and the process-wide recorder.
//!
//! The `metrics` facade records; `metrics-exporter-prometheus` (without its own HTTP listener)
//! renders. The recorder is process-wide and installed once ([`handle`]); a process running
//! several gates (tests) shares it. Recording takes plain numbers and the rules' codes, so
//! that any layer may record; the page itself (`GET /metrics`) is served by the node
//! (`crate::node::metrics`).
//!
//! Privacy (BRIEF §6): no label ever names or numbers a person. Labels are the verdict, the
//! reason code, the reader's name, the exchange's kind and the program version.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use selfgate_rules::journal::{Reason, Verdict};

/// Decisions by verdict and reason (counter).
pub const DECISIONS: &str = "selfgate_decisions_total";
/// Reads merged into the previous one by the debounce (counter).
pub const REPEATS: &str = "selfgate_reader_repeats_total";
/// Decide + apply under the engine's lock, in seconds (histogram).
pub const DECISION_SECONDS: &str = "selfgate_decision_duration_seconds";
/// Queued to the writer → durable commit acknowledged, in seconds (histogram).
pub const COMMIT_SECONDS: &str = "selfgate_commit_duration_seconds";
/// Write requests whose commit failed (counter).
pub const COMMIT_FAILURES: &str = "selfgate_commit_failures_total";
/// Requests per group commit (histogram).
pub const GROUP_SIZE: &str = "selfgate_group_commit_requests";
/// 1 when a reader is online, by reader name (gauge).
pub const READER_ONLINE: &str = "selfgate_reader_online";
/// Well-formed and malformed frames by reader name and `result` (ok, bad) (counter).
pub const READER_FRAMES: &str = "selfgate_reader_frames_total";
/// Unix time of a reader's last well-formed frame, by reader name (gauge).
pub const READER_LAST_FRAME: &str = "selfgate_reader_last_frame_timestamp_seconds";
/// Turnstile pulses by `result` (ok, failed) (counter).
pub const TURNSTILE_PULSES: &str = "selfgate_turnstile_pulses_total";
/// 1 while the turnstile's emergency input is active (gauge).
pub const EMERGENCY: &str = "selfgate_emergency_input_active";
/// Events in the journal (gauge).
pub const JOURNAL_EVENTS: &str = "selfgate_journal_events";
/// Persons in the roster (gauge).
pub const PERSONS: &str = "selfgate_roster_persons";
/// Journal events waiting to be sent (gauge; 0 while standalone).
pub const SYNC_PENDING: &str = "selfgate_sync_pending_events";
/// Unix time of the last successful data exchange, by kind (gauge).
pub const LAST_EXCHANGE: &str = "selfgate_last_exchange_success_timestamp_seconds";
/// Always 1, labelled with the version (gauge).
pub const BUILD_INFO: &str = "selfgate_build_info";

/// Decision latency buckets: 1 µs to 10 ms (the decision is in memory).
pub const DECISION_BUCKETS: [f64; 13] = [
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
];
/// Commit latency buckets: 100 µs to 1 s (an fsync per group).
pub const COMMIT_BUCKETS: [f64; 13] = [
    1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0,
];
/// Group commit size buckets: 1 to the writer's maximum group (512).
pub const GROUP_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often histograms are folded into their buckets when nobody scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// The process-wide recorder's handle, installing the recorder on first use. If another
/// recorder was installed first (not ours), the page stays empty and a warning says why.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = with_buckets().unwrap_or_else(|e| {
            tracing::warn!("metrics: histogram buckets refused ({e}); summaries instead");
            PrometheusBuilder::new()
        });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        match ::metrics::set_global_recorder(recorder) {
            Ok(()) => describe(),
            Err(_) => tracing::warn!(
                "metrics: another recorder is installed in this process; /metrics stays empty"
            ),
        }
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("metrics: no upkeep thread ({e}); histograms fold at each scrape");
        }
        handle
    })
}

fn with_buckets() -> Result<PrometheusBuilder, metrics_exporter_prometheus::BuildError> {
    let full = |name: &str| Matcher::Full(name.to_owned());
    PrometheusBuilder::new()
        .set_buckets_for_metric(full(DECISION_SECONDS), &DECISION_BUCKETS)?
        .set_buckets_for_metric(full(COMMIT_SECONDS), &COMMIT_BUCKETS)?
        .set_buckets_for_metric(full(GROUP_SIZE), &GROUP_BUCKETS)
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        DECISIONS,
        "Decisions at this gate since start, by verdict (pass, deny) and reason code; a passage \
         whose commit failed counts as deny/not_recorded. Never labelled by person."
    );
    describe_counter!(
        REPEATS,
        "Reads merged into the previous read of the same badge at the same gate (debounce)."
    );
    describe_histogram!(
        DECISION_SECONDS,
        "Time to decide a read and apply it to the in-memory state, under the engine's lock, \
         in seconds."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        "Time from queueing a write to the store writer to the acknowledgement of its durable \
         commit, in seconds."
    );
    describe_counter!(
        COMMIT_FAILURES,
        "Write requests whose durable commit failed (a passage among them is refused as \
         not_recorded)."
    );
    describe_histogram!(
        GROUP_SIZE,
        "Write requests committed together in one durable transaction (group commit)."
    );
    describe_gauge!(
        READER_ONLINE,
        "1 when the badge reader is online, 0 when it is offline or stopped, by reader name."
    );
    describe_counter!(
        READER_FRAMES,
        "Frames received from each badge reader since start, by reader name and result: ok \
         (well-formed) or bad (bad checksum or parity, truncated, junk). Readers without a \
         driver-side health (simulated) have no series."
    );
    describe_gauge!(
        READER_LAST_FRAME,
        "Unix time in seconds of the last well-formed frame from each badge reader."
    );
    describe_counter!(
        TURNSTILE_PULSES,
        "Turnstile relay pulses since start, by result: ok, or failed (the output could not be \
         driven)."
    );
    describe_gauge!(
        EMERGENCY,
        "1 while the turnstile's emergency input is active (the turnstile is free), else 0."
    );
    describe_gauge!(
        JOURNAL_EVENTS,
        "Events in the journal: the count at start plus the events appended since."
    );
    describe_gauge!(PERSONS, "Persons in the roster the gate decides from.");
    describe_gauge!(
        SYNC_PENDING,
        "Journal events this gate has not had acknowledged by the hub yet (0 on a hub and \
         when standalone)."
    );
    describe_gauge!(
        LAST_EXCHANGE,
        "Unix time in seconds of the last successful data exchange, by kind (pronote_meal_days, \
         pronote_absences, pronote_no_shows, effectifs, charlemagne_encaissements, \
         charlemagne_consommations); no series until one succeeds."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label is the running selfgate's."
    );
}

// ---- recording --------------------------------------------------------------------------------

/// A daemon (or the demo) is up: installs the recorder and sets what is known at start.
pub fn started(persons: usize, journal_events: u64) {
    handle();
    ::metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    ::metrics::gauge!(PERSONS).set(persons as f64);
    ::metrics::gauge!(JOURNAL_EVENTS).set(journal_events as f64);
    ::metrics::gauge!(SYNC_PENDING).set(0.0);
    ::metrics::gauge!(EMERGENCY).set(0.0);
    // Registered now so that they show (at zero) before the first read.
    let _ = ::metrics::counter!(REPEATS);
    let _ = ::metrics::counter!(COMMIT_FAILURES);
    let _ = ::metrics::histogram!(DECISION_SECONDS);
    let _ = ::metrics::histogram!(COMMIT_SECONDS);
    let _ = ::metrics::histogram!(GROUP_SIZE);
}

/// A decision reached its outcome (committed, or refused as not recorded).
pub fn decision(verdict: Verdict, reason: Reason) {
    ::metrics::counter!(DECISIONS, "verdict" => verdict.code(), "reason" => reason.code())
        .increment(1);
}

/// A read merged into the previous one by the debounce.
pub fn repeat() {
    ::metrics::counter!(REPEATS).increment(1);
}

/// Decide + apply took `d`.
pub fn decision_latency(d: Duration) {
    ::metrics::histogram!(DECISION_SECONDS).record(d.as_secs_f64());
}

/// A write request was acknowledged `d` after it was queued.
pub fn commit_latency(d: Duration) {
    ::metrics::histogram!(COMMIT_SECONDS).record(d.as_secs_f64());
}

/// A group commit of `requests` write requests succeeded, appending `appended` journal events.
pub fn group_committed(requests: usize, appended: usize) {
    ::metrics::histogram!(GROUP_SIZE).record(requests as f64);
    if appended > 0 {
        ::metrics::gauge!(JOURNAL_EVENTS).increment(appended as f64);
    }
}

/// The commit of `requests` write requests failed.
pub fn commit_failed(requests: usize) {
    ::metrics::counter!(COMMIT_FAILURES).increment(requests as u64);
}

/// A reader went online or offline.
pub fn reader_online(reader: &str, online: bool) {
    ::metrics::gauge!(READER_ONLINE, "reader" => reader.to_owned())
        .set(f64::from(u8::from(online)));
}

/// A reader's health counters (from its driver), refreshed periodically by the gate.
pub fn reader_health(reader: &str, h: &selfgate_hardware::ReaderHealth) {
    let r = reader.to_owned();
    ::metrics::counter!(READER_FRAMES, "reader" => r.clone(), "result" => "ok")
        .absolute(h.frames_ok);
    ::metrics::counter!(READER_FRAMES, "reader" => r.clone(), "result" => "bad")
        .absolute(h.frames_bad);
    if let Some(t) = h.last_frame {
        let secs = t
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        ::metrics::gauge!(READER_LAST_FRAME, "reader" => r).set(secs);
    }
}

/// The turnstile was pulsed (`ok`), or its output could not be driven.
pub fn turnstile_pulse(ok: bool) {
    let result = if ok { "ok" } else { "failed" };
    ::metrics::counter!(TURNSTILE_PULSES, "result" => result).increment(1);
}

/// The emergency input changed.
pub fn emergency(active: bool) {
    ::metrics::gauge!(EMERGENCY).set(f64::from(u8::from(active)));
}

/// A data exchange of `kind` (e.g. `pronote`, `siecle`, `sync`) succeeded at `at`.
pub fn exchange_succeeded(kind: &'static str, at: chrono::DateTime<chrono::Utc>) {
    ::metrics::gauge!(LAST_EXCHANGE, "kind" => kind).set(at.timestamp() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_recorder_installs_once_and_renders_every_family() {
        // Twice, as two daemons in one process would.
        started(3, 10);
        started(3, 10);
        decision(Verdict::Pass, Reason::Forfait);
        decision(
            Verdict::Deny,
            Reason::Opposition(selfgate_rules::model::OppositionReason::Impaye),
        );
        decision_latency(Duration::from_micros(3));
        commit_latency(Duration::from_millis(2));
        group_committed(2, 0);
        reader_online("entree", true);
        let page = handle().render();
        for family in [
            DECISIONS,
            REPEATS,
            DECISION_SECONDS,
            COMMIT_SECONDS,
            COMMIT_FAILURES,
            GROUP_SIZE,
            READER_ONLINE,
            EMERGENCY,
            JOURNAL_EVENTS,
            PERSONS,
            SYNC_PENDING,
            BUILD_INFO,
        ] {
            assert!(
                page.contains(&format!("# HELP {family} ")),
                "no help for {family}:\n{page}"
            );
            assert!(page.contains(&format!("# TYPE {family} ")), "{page}");
        }
        assert!(
            page.contains(&format!("# TYPE {DECISION_SECONDS} histogram")),
            "{page}"
        );
        assert!(
            page.contains(&format!("{DECISION_SECONDS}_bucket{{le=\"0.000001\"}}")),
            "{page}"
        );
        assert!(
            page.contains(&format!("{DECISION_SECONDS}_bucket{{le=\"0.01\"}}")),
            "{page}"
        );
        assert!(
            page.contains(&format!("{COMMIT_SECONDS}_bucket{{le=\"0.0001\"}}")),
            "{page}"
        );
        assert!(
            page.contains(&format!("{COMMIT_SECONDS}_bucket{{le=\"1\"}}")),
            "{page}"
        );
        assert!(
            page.contains(&format!("{GROUP_SIZE}_bucket{{le=\"512\"}}")),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "{BUILD_INFO}{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "{DECISIONS}{{verdict=\"deny\",reason=\"opposition:impaye\"}}"
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!("{READER_ONLINE}{{reader=\"entree\"}} 1")),
            "{page}"
        );
        assert!(page.contains(&format!("{SYNC_PENDING} 0")), "{page}");
    }

    #[test]
    fn reader_and_turnstile_health_render() {
        started(1, 1);
        let h = selfgate_hardware::ReaderHealth {
            online: true,
            last_frame: Some(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
            frames_ok: 7,
            frames_bad: 2,
            ..Default::default()
        };
        reader_health("osdp-1", &h);
        turnstile_pulse(true);
        let page = handle().render();
        for family in [READER_FRAMES, READER_LAST_FRAME, TURNSTILE_PULSES] {
            assert!(page.contains(&format!("# HELP {family} ")), "{page}");
        }
        assert!(
            page.contains(&format!(
                "{READER_FRAMES}{{reader=\"osdp-1\",result=\"bad\"}} 2"
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!(
                "{READER_LAST_FRAME}{{reader=\"osdp-1\"}} 1700000000"
            )),
            "{page}"
        );
        assert!(
            page.contains(&format!("{TURNSTILE_PULSES}{{result=\"ok\"}}")),
            "{page}"
        );
    }
}
