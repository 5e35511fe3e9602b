// swift-tools-version:6.1
import PackageDescription

// Layers, bottom up:
//   TidemarkCore   pure domain (versions, packages, states, refs, diffs); no I/O, no dependencies
//   TidemarkRPM    rpm's binary formats (header blobs; later .rpm files and rpm-md metadata)
//   TidemarkHosts  reading hosts: rpm and dpkg databases, zypp/dpkg logs, repo configs, imports
//   TidemarkStore  the history store behind one protocol (SQLite, PostgreSQL)
//   TidemarkArchive every package binary a state needs: content-addressed files, mirroring, generated repositories
//   TidemarkOpenQA the openQA API: jobs, workers, gate and health evidence (read-only client)
//   TidemarkRollouts gated, staged rollouts: policy files, check runners, the driver that advances them
//   TidemarkCulprits culprit finding: suspects from signals, openQA signal import, bisection runs with zypper
//   TidemarkClient the HTTP API, typed (agent and CLI --server)
//   TidemarkAgent  the host agent: collect, spool durably, deliver in order
//   TidemarkServer the HTTP API (Hummingbird): ingestion, queries, tokens, metrics, OpenAPI
//   TidemarkCLI    swift-argument-parser commands and their table/JSON output
//   tidemark       the thin executable
let package = Package(
    name: "tidemark",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tidemark", targets: ["tidemark"]),
        .library(name: "TidemarkCore", targets: ["TidemarkCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(name: "TidemarkCore"),
        .target(name: "TidemarkRPM", dependencies: ["TidemarkCore"]),
        .target(
            name: "TidemarkHosts",
            dependencies: [
                "TidemarkCore", "TidemarkRPM",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ]
        ),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto"),
        .target(name: "TidemarkRepo", dependencies: ["TidemarkCore", "TidemarkRPM", "TidemarkHosts", "CZlib", "CCrypto"]),
        .target(
            name: "TidemarkStore",
            dependencies: [
                "TidemarkCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .target(
            name: "TidemarkArchive",
            dependencies: [
                "TidemarkCore", "TidemarkRPM", "TidemarkRepo", "TidemarkHosts", "TidemarkStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "TidemarkOpenQA",
            dependencies: ["TidemarkCore", "CCrypto", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .target(
            name: "TidemarkRollouts",
            dependencies: [
                "TidemarkCore", "TidemarkHosts", "TidemarkStore", "TidemarkOpenQA", "TidemarkArchive", "TidemarkRepo",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "TidemarkCulprits",
            dependencies: ["TidemarkCore", "TidemarkHosts", "TidemarkStore", "TidemarkArchive", "TidemarkRollouts", "TidemarkOpenQA", "TidemarkClient"]
        ),
        .target(
            name: "TidemarkClient",
            dependencies: ["TidemarkCore", .product(name: "AsyncHTTPClient", package: "async-http-client")]
        ),
        .target(
            name: "TidemarkAgent",
            dependencies: ["TidemarkCore", "TidemarkHosts", "TidemarkClient", "TidemarkRepo", "TidemarkArchive", "TidemarkRollouts", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TidemarkServer",
            dependencies: [
                "TidemarkCore", "TidemarkStore", "TidemarkHosts", "TidemarkRepo", "TidemarkArchive", "TidemarkRollouts", "TidemarkOpenQA", "TidemarkCulprits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TidemarkCLI",
            dependencies: [
                "TidemarkCore", "TidemarkHosts", "TidemarkStore", "TidemarkClient", "TidemarkAgent", "TidemarkServer", "TidemarkArchive", "TidemarkRepo", "TidemarkRollouts", "TidemarkCulprits", "TidemarkOpenQA",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "tidemark", dependencies: ["TidemarkCLI"]),

        .target(
            name: "TidemarkTestSupport",
            dependencies: ["TidemarkCore", "TidemarkHosts"],
            path: "Tests/TidemarkTestSupport"
        ),
        .testTarget(name: "TidemarkCoreTests", dependencies: ["TidemarkCore", "TidemarkHosts", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkRPMTests", dependencies: ["TidemarkRPM", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkRepoTests", dependencies: ["TidemarkRepo", "TidemarkRPM", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkArchiveTests", dependencies: ["TidemarkArchive", "TidemarkStore", "TidemarkRepo", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkHostsTests", dependencies: ["TidemarkHosts", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkStoreTests", dependencies: ["TidemarkStore", "TidemarkTestSupport"]),
        .testTarget(
            name: "TidemarkServerTests",
            dependencies: [
                "TidemarkServer", "TidemarkStore", "TidemarkTestSupport", "tidemark",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "TidemarkOpenQATests", dependencies: ["TidemarkOpenQA", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkRolloutsTests", dependencies: ["TidemarkRollouts", "TidemarkStore", "TidemarkOpenQA", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkCulpritsTests", dependencies: ["TidemarkCulprits", "TidemarkStore", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkAgentTests", dependencies: ["TidemarkAgent", "TidemarkTestSupport"]),
        .testTarget(name: "TidemarkCLITests", dependencies: ["TidemarkCLI", "TidemarkTestSupport", "tidemark"]),
    ]
)
