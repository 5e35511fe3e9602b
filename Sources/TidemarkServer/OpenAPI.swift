/// The OpenAPI 3.0 description of the API, served at `/openapi.json`. Kept by hand beside the
/// handlers (a generator would cost a build plugin); the tests validate it with
/// openapi-spec-validator and scripts/openapi-check.sh fuzzes the server against it.
enum OpenAPIDocument {
    static let json = #"""
{
  "components": {
    "responses": {
      "BadRequest": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "malformed request: names the parameter or field"
      },
      "Conflict": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "conflict (a different state is recorded for that host and second), or unknown_state for a heartbeat"
      },
      "Forbidden": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "the token's role may not do this"
      },
      "JobConflict": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "claim: the job is not pending; result: the job is already finished"
      },
      "MissingPackages": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "unknown state, or packages the archive lacks (the message lists each, with its SIGMD5)"
      },
      "NotAnRPM": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "the body is not an acceptable binary rpm: truncated, corrupt, a digest mismatch, not an rpm, or a source rpm (the message says which); nothing was archived"
      },
      "NotFound": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "unknown host, state or token"
      },
      "PayloadTooLarge": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "body larger than --max-body"
      },
      "RepositoryFailed": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "the repository could not be mirrored: unreadable or unreachable, not rpm-md, bad metadata (the message says which)"
      },
      "RequestTimeout": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "the body did not arrive in time"
      },
      "Unauthorized": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "missing, malformed, unknown or revoked token",
        "headers": {
          "WWW-Authenticate": {
            "description": "Bearer and Basic challenges (realm tidemark)",
            "schema": {
              "type": "string"
            }
          }
        }
      },
      "UnprocessableContent": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "state is not the content address of the packages sent"
      },
      "UploadTooLarge": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "body larger than --max-upload"
      }
    },
    "schemas": {
      "ArchivedFile": {
        "properties": {
          "addedAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "fileName": {
            "description": "name-version-release.arch.rpm; served at Packages/SHA256/FILENAME",
            "type": "string"
          },
          "origin": {
            "description": "add:PATH, mirror:URL, upload:HOST, upload:admin",
            "type": "string"
          },
          "package": {
            "$ref": "#/components/schemas/Package"
          },
          "sha256": {
            "description": "SHA-256 of the file, 64 lower-case hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "size": {
            "format": "int64",
            "type": "integer"
          }
        },
        "required": [
          "sha256",
          "package",
          "fileName",
          "size",
          "origin",
          "addedAt"
        ],
        "type": "object"
      },
      "ChangelogEntry": {
        "properties": {
          "author": {
            "type": "string"
          },
          "text": {
            "type": "string"
          },
          "time": {
            "description": "seconds since 1970",
            "format": "int64",
            "type": "integer"
          }
        },
        "required": [
          "time",
          "author",
          "text"
        ],
        "type": "object"
      },
      "DiffResult": {
        "properties": {
          "changes": {
            "items": {
              "$ref": "#/components/schemas/PackageChange"
            },
            "type": "array"
          },
          "from": {
            "$ref": "#/components/schemas/ResolvedState"
          },
          "to": {
            "$ref": "#/components/schemas/ResolvedState"
          }
        },
        "required": [
          "from",
          "to",
          "changes"
        ],
        "type": "object"
      },
      "DriftResult": {
        "properties": {
          "baseline": {
            "description": "fleet, or the ref given",
            "type": "string"
          },
          "hosts": {
            "items": {
              "properties": {
                "differences": {
                  "items": {
                    "properties": {
                      "arch": {
                        "type": "string"
                      },
                      "evr": {
                        "description": "absent: missing on the host",
                        "type": "string"
                      },
                      "expected": {
                        "description": "absent: the baseline lacks it",
                        "type": "string"
                      },
                      "name": {
                        "type": "string"
                      }
                    },
                    "required": [
                      "name",
                      "arch"
                    ],
                    "type": "object"
                  },
                  "type": "array"
                },
                "host": {
                  "type": "string"
                },
                "state": {
                  "description": "state id: SHA-256 content address, 64 hex digits",
                  "pattern": "^[0-9a-f]{64}$",
                  "type": "string"
                }
              },
              "required": [
                "host",
                "state",
                "differences"
              ],
              "type": "object"
            },
            "type": "array"
          }
        },
        "required": [
          "baseline",
          "hosts"
        ],
        "type": "object"
      },
      "EVR": {
        "properties": {
          "epoch": {
            "type": "integer"
          },
          "release": {
            "type": "string"
          },
          "version": {
            "type": "string"
          }
        },
        "required": [
          "epoch",
          "version",
          "release"
        ],
        "type": "object"
      },
      "Error": {
        "properties": {
          "error": {
            "properties": {
              "code": {
                "description": "a TidemarkError code (invalid_argument, invalid_input, not_found, ambiguous, conflict, storage, ...) or unauthorized, forbidden, unknown_state, payload_too_large, request_timeout",
                "type": "string"
              },
              "message": {
                "type": "string"
              }
            },
            "required": [
              "code",
              "message"
            ],
            "type": "object"
          }
        },
        "required": [
          "error"
        ],
        "type": "object"
      },
      "Health": {
        "properties": {
          "status": {
            "enum": [
              "ok"
            ],
            "type": "string"
          }
        },
        "required": [
          "status"
        ],
        "type": "object"
      },
      "HistoryEntry": {
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "changes": {
            "items": {
              "$ref": "#/components/schemas/PackageChange"
            },
            "type": "array"
          },
          "observations": {
            "type": "integer"
          },
          "packages": {
            "type": "integer"
          },
          "source": {
            "$ref": "#/components/schemas/ObservationSource"
          },
          "state": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "at",
          "state",
          "source",
          "packages",
          "observations",
          "changes"
        ],
        "type": "object"
      },
      "HistoryResult": {
        "properties": {
          "entries": {
            "items": {
              "$ref": "#/components/schemas/HistoryEntry"
            },
            "type": "array"
          },
          "host": {
            "type": "string"
          }
        },
        "required": [
          "host",
          "entries"
        ],
        "type": "object"
      },
      "HostJob": {
        "properties": {
          "createdAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "dryRun": {
            "type": "boolean"
          },
          "finishedAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "nullable": true,
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "id": {
            "format": "int64",
            "type": "integer"
          },
          "kind": {
            "enum": [
              "rollback"
            ],
            "type": "string"
          },
          "message": {
            "nullable": true,
            "type": "string"
          },
          "output": {
            "description": "the package manager's own output",
            "nullable": true,
            "type": "string"
          },
          "resultState": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "nullable": true,
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "startedAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "nullable": true,
            "type": "string"
          },
          "status": {
            "enum": [
              "pending",
              "running",
              "succeeded",
              "failed"
            ],
            "type": "string"
          },
          "target": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "id",
          "host",
          "kind",
          "target",
          "dryRun",
          "status",
          "createdAt",
          "startedAt",
          "finishedAt",
          "resultState",
          "message",
          "output"
        ],
        "type": "object"
      },
      "HostSummary": {
        "properties": {
          "format": {
            "$ref": "#/components/schemas/PackageFormat"
          },
          "host": {
            "type": "string"
          },
          "lastSeen": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "observations": {
            "type": "integer"
          },
          "packages": {
            "type": "integer"
          },
          "state": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "host",
          "lastSeen",
          "observations",
          "packages",
          "state"
        ],
        "type": "object"
      },
      "ImportResult": {
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "outcome": {
            "$ref": "#/components/schemas/RecordOutcome"
          },
          "packages": {
            "type": "integer"
          },
          "state": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "host",
          "at",
          "state",
          "packages",
          "outcome"
        ],
        "type": "object"
      },
      "IssuedToken": {
        "properties": {
          "host": {
            "nullable": true,
            "type": "string"
          },
          "id": {
            "format": "int64",
            "type": "integer"
          },
          "role": {
            "$ref": "#/components/schemas/TokenRole"
          },
          "token": {
            "description": "the secret, shown only in this answer",
            "type": "string"
          }
        },
        "required": [
          "id",
          "token",
          "role",
          "host"
        ],
        "type": "object"
      },
      "JobCreate": {
        "properties": {
          "dryRun": {
            "default": false,
            "description": "plan (and let zypper check), change nothing",
            "type": "boolean"
          },
          "kind": {
            "enum": [
              "rollback"
            ],
            "type": "string"
          },
          "to": {
            "description": "the state to return to: HOST, HOST@TIME or state:ID-PREFIX",
            "type": "string"
          }
        },
        "required": [
          "kind",
          "to"
        ],
        "type": "object"
      },
      "JobCreated": {
        "properties": {
          "job": {
            "$ref": "#/components/schemas/HostJob"
          },
          "plan": {
            "$ref": "#/components/schemas/TransactionPlan"
          }
        },
        "required": [
          "job",
          "plan"
        ],
        "type": "object"
      },
      "JobResult": {
        "properties": {
          "message": {
            "nullable": true,
            "type": "string"
          },
          "output": {
            "nullable": true,
            "type": "string"
          },
          "resultState": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "nullable": true,
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "succeeded": {
            "type": "boolean"
          }
        },
        "required": [
          "succeeded"
        ],
        "type": "object"
      },
      "MirrorReport": {
        "properties": {
          "added": {
            "items": {
              "$ref": "#/components/schemas/ArchivedFile"
            },
            "type": "array"
          },
          "alreadyArchived": {
            "type": "integer"
          },
          "failed": {
            "items": {
              "properties": {
                "error": {
                  "type": "string"
                },
                "href": {
                  "type": "string"
                }
              },
              "required": [
                "href",
                "error"
              ],
              "type": "object"
            },
            "type": "array"
          },
          "offered": {
            "description": "packages the repository's metadata lists",
            "type": "integer"
          },
          "repository": {
            "type": "string"
          },
          "skippedSource": {
            "description": "source rpms are not archived",
            "type": "integer"
          }
        },
        "required": [
          "repository",
          "offered",
          "added",
          "alreadyArchived",
          "skippedSource",
          "failed"
        ],
        "type": "object"
      },
      "MirrorRequest": {
        "properties": {
          "repository": {
            "description": "an rpm-md repository as zypper's baseurl: http(s)://..., file:/..., dir:/... or an absolute path (no $variables)",
            "type": "string"
          }
        },
        "required": [
          "repository"
        ],
        "type": "object"
      },
      "MissingAnswer": {
        "properties": {
          "missing": {
            "description": "the SHA-256s asked about that are not archived, in the order asked",
            "items": {
              "description": "SHA-256 of the file, 64 lower-case hex digits",
              "pattern": "^[0-9a-f]{64}$",
              "type": "string"
            },
            "type": "array"
          }
        },
        "required": [
          "missing"
        ],
        "type": "object"
      },
      "MissingQuery": {
        "properties": {
          "sha256": {
            "items": {
              "description": "SHA-256 of the file, 64 lower-case hex digits",
              "pattern": "^[0-9a-f]{64}$",
              "type": "string"
            },
            "maxItems": 100000,
            "type": "array"
          }
        },
        "required": [
          "sha256"
        ],
        "type": "object"
      },
      "ObservationAnswer": {
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "outcome": {
            "$ref": "#/components/schemas/RecordOutcome"
          },
          "state": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "outcome",
          "state",
          "host",
          "at"
        ],
        "type": "object"
      },
      "ObservationPayload": {
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "changelogs": {
            "additionalProperties": {
              "items": {
                "$ref": "#/components/schemas/ChangelogEntry"
              },
              "type": "array"
            },
            "description": "by package identity key",
            "nullable": true,
            "type": "object"
          },
          "host": {
            "type": "string"
          },
          "packages": {
            "description": "absent: a heartbeat naming only the state",
            "items": {
              "$ref": "#/components/schemas/WirePackage"
            },
            "type": "array"
          },
          "repositories": {
            "items": {
              "$ref": "#/components/schemas/Repository"
            },
            "nullable": true,
            "type": "array"
          },
          "source": {
            "$ref": "#/components/schemas/ObservationSource"
          },
          "state": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "host",
          "at",
          "source",
          "state"
        ],
        "type": "object"
      },
      "ObservationSource": {
        "enum": [
          "snapshot",
          "backfill",
          "import-rpm-qa",
          "import-salt",
          "agent"
        ],
        "type": "string"
      },
      "Package": {
        "description": "one binary: its identity (what a state is made of)",
        "properties": {
          "arch": {
            "type": "string"
          },
          "buildTime": {
            "description": "seconds since 1970",
            "format": "int64",
            "type": "integer"
          },
          "digest": {
            "description": "rpm: SIGMD5 as hex",
            "type": "string"
          },
          "disturl": {
            "type": "string"
          },
          "evr": {
            "$ref": "#/components/schemas/EVR"
          },
          "format": {
            "$ref": "#/components/schemas/PackageFormat"
          },
          "name": {
            "type": "string"
          },
          "source": {
            "type": "string"
          },
          "status": {
            "type": "string"
          },
          "vendor": {
            "type": "string"
          }
        },
        "required": [
          "format",
          "name",
          "evr",
          "arch"
        ],
        "type": "object"
      },
      "PackageChange": {
        "properties": {
          "arch": {
            "type": "string"
          },
          "changelog": {
            "items": {
              "$ref": "#/components/schemas/ChangelogEntry"
            },
            "type": "array"
          },
          "from": {
            "nullable": true,
            "type": "string"
          },
          "kind": {
            "enum": [
              "added",
              "removed",
              "upgraded",
              "downgraded",
              "changed"
            ],
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "source": {
            "type": "string"
          },
          "to": {
            "nullable": true,
            "type": "string"
          }
        },
        "required": [
          "name",
          "arch",
          "kind",
          "from",
          "to",
          "source"
        ],
        "type": "object"
      },
      "PackageFormat": {
        "enum": [
          "rpm",
          "deb"
        ],
        "type": "string"
      },
      "RecordOutcome": {
        "enum": [
          "recorded",
          "recorded-new-state",
          "duplicate"
        ],
        "type": "string"
      },
      "Repository": {
        "properties": {
          "alias": {
            "type": "string"
          },
          "components": {
            "items": {
              "type": "string"
            },
            "nullable": true,
            "type": "array"
          },
          "enabled": {
            "type": "boolean"
          },
          "keepPackages": {
            "nullable": true,
            "type": "boolean"
          },
          "kind": {
            "enum": [
              "zypp",
              "apt"
            ],
            "type": "string"
          },
          "name": {
            "nullable": true,
            "type": "string"
          },
          "priority": {
            "nullable": true,
            "type": "integer"
          },
          "suites": {
            "items": {
              "type": "string"
            },
            "nullable": true,
            "type": "array"
          },
          "type": {
            "nullable": true,
            "type": "string"
          },
          "url": {
            "type": "string"
          }
        },
        "required": [
          "kind",
          "alias",
          "url",
          "enabled"
        ],
        "type": "object"
      },
      "ResolvedState": {
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "packages": {
            "type": "integer"
          },
          "ref": {
            "type": "string"
          },
          "source": {
            "$ref": "#/components/schemas/ObservationSource"
          },
          "state": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "ref",
          "state",
          "packages"
        ],
        "type": "object"
      },
      "SaltImportAnswer": {
        "properties": {
          "issues": {
            "description": "minion: message, for minions skipped",
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "results": {
            "items": {
              "$ref": "#/components/schemas/ImportResult"
            },
            "type": "array"
          }
        },
        "required": [
          "results",
          "issues"
        ],
        "type": "object"
      },
      "ShowResult": {
        "properties": {
          "packages": {
            "items": {
              "$ref": "#/components/schemas/ShownPackage"
            },
            "type": "array"
          },
          "repositories": {
            "items": {
              "$ref": "#/components/schemas/Repository"
            },
            "type": "array"
          },
          "state": {
            "$ref": "#/components/schemas/ResolvedState"
          }
        },
        "required": [
          "state",
          "packages"
        ],
        "type": "object"
      },
      "ShownPackage": {
        "properties": {
          "arch": {
            "type": "string"
          },
          "buildTime": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "digest": {
            "type": "string"
          },
          "disturl": {
            "type": "string"
          },
          "epoch": {
            "type": "integer"
          },
          "evr": {
            "type": "string"
          },
          "installTime": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "release": {
            "type": "string"
          },
          "source": {
            "type": "string"
          },
          "status": {
            "type": "string"
          },
          "vendor": {
            "type": "string"
          },
          "version": {
            "type": "string"
          }
        },
        "required": [
          "name",
          "epoch",
          "version",
          "release",
          "evr",
          "arch"
        ],
        "type": "object"
      },
      "TokenCreate": {
        "properties": {
          "host": {
            "description": "required for role host, refused otherwise",
            "nullable": true,
            "type": "string"
          },
          "note": {
            "nullable": true,
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/TokenRole"
          }
        },
        "required": [
          "role"
        ],
        "type": "object"
      },
      "TokenRecord": {
        "properties": {
          "createdAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "host": {
            "nullable": true,
            "type": "string"
          },
          "id": {
            "format": "int64",
            "type": "integer"
          },
          "note": {
            "nullable": true,
            "type": "string"
          },
          "revokedAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "nullable": true,
            "type": "string"
          },
          "role": {
            "$ref": "#/components/schemas/TokenRole"
          }
        },
        "required": [
          "id",
          "role",
          "host",
          "note",
          "createdAt",
          "revokedAt"
        ],
        "type": "object"
      },
      "TokenRole": {
        "enum": [
          "reader",
          "admin",
          "host"
        ],
        "type": "string"
      },
      "TransactionPlan": {
        "properties": {
          "steps": {
            "description": "by name, arch, version, action",
            "items": {
              "$ref": "#/components/schemas/TransactionStep"
            },
            "type": "array"
          }
        },
        "required": [
          "steps"
        ],
        "type": "object"
      },
      "TransactionStep": {
        "properties": {
          "action": {
            "enum": [
              "install",
              "upgrade",
              "downgrade",
              "reinstall",
              "remove"
            ],
            "type": "string"
          },
          "from": {
            "$ref": "#/components/schemas/Package"
          },
          "to": {
            "$ref": "#/components/schemas/Package"
          }
        },
        "required": [
          "action"
        ],
        "type": "object"
      },
      "UploadAnswer": {
        "properties": {
          "file": {
            "$ref": "#/components/schemas/ArchivedFile"
          },
          "outcome": {
            "enum": [
              "added",
              "already-archived"
            ],
            "type": "string"
          }
        },
        "required": [
          "outcome",
          "file"
        ],
        "type": "object"
      },
      "WhereResult": {
        "properties": {
          "absent": {
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "name": {
            "type": "string"
          },
          "versions": {
            "items": {
              "properties": {
                "arch": {
                  "type": "string"
                },
                "evr": {
                  "type": "string"
                },
                "hosts": {
                  "items": {
                    "type": "string"
                  },
                  "type": "array"
                }
              },
              "required": [
                "evr",
                "arch",
                "hosts"
              ],
              "type": "object"
            },
            "type": "array"
          }
        },
        "required": [
          "name",
          "at",
          "versions",
          "absent"
        ],
        "type": "object"
      },
      "WirePackage": {
        "properties": {
          "arch": {
            "type": "string"
          },
          "buildTime": {
            "description": "seconds since 1970",
            "format": "int64",
            "nullable": true,
            "type": "integer"
          },
          "digest": {
            "nullable": true,
            "type": "string"
          },
          "disturl": {
            "nullable": true,
            "type": "string"
          },
          "evr": {
            "$ref": "#/components/schemas/EVR"
          },
          "format": {
            "$ref": "#/components/schemas/PackageFormat"
          },
          "installTime": {
            "description": "seconds since 1970",
            "format": "int64",
            "nullable": true,
            "type": "integer"
          },
          "name": {
            "type": "string"
          },
          "source": {
            "nullable": true,
            "type": "string"
          },
          "status": {
            "nullable": true,
            "type": "string"
          },
          "vendor": {
            "nullable": true,
            "type": "string"
          }
        },
        "required": [
          "format",
          "name",
          "evr",
          "arch"
        ],
        "type": "object"
      }
    },
    "securitySchemes": {
      "basic": {
        "description": "any user name, the token as password (zypper: http://tidemark:TOKEN@host:8795/api/v1/repos/all/)",
        "scheme": "basic",
        "type": "http"
      },
      "bearer": {
        "description": "Authorization: Bearer TOKEN",
        "scheme": "bearer",
        "type": "http"
      }
    }
  },
  "info": {
    "description": "What every host of a fleet runs and ran. Reads answer byte for byte what the CLI prints with --json. Errors are {\"error\": {\"code\", \"message\"}}. Authenticate with Authorization: Bearer <token> (tidemark token create), or HTTP basic authentication with any user name and the token as password (how zypper sends http://tidemark:TOKEN@host/ baseurls).",
    "title": "Tidemark API",
    "version": "1.0.0"
  },
  "openapi": "3.0.3",
  "paths": {
    "/api/v1/archive/files": {
      "get": {
        "description": "Every archived package file, oldest first. Reader, admin and host tokens.",
        "operationId": "archivedFiles",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "items": {
                    "$ref": "#/components/schemas/ArchivedFile"
                  },
                  "type": "array"
                }
              }
            },
            "description": "archived files"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Archived files",
        "tags": [
          "archive"
        ]
      },
      "post": {
        "description": "The body is one binary .rpm file. It is verified (lead, signature and header, every digest) before it is archived; the same bytes again are harmless (200, already-archived). Admin tokens, or host tokens (origin upload:HOST). Limited by --max-upload.",
        "operationId": "uploadPackage",
        "requestBody": {
          "content": {
            "application/octet-stream": {
              "schema": {
                "format": "binary",
                "type": "string"
              }
            }
          },
          "description": "the .rpm file's bytes (any Content-Type is accepted; agents send application/x-rpm)",
          "required": true
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/UploadAnswer"
                }
              }
            },
            "description": "already archived"
          },
          "201": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/UploadAnswer"
                }
              }
            },
            "description": "archived"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "413": {
            "$ref": "#/components/responses/UploadTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/NotAnRPM"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Upload a package",
        "tags": [
          "archive"
        ]
      }
    },
    "/api/v1/archive/files/{sha256}": {
      "get": {
        "description": "The archived file with this SHA-256. Reader, admin and host tokens.",
        "operationId": "archivedFile",
        "parameters": [
          {
            "description": "the file's SHA-256",
            "in": "path",
            "name": "sha256",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{64}$",
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ArchivedFile"
                }
              }
            },
            "description": "the file"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "One archived file",
        "tags": [
          "archive"
        ]
      }
    },
    "/api/v1/archive/mirror": {
      "post": {
        "description": "Archives every binary package of an rpm-md repository not archived yet (each checked against the repository's metadata and its own digests; a failing package is reported, the rest go on). The server also does this every --mirror-interval for every repository the fleet's hosts have configured. Admin only.",
        "operationId": "mirrorRepository",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/MirrorRequest"
              }
            }
          },
          "required": true
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/MirrorReport"
                }
              }
            },
            "description": "what was archived"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/RepositoryFailed"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Mirror a repository",
        "tags": [
          "archive"
        ]
      }
    },
    "/api/v1/archive/missing": {
      "post": {
        "description": "Which of these SHA-256s (at most 100,000) the archive lacks: what an agent asks before uploading from the host's package cache. Reader, admin and host tokens.",
        "operationId": "missingFromArchive",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/MissingQuery"
              }
            }
          },
          "required": true
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/MissingAnswer"
                }
              }
            },
            "description": "the missing ones"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Which files are missing",
        "tags": [
          "archive"
        ]
      }
    },
    "/api/v1/diff": {
      "get": {
        "description": "Changes from one ref to another, grouped by source package (tidemark diff --json).",
        "operationId": "diff",
        "parameters": [
          {
            "description": "HOST, HOST@TIME or state:ID-PREFIX (file: refs are refused: the server has no client files)",
            "in": "query",
            "name": "from",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "HOST, HOST@TIME or state:ID-PREFIX (file: refs are refused: the server has no client files)",
            "in": "query",
            "name": "to",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "include changelog entries between versions",
            "in": "query",
            "name": "changelog",
            "required": false,
            "schema": {
              "default": "false",
              "enum": [
                "true",
                "false"
              ],
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DiffResult"
                }
              }
            },
            "description": "changes"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Diff two states",
        "tags": [
          "read"
        ]
      }
    },
    "/api/v1/drift": {
      "get": {
        "description": "Per host, packages that differ from the fleet's most common version or from a ref (tidemark drift --json).",
        "operationId": "drift",
        "parameters": [
          {
            "description": "HOST, HOST@TIME or state:ID-PREFIX (file: refs are refused: the server has no client files)",
            "in": "query",
            "name": "against",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "default now: ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z) or relative to the server's clock (-30m, -2h, -3d, -1w)",
            "in": "query",
            "name": "at",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/DriftResult"
                }
              }
            },
            "description": "drift"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Drift",
        "tags": [
          "read"
        ]
      }
    },
    "/api/v1/hosts": {
      "get": {
        "description": "Each host, its last observation, package count and current state (tidemark hosts --json).",
        "operationId": "hosts",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "items": {
                    "$ref": "#/components/schemas/HostSummary"
                  },
                  "type": "array"
                }
              }
            },
            "description": "hosts"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Hosts",
        "tags": [
          "read"
        ]
      }
    },
    "/api/v1/hosts/{host}/history": {
      "get": {
        "description": "Every change of the host's state with its package changes (tidemark history --json).",
        "operationId": "history",
        "parameters": [
          {
            "description": "host name",
            "in": "path",
            "name": "host",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z) or relative to the server's clock (-30m, -2h, -3d, -1w)",
            "in": "query",
            "name": "since",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z) or relative to the server's clock (-30m, -2h, -3d, -1w)",
            "in": "query",
            "name": "until",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HistoryResult"
                }
              }
            },
            "description": "history"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "History of a host",
        "tags": [
          "read"
        ]
      }
    },
    "/api/v1/hosts/{host}/jobs": {
      "get": {
        "description": "The host's jobs, oldest first (what its agent polls: ?status=pending). The host's own token, reader and admin tokens.",
        "operationId": "hostJobs",
        "parameters": [
          {
            "description": "host name",
            "in": "path",
            "name": "host",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "only jobs with this status (several: comma-separated)",
            "in": "query",
            "name": "status",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "items": {
                    "$ref": "#/components/schemas/HostJob"
                  },
                  "type": "array"
                }
              }
            },
            "description": "jobs"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "A host's jobs",
        "tags": [
          "jobs"
        ]
      },
      "post": {
        "description": "Plans the transaction from the host's latest recorded state to exactly the state `to` names (downgrades, upgrades, installs, reinstalls of changed binaries, removals) and queues it for the host's agent. Refuses an unknown or non-rpm host (400), and a plan needing packages the archive lacks (404, listing them), before anything reaches the host. Admin only.",
        "operationId": "createJob",
        "parameters": [
          {
            "description": "host name",
            "in": "path",
            "name": "host",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/JobCreate"
              }
            }
          },
          "required": true
        },
        "responses": {
          "201": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/JobCreated"
                }
              }
            },
            "description": "queued"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/MissingPackages"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Ask a host's agent for a rollback",
        "tags": [
          "jobs"
        ]
      }
    },
    "/api/v1/import/rpm-qa": {
      "post": {
        "description": "One observation of HOST at TIME from a plain `rpm -qa` list (openQA's worker_packages.txt). Admin only.",
        "operationId": "importRPMQA",
        "parameters": [
          {
            "description": "the host the list belongs to",
            "in": "query",
            "name": "host",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "when the list was taken: ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z) or relative to the server's clock (-30m, -2h, -3d, -1w)",
            "in": "query",
            "name": "at",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "content": {
            "text/plain": {
              "schema": {
                "type": "string"
              }
            }
          },
          "required": true
        },
        "responses": {
          "201": {
            "content": {
              "application/json": {
                "schema": {
                  "items": {
                    "$ref": "#/components/schemas/ImportResult"
                  },
                  "type": "array"
                }
              }
            },
            "description": "recorded"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Import an rpm -qa list",
        "tags": [
          "ingest"
        ]
      }
    },
    "/api/v1/import/salt": {
      "post": {
        "description": "`salt --out=json '*' pkg.list_pkgs` output: one observation per minion, all in one transaction; minions that answered with an error are listed in issues. Admin only.",
        "operationId": "importSalt",
        "parameters": [
          {
            "description": "when salt ran (default: now): ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z) or relative to the server's clock (-30m, -2h, -3d, -1w)",
            "in": "query",
            "name": "at",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "version scheme of the minions' packages",
            "in": "query",
            "name": "format",
            "required": false,
            "schema": {
              "default": "rpm",
              "enum": [
                "rpm",
                "deb"
              ],
              "type": "string"
            }
          }
        ],
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {}
            },
            "text/plain": {
              "schema": {
                "type": "string"
              }
            }
          },
          "required": true
        },
        "responses": {
          "201": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/SaltImportAnswer"
                }
              }
            },
            "description": "recorded"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Import salt pkg.list_pkgs output",
        "tags": [
          "ingest"
        ]
      }
    },
    "/api/v1/jobs/{id}": {
      "get": {
        "description": "A job and, once finished, its result. Reader and admin tokens, or the job's host token.",
        "operationId": "job",
        "parameters": [
          {
            "description": "job id",
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "format": "int64",
              "type": "integer"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HostJob"
                }
              }
            },
            "description": "the job"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "One job",
        "tags": [
          "jobs"
        ]
      }
    },
    "/api/v1/jobs/{id}/claim": {
      "post": {
        "description": "pending -> running: the agent starts it. The job's host token or an admin token; 409 unless pending. Any body is ignored.",
        "operationId": "claimJob",
        "parameters": [
          {
            "description": "job id",
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "format": "int64",
              "type": "integer"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HostJob"
                }
              }
            },
            "description": "claimed"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "409": {
            "$ref": "#/components/responses/JobConflict"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Claim a job",
        "tags": [
          "jobs"
        ]
      }
    },
    "/api/v1/jobs/{id}/result": {
      "post": {
        "description": "running (or pending) -> succeeded or failed, with the host's state afterwards, a message and the package manager's output. The job's host token or an admin token; 409 when already finished.",
        "operationId": "finishJob",
        "parameters": [
          {
            "description": "job id",
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "format": "int64",
              "type": "integer"
            }
          }
        ],
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/JobResult"
              }
            }
          },
          "required": true
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HostJob"
                }
              }
            },
            "description": "finished"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "409": {
            "$ref": "#/components/responses/JobConflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Report a job's result",
        "tags": [
          "jobs"
        ]
      }
    },
    "/api/v1/jobs/{id}/target": {
      "get": {
        "description": "The packages of the job's target state (as GET /api/v1/show?ref=state:TARGET answers): what the agent turns its host into. Reader and admin tokens, or the job's host token.",
        "operationId": "jobTarget",
        "parameters": [
          {
            "description": "job id",
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "format": "int64",
              "type": "integer"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ShowResult"
                }
              }
            },
            "description": "the target state"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "A job's target state",
        "tags": [
          "jobs"
        ]
      }
    },
    "/api/v1/observations": {
      "post": {
        "description": "A full observation (with packages: the server recomputes the state id and answers 422 on mismatch) or a heartbeat (without packages: only the state id; 409 with code unknown_state when the server does not know that state, then send the full observation). Re-sending is harmless (outcome duplicate). Host tokens may report only their own host; admin tokens any host.",
        "operationId": "postObservation",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/ObservationPayload"
              }
            }
          },
          "required": true
        },
        "responses": {
          "201": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ObservationAnswer"
                }
              }
            },
            "description": "recorded"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "409": {
            "$ref": "#/components/responses/Conflict"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "422": {
            "$ref": "#/components/responses/UnprocessableContent"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Report an observation",
        "tags": [
          "ingest"
        ]
      }
    },
    "/api/v1/repos/all/Packages/{sha256}/{file}": {
      "get": {
        "description": "A package file of the repository of everything archived (the href its primary.xml gives), streamed from the archive. Reader, admin and host tokens.",
        "operationId": "allRepoPackage",
        "parameters": [
          {
            "description": "the file's SHA-256",
            "in": "path",
            "name": "sha256",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{64}$",
              "type": "string"
            }
          },
          {
            "description": "the archived file name (name-version-release.arch.rpm)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/x-rpm": {
                "schema": {
                  "format": "binary",
                  "type": "string"
                }
              }
            },
            "description": "the package file, streamed"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Package file",
        "tags": [
          "repositories"
        ]
      },
      "head": {
        "description": "A package file of the repository of everything archived (the href its primary.xml gives), streamed from the archive. HEAD: status and headers only.",
        "operationId": "allRepoPackageHead",
        "parameters": [
          {
            "description": "the file's SHA-256",
            "in": "path",
            "name": "sha256",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{64}$",
              "type": "string"
            }
          },
          {
            "description": "the archived file name (name-version-release.arch.rpm)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "as GET, without the body",
            "headers": {
              "Content-Length": {
                "schema": {
                  "type": "integer"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Package file (HEAD)",
        "tags": [
          "repositories"
        ]
      }
    },
    "/api/v1/repos/all/repodata/{file}": {
      "get": {
        "description": "rpm-md metadata of the repository of everything archived, generated natively (primary, filelists, other; createrepo_c's package data). What zypper reads first. Reader, admin and host tokens.",
        "operationId": "allRepoMetadata",
        "parameters": [
          {
            "description": "repomd.xml, or a file it lists (SHA-primary.xml.gz, SHA-filelists.xml.gz, SHA-other.xml.gz)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/gzip": {
                "schema": {
                  "format": "binary",
                  "type": "string"
                }
              },
              "text/xml": {
                "schema": {
                  "type": "string"
                }
              }
            },
            "description": "repomd.xml (text/xml) or compressed metadata (application/gzip)"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Repository metadata",
        "tags": [
          "repositories"
        ]
      },
      "head": {
        "description": "rpm-md metadata of the repository of everything archived, generated natively (primary, filelists, other; createrepo_c's package data). What zypper reads first. HEAD: status and headers only.",
        "operationId": "allRepoMetadataHead",
        "parameters": [
          {
            "description": "repomd.xml, or a file it lists (SHA-primary.xml.gz, SHA-filelists.xml.gz, SHA-other.xml.gz)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "as GET, without the body",
            "headers": {
              "Content-Length": {
                "schema": {
                  "type": "integer"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Repository metadata (HEAD)",
        "tags": [
          "repositories"
        ]
      }
    },
    "/api/v1/repos/state/{state}/Packages/{sha256}/{file}": {
      "get": {
        "description": "A package file of the repository of exactly one recorded state's packages (404 listing the packages the archive lacks) (the href its primary.xml gives), streamed from the archive. Reader, admin and host tokens.",
        "operationId": "stateRepoPackage",
        "parameters": [
          {
            "description": "a state id or a unique prefix of it (at least 4 hex digits)",
            "in": "path",
            "name": "state",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{4,64}$",
              "type": "string"
            }
          },
          {
            "description": "the file's SHA-256",
            "in": "path",
            "name": "sha256",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{64}$",
              "type": "string"
            }
          },
          {
            "description": "the archived file name (name-version-release.arch.rpm)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/x-rpm": {
                "schema": {
                  "format": "binary",
                  "type": "string"
                }
              }
            },
            "description": "the package file, streamed"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/MissingPackages"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Package file",
        "tags": [
          "repositories"
        ]
      },
      "head": {
        "description": "A package file of the repository of exactly one recorded state's packages (404 listing the packages the archive lacks) (the href its primary.xml gives), streamed from the archive. HEAD: status and headers only.",
        "operationId": "stateRepoPackageHead",
        "parameters": [
          {
            "description": "a state id or a unique prefix of it (at least 4 hex digits)",
            "in": "path",
            "name": "state",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{4,64}$",
              "type": "string"
            }
          },
          {
            "description": "the file's SHA-256",
            "in": "path",
            "name": "sha256",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{64}$",
              "type": "string"
            }
          },
          {
            "description": "the archived file name (name-version-release.arch.rpm)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "as GET, without the body",
            "headers": {
              "Content-Length": {
                "schema": {
                  "type": "integer"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/MissingPackages"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Package file (HEAD)",
        "tags": [
          "repositories"
        ]
      }
    },
    "/api/v1/repos/state/{state}/repodata/{file}": {
      "get": {
        "description": "rpm-md metadata of the repository of exactly one recorded state's packages (404 listing the packages the archive lacks), generated natively (primary, filelists, other; createrepo_c's package data). What zypper reads first. Reader, admin and host tokens.",
        "operationId": "stateRepoMetadata",
        "parameters": [
          {
            "description": "a state id or a unique prefix of it (at least 4 hex digits)",
            "in": "path",
            "name": "state",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{4,64}$",
              "type": "string"
            }
          },
          {
            "description": "repomd.xml, or a file it lists (SHA-primary.xml.gz, SHA-filelists.xml.gz, SHA-other.xml.gz)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/gzip": {
                "schema": {
                  "format": "binary",
                  "type": "string"
                }
              },
              "text/xml": {
                "schema": {
                  "type": "string"
                }
              }
            },
            "description": "repomd.xml (text/xml) or compressed metadata (application/gzip)"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/MissingPackages"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Repository metadata",
        "tags": [
          "repositories"
        ]
      },
      "head": {
        "description": "rpm-md metadata of the repository of exactly one recorded state's packages (404 listing the packages the archive lacks), generated natively (primary, filelists, other; createrepo_c's package data). What zypper reads first. HEAD: status and headers only.",
        "operationId": "stateRepoMetadataHead",
        "parameters": [
          {
            "description": "a state id or a unique prefix of it (at least 4 hex digits)",
            "in": "path",
            "name": "state",
            "required": true,
            "schema": {
              "pattern": "^[0-9a-f]{4,64}$",
              "type": "string"
            }
          },
          {
            "description": "repomd.xml, or a file it lists (SHA-primary.xml.gz, SHA-filelists.xml.gz, SHA-other.xml.gz)",
            "in": "path",
            "name": "file",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "description": "as GET, without the body",
            "headers": {
              "Content-Length": {
                "schema": {
                  "type": "integer"
                }
              }
            }
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/MissingPackages"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Repository metadata (HEAD)",
        "tags": [
          "repositories"
        ]
      }
    },
    "/api/v1/show": {
      "get": {
        "description": "The packages and repositories of a state (tidemark show --json).",
        "operationId": "show",
        "parameters": [
          {
            "description": "HOST, HOST@TIME or state:ID-PREFIX (file: refs are refused: the server has no client files)",
            "in": "query",
            "name": "ref",
            "required": true,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/ShowResult"
                }
              }
            },
            "description": "state"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Show a state",
        "tags": [
          "read"
        ]
      }
    },
    "/api/v1/tokens": {
      "get": {
        "description": "Admin only; without secrets.",
        "operationId": "listTokens",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "items": {
                    "$ref": "#/components/schemas/TokenRecord"
                  },
                  "type": "array"
                }
              }
            },
            "description": "tokens"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "List tokens",
        "tags": [
          "tokens"
        ]
      },
      "post": {
        "description": "Admin only. The secret is in this answer only; the server keeps its SHA-256.",
        "operationId": "createToken",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/TokenCreate"
              }
            }
          },
          "required": true
        },
        "responses": {
          "201": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/IssuedToken"
                }
              }
            },
            "description": "created"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Create a token",
        "tags": [
          "tokens"
        ]
      }
    },
    "/api/v1/tokens/{id}": {
      "delete": {
        "description": "Admin only. Idempotent: revoking again keeps the first revocation time.",
        "operationId": "revokeToken",
        "parameters": [
          {
            "description": "token id",
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "format": "int64",
              "type": "integer"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/TokenRecord"
                }
              }
            },
            "description": "revoked"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Revoke a token",
        "tags": [
          "tokens"
        ]
      }
    },
    "/api/v1/where/{name}": {
      "get": {
        "description": "Which host had which version of a package at a time (tidemark where --json).",
        "operationId": "where",
        "parameters": [
          {
            "description": "package name",
            "in": "path",
            "name": "name",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "default now: ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z) or relative to the server's clock (-30m, -2h, -3d, -1w)",
            "in": "query",
            "name": "at",
            "required": false,
            "schema": {
              "type": "string"
            }
          }
        ],
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/WhereResult"
                }
              }
            },
            "description": "versions"
          },
          "400": {
            "$ref": "#/components/responses/BadRequest"
          },
          "401": {
            "$ref": "#/components/responses/Unauthorized"
          },
          "403": {
            "$ref": "#/components/responses/Forbidden"
          },
          "404": {
            "$ref": "#/components/responses/NotFound"
          }
        },
        "security": [
          {
            "bearer": []
          },
          {
            "basic": []
          }
        ],
        "summary": "Where is a package",
        "tags": [
          "read"
        ]
      }
    },
    "/healthz": {
      "get": {
        "description": "Answers 200 while the server runs; no authentication.",
        "operationId": "health",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Health"
                }
              }
            },
            "description": "running"
          }
        },
        "security": [],
        "summary": "Liveness",
        "tags": [
          "operations"
        ]
      }
    },
    "/metrics": {
      "get": {
        "description": "Text exposition format 0.0.4; no authentication (expose it only where Prometheus scrapes). tidemark_observations_ingested_total{outcome}, tidemark_states, tidemark_hosts, tidemark_hosts_stale (last observation older than 2x the median gap of the host's last 10 observations, or than --stale-after), tidemark_archive_files, tidemark_mirror_runs_total, tidemark_mirror_failures_total, tidemark_http_request_duration_seconds{route,status}.",
        "operationId": "metrics",
        "responses": {
          "200": {
            "content": {
              "text/plain": {
                "schema": {
                  "type": "string"
                }
              }
            },
            "description": "metrics"
          }
        },
        "security": [],
        "summary": "Prometheus metrics",
        "tags": [
          "operations"
        ]
      }
    },
    "/openapi.json": {
      "get": {
        "description": "The OpenAPI description of the API; no authentication.",
        "operationId": "openapi",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "type": "object"
                }
              }
            },
            "description": "OpenAPI 3.0 document"
          }
        },
        "security": [],
        "summary": "This document",
        "tags": [
          "operations"
        ]
      }
    }
  },
  "servers": [
    {
      "url": "/"
    }
  ]
}
"""#
}
