import Foundation
import SQLKit
import TidemarkCore

/// The store's schema as numbered migrations, applied in order inside one transaction each and
/// recorded in `schema_migrations`. Never edit a released migration: add the next one.
enum Schema {
    struct Migration: Sendable {
        var version: Int
        var summary: String
        var statements: @Sendable (StoreDialect) -> [String]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, summary: "hosts, packages, content-addressed states, observations, package spans") { d in
            [
                """
                CREATE TABLE hosts (
                    id \(d.autoID),
                    name TEXT NOT NULL UNIQUE,
                    format TEXT
                )
                """,
                // One row per distinct binary, deduplicated by the hash of its identity line.
                """
                CREATE TABLE packages (
                    id \(d.autoID),
                    key TEXT NOT NULL UNIQUE,
                    format TEXT NOT NULL,
                    name TEXT NOT NULL,
                    epoch INTEGER NOT NULL,
                    version TEXT NOT NULL,
                    release TEXT NOT NULL,
                    arch TEXT NOT NULL,
                    digest TEXT,
                    vendor TEXT,
                    source TEXT,
                    disturl TEXT,
                    build_time BIGINT,
                    status TEXT
                )
                """,
                "CREATE INDEX packages_name ON packages (name)",
                "CREATE TABLE changelogs (package_id BIGINT PRIMARY KEY REFERENCES packages (id), entries TEXT NOT NULL)",
                // A state is its sorted package ids, stored as a delta against a base state
                // (full when base_id is NULL); depth bounds the chain a reader must follow.
                """
                CREATE TABLE states (
                    id \(d.autoID),
                    hash TEXT NOT NULL UNIQUE,
                    package_count INTEGER NOT NULL,
                    base_id BIGINT REFERENCES states (id),
                    depth INTEGER NOT NULL,
                    added \(d.blob) NOT NULL,
                    removed \(d.blob) NOT NULL
                )
                """,
                "CREATE TABLE repo_sets (id \(d.autoID), hash TEXT NOT NULL UNIQUE, body TEXT NOT NULL)",
                """
                CREATE TABLE observations (
                    id \(d.autoID),
                    host_id BIGINT NOT NULL REFERENCES hosts (id),
                    at BIGINT NOT NULL,
                    state_id BIGINT NOT NULL REFERENCES states (id),
                    repo_set_id BIGINT REFERENCES repo_sets (id),
                    source TEXT NOT NULL,
                    recorded_at BIGINT NOT NULL,
                    UNIQUE (host_id, at)
                )
                """,
                // A span: host had package from `since` (an observation time) until `until` (the
                // first later observation without it; NULL while it still has it). Derived from
                // observations and states in the same transaction; it makes `where` one lookup.
                """
                CREATE TABLE spans (
                    host_id BIGINT NOT NULL REFERENCES hosts (id),
                    package_id BIGINT NOT NULL REFERENCES packages (id),
                    since BIGINT NOT NULL,
                    until BIGINT,
                    installed_at BIGINT,
                    PRIMARY KEY (host_id, package_id, since)
                )\(d.withoutRowID)
                """,
                "CREATE INDEX spans_package ON spans (package_id, since)",
                "CREATE INDEX spans_host_until ON spans (host_id, until)",
            ]
        },
        // API tokens: only a SHA-256 of each token is kept; a token is shown once, at creation.
        Migration(version: 2, summary: "API tokens (hashes only), scoped to a role or a host") { d in
            [
                """
                CREATE TABLE tokens (
                    id \(d.autoID),
                    hash TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL,
                    host TEXT,
                    note TEXT,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT
                )
                """,
            ]
        },
        // The package archive: files live on disk under their SHA-256; here is what each one
        // is (its package identity, by which states find it) and its rpm-md fragments, cached
        // so that generating a repository never reopens a package file.
        Migration(version: 3, summary: "package archive (content-addressed files, cached rpm-md fragments), pinned states, jobs for agents") { d in
            [
                """
                CREATE TABLE archive_files (
                    id \(d.autoID),
                    sha256 TEXT NOT NULL UNIQUE,
                    package_key TEXT NOT NULL,
                    package TEXT NOT NULL,
                    name TEXT NOT NULL,
                    file_name TEXT NOT NULL,
                    size BIGINT NOT NULL,
                    origin TEXT NOT NULL,
                    added_at BIGINT NOT NULL,
                    primary_xml \(d.blob) NOT NULL,
                    filelists_xml \(d.blob) NOT NULL,
                    other_xml \(d.blob) NOT NULL
                )
                """,
                "CREATE INDEX archive_files_package ON archive_files (package_key)",
                // Work for agents (rollbacks), fetched by the host's agent with each report.
                """
                CREATE TABLE host_jobs (
                    id \(d.autoID),
                    host TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    target TEXT NOT NULL,
                    dry_run BOOLEAN NOT NULL,
                    status TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    started_at BIGINT,
                    finished_at BIGINT,
                    result_state TEXT,
                    message TEXT,
                    output TEXT
                )
                """,
                "CREATE INDEX host_jobs_host ON host_jobs (host, status)",
                """
                CREATE TABLE archive_pins (
                    state_hash TEXT PRIMARY KEY,
                    ref TEXT NOT NULL,
                    note TEXT,
                    pinned_at BIGINT NOT NULL
                )
                """,
            ]
        },
        Migration(version: 4, summary: "rollouts, their event log, waivers, host labels; rollout jobs") { d in
            [
                // The rollout as created (plan and policy, JSON: never changes), its progress (JSON,
                // moved only by RolloutMachine under `version`, an optimistic lock) and the lease
                // of the server driving it.
                """
                CREATE TABLE rollouts (
                    id \(d.autoID),
                    spec TEXT NOT NULL,
                    progress TEXT NOT NULL,
                    phase TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    lease_owner TEXT,
                    lease_until BIGINT
                )
                """,
                "CREATE INDEX rollouts_phase ON rollouts (phase)",
                """
                CREATE TABLE rollout_events (
                    id \(d.autoID),
                    rollout_id BIGINT NOT NULL REFERENCES rollouts (id),
                    at BIGINT NOT NULL,
                    kind TEXT NOT NULL,
                    body TEXT NOT NULL
                )
                """,
                "CREATE INDEX rollout_events_rollout ON rollout_events (rollout_id, id)",
                """
                CREATE TABLE waivers (
                    id \(d.autoID),
                    rollout_id BIGINT NOT NULL REFERENCES rollouts (id),
                    check_name TEXT NOT NULL,
                    reason TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    expires_at BIGINT NOT NULL,
                    revoked_at BIGINT,
                    revoked_by TEXT
                )
                """,
                "CREATE INDEX waivers_rollout ON waivers (rollout_id)",
                """
                CREATE TABLE host_labels (
                    host TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (host, key)
                )
                """,
                "ALTER TABLE host_jobs ADD COLUMN rollout_id BIGINT",
                "ALTER TABLE host_jobs ADD COLUMN step TEXT",
                "ALTER TABLE host_jobs ADD COLUMN command TEXT",
                "ALTER TABLE host_jobs ADD COLUMN timeout BIGINT",
                "CREATE INDEX host_jobs_rollout ON host_jobs (rollout_id)",
            ]
        },
        Migration(version: 5, summary: "failure signals; bisection sessions and their runs") { d in
            [
                // A signal imported twice (same external id: an openQA job) is stored once.
                """
                CREATE TABLE signals (
                    id \(d.autoID),
                    host TEXT NOT NULL,
                    at BIGINT NOT NULL,
                    status TEXT NOT NULL,
                    reason TEXT,
                    source TEXT NOT NULL,
                    external_id TEXT UNIQUE,
                    recorded_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX signals_at ON signals (at)",
                "CREATE INDEX signals_host ON signals (host, at)",
                // The session as started (JSON: never changes but for status and report), and its
                // runs, each written once under (session, seq): a resumed session can't record a
                // run twice.
                """
                CREATE TABLE bisect_sessions (
                    id \(d.autoID),
                    spec TEXT NOT NULL,
                    target TEXT NOT NULL,
                    status TEXT NOT NULL,
                    report TEXT,
                    message TEXT,
                    created_at BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL
                )
                """,
                "CREATE INDEX bisect_sessions_status ON bisect_sessions (status)",
                """
                CREATE TABLE bisect_runs (
                    session_id BIGINT NOT NULL REFERENCES bisect_sessions (id),
                    seq INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    PRIMARY KEY (session_id, seq)
                )
                """,
            ]
        },
        Migration(version: 6, summary: "PostgreSQL: a group of heartbeats recorded in one statement") { d in
            // A group of heartbeats costs one round trip instead of five (BEGIN, host locks, the
            // neighbours, the insert, COMMIT): the function takes the hosts' advisory locks in
            // the given order, then inserts each heartbeat whose previous observation is earlier
            // and in the same state, and returns those it inserted; the rest go the long way. In
            // a volatile PL/pgSQL function every statement takes a fresh snapshot, so the insert
            // sees whatever another writer of these hosts committed before the locks were
            // granted. SQLite needs nothing: its round trips cost nothing.
            guard d == .postgres else { return [] }
            return [
                """
                CREATE OR REPLACE FUNCTION tidemark_record_heartbeats(request jsonb, recorded bigint)
                RETURNS TABLE (rec_host bigint, rec_at bigint) LANGUAGE plpgsql VOLATILE AS $$
                BEGIN
                    PERFORM pg_advisory_xact_lock(hashtextextended(l.name, 0))
                    FROM (SELECT e.value ->> 0 AS name, e.n FROM jsonb_array_elements(request -> 'locks') WITH ORDINALITY AS e(value, n) ORDER BY e.n) l;
                    RETURN QUERY
                    INSERT INTO observations AS o (host_id, at, state_id, repo_set_id, source, recorded_at)
                    SELECT r.h, r.t, r.s, p.repo_set_id, r.src, recorded
                    FROM (
                        SELECT CAST(e.value ->> 0 AS BIGINT) AS h, CAST(e.value ->> 1 AS BIGINT) AS t, CAST(e.value ->> 2 AS BIGINT) AS s, e.value ->> 3 AS src
                        FROM jsonb_array_elements(request -> 'rows') AS e(value)
                    ) r
                    CROSS JOIN LATERAL (
                        SELECT q.at, q.state_id, q.repo_set_id FROM observations q WHERE q.host_id = r.h AND q.at <= r.t ORDER BY q.at DESC LIMIT 1
                    ) p
                    WHERE p.at < r.t AND p.state_id = r.s
                    ON CONFLICT (host_id, at) DO NOTHING
                    RETURNING o.host_id, o.at;
                END
                $$
                """,
            ]
        },
    ]

    static var latestVersion: Int { migrations.last!.version }

    /// Brings the database up to the latest schema. Refuses a database written by a newer Tidemark.
    static func migrate(_ backend: any SQLBackend) async throws {
        let dialect = backend.dialect
        try await backend.transaction { db in
            try await db.raw("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, summary TEXT NOT NULL, applied_at BIGINT NOT NULL)").run()
        }
        let applied = try await backend.read { db in
            try await db.raw("SELECT version FROM schema_migrations").all().map { try $0.decode(column: "version", as: Int.self) }
        }
        let current = applied.max() ?? 0
        if current > latestVersion {
            throw TidemarkError(.storage, "the database has schema version \(current), newer than this tidemark understands (\(latestVersion)); upgrade tidemark")
        }
        for m in migrations where m.version > current {
            try await backend.transaction { db in
                // Re-check inside the write transaction: another process may have migrated meanwhile.
                let done = try await db.raw("SELECT version FROM schema_migrations WHERE version = \(bind: m.version)").first()
                if done != nil { return }
                for statement in m.statements(dialect) {
                    try await db.raw(SQLQueryString(statement)).run()
                }
                let now = Int64(Date().timeIntervalSince1970)
                try await db.raw("INSERT INTO schema_migrations (version, summary, applied_at) VALUES (\(bind: m.version), \(bind: m.summary), \(bind: now))").run()
            }
        }
    }
}
