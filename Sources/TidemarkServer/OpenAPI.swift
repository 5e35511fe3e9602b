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
      "RolloutConflict": {
        "content": {
          "application/json": {
            "schema": {
              "$ref": "#/components/schemas/Error"
            }
          }
        },
        "description": "the action does not apply to the rollout's phase (approve when not awaiting approval, pause when paused, resume when not paused, anything once it finished, a waiver once it finished), the waiver is already revoked, or the rollout kept changing (try again)"
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
      "BisectSuggestion": {
        "description": "the bisection that separates tied suspects: on one failing host, from the observation before their changes to the first failure",
        "properties": {
          "bad": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "command": {
            "description": "the tidemark bisect start command that runs it",
            "type": "string"
          },
          "good": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "sources": {
            "description": "the tied source packages",
            "items": {
              "type": "string"
            },
            "type": "array"
          }
        },
        "required": [
          "host",
          "good",
          "bad",
          "sources",
          "command"
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
      "CheckResult": {
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "check": {
            "type": "string",
            "description": "the check's name in the policy"
          },
          "evidence": {
            "type": "string",
            "description": "what the status rests on, for people"
          },
          "status": {
            "$ref": "#/components/schemas/CheckStatus"
          }
        },
        "required": [
          "check",
          "status",
          "evidence",
          "at"
        ],
        "type": "object",
        "description": "the outcome of one check (an openQA job group, a command, an HTTP endpoint, a wave's health)"
      },
      "CheckStatus": {
        "description": "pending is neither passed nor failed: the rollout waits, up to the check's deadline",
        "enum": [
          "passed",
          "failed",
          "pending"
        ],
        "type": "string"
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
      "GateVerdict": {
        "properties": {
          "result": {
            "$ref": "#/components/schemas/CheckResult"
          },
          "status": {
            "allOf": [
              {
                "$ref": "#/components/schemas/CheckStatus"
              }
            ],
            "description": "passed for a failed check under an active waiver; otherwise the result's own status"
          },
          "waiver": {
            "allOf": [
              {
                "$ref": "#/components/schemas/Waiver"
              }
            ],
            "description": "the waiver that passed a failed check; absent when none did"
          }
        },
        "required": [
          "result",
          "status"
        ],
        "type": "object",
        "description": "a check's result as a decision saw it, with the waiver that changed it"
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
            "description": "rollback: a rollback asked for with POST /api/v1/hosts/{host}/jobs; apply: a rollout wave's transaction (turn the host into exactly target's packages); check: run command on the host (a rollout's health check; succeeded means exit 0)",
            "enum": [
              "rollback",
              "apply",
              "check"
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
          },
          "rollout": {
            "description": "the rollout the job belongs to; null for a rollback job",
            "format": "int64",
            "nullable": true,
            "type": "integer"
          },
          "step": {
            "description": "which step of its rollout: wave-N-apply, wave-N-health:NAME, rollback",
            "nullable": true,
            "type": "string"
          },
          "command": {
            "description": "check jobs: the shell command (/bin/sh -c)",
            "nullable": true,
            "type": "string"
          },
          "timeout": {
            "description": "check jobs: seconds the command may take",
            "nullable": true,
            "type": "integer"
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
          "output",
          "rollout",
          "step",
          "command",
          "timeout"
        ],
        "type": "object"
      },
      "HostLabels": {
        "additionalProperties": {
          "$ref": "#/components/schemas/Labels"
        },
        "description": "every labelled host's labels, by host name",
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
      "LabelSet": {
        "properties": {
          "value": {
            "type": "string",
            "description": "1-255 characters on one line"
          }
        },
        "required": [
          "value"
        ],
        "type": "object"
      },
      "Labels": {
        "additionalProperties": {
          "type": "string"
        },
        "description": "a host's labels: key to value",
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
          "added": {
            "description": "with base: the packages of the state that are not in the base",
            "items": {
              "$ref": "#/components/schemas/WirePackage"
            },
            "nullable": true,
            "type": "array"
          },
          "base": {
            "description": "a delta: the state id (known to the server) that added and removed change into state; 409 unknown_state when the server does not know it",
            "nullable": true,
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "packages": {
            "description": "absent (and no base): a heartbeat naming only the state",
            "items": {
              "$ref": "#/components/schemas/WirePackage"
            },
            "nullable": true,
            "type": "array"
          },
          "removed": {
            "description": "with base: identity keys of the base's packages that are not in the state",
            "items": {
              "type": "string"
            },
            "nullable": true,
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
      "RolloutAbort": {
        "properties": {
          "rollback": {
            "default": false,
            "description": "also return every host the rollout changed to the state it had before",
            "type": "boolean"
          }
        },
        "type": "object"
      },
      "RolloutCreated": {
        "properties": {
          "dryRun": {
            "type": "boolean"
          },
          "plan": {
            "$ref": "#/components/schemas/RolloutPlan"
          },
          "rollout": {
            "$ref": "#/components/schemas/RolloutStatus"
          }
        },
        "required": [
          "rollout",
          "plan",
          "dryRun"
        ],
        "type": "object"
      },
      "RolloutEvent": {
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "by": {
            "type": "string",
            "description": "who, for operator actions and waivers"
          },
          "kind": {
            "enum": [
              "created",
              "check",
              "decision",
              "jobs",
              "operator",
              "waiver"
            ],
            "type": "string"
          },
          "message": {
            "type": "string"
          },
          "progress": {
            "allOf": [
              {
                "$ref": "#/components/schemas/RolloutProgress"
              }
            ],
            "description": "the progress right after this event"
          },
          "verdicts": {
            "items": {
              "$ref": "#/components/schemas/GateVerdict"
            },
            "type": "array",
            "description": "the verdicts the event rests on (a decision names every check and waiver it used)"
          }
        },
        "required": [
          "at",
          "kind",
          "message",
          "verdicts",
          "progress"
        ],
        "type": "object",
        "description": "one line of a rollout's log"
      },
      "RolloutExplanation": {
        "properties": {
          "events": {
            "items": {
              "$ref": "#/components/schemas/RolloutEvent"
            },
            "type": "array",
            "description": "the log up to that time, oldest first"
          },
          "rollout": {
            "$ref": "#/components/schemas/RolloutStatus"
          }
        },
        "required": [
          "rollout",
          "events"
        ],
        "type": "object"
      },
      "RolloutHost": {
        "properties": {
          "changes": {
            "type": "string",
            "description": "the transaction's counts, for people: 1 install, 2 upgrade"
          },
          "from": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "jobs": {
            "items": {
              "$ref": "#/components/schemas/HostJob"
            },
            "type": "array",
            "description": "the rollout's jobs on this host, oldest first"
          },
          "to": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          }
        },
        "required": [
          "host",
          "from",
          "to",
          "changes",
          "jobs"
        ],
        "type": "object"
      },
      "RolloutHostPlan": {
        "properties": {
          "from": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "to": {
            "description": "state id: SHA-256 content address, 64 hex digits",
            "pattern": "^[0-9a-f]{64}$",
            "type": "string"
          },
          "transaction": {
            "$ref": "#/components/schemas/TransactionPlan"
          }
        },
        "required": [
          "host",
          "from",
          "to",
          "transaction"
        ],
        "type": "object"
      },
      "RolloutPhase": {
        "description": "gating: waiting for the required checks; awaiting-approval: for a person's approve before the wave; applying: the wave's transactions run; soaking: waiting before the wave's health is judged; analyzing: judging it; rolling-back: returning changed hosts to their earlier states; completed, halted (a failure, hosts left as they are), rolled-back (a failure, changed hosts returned), aborted (a person): finished",
        "enum": [
          "gating",
          "awaiting-approval",
          "applying",
          "soaking",
          "analyzing",
          "rolling-back",
          "completed",
          "halted",
          "rolled-back",
          "aborted"
        ],
        "type": "string"
      },
      "RolloutPlan": {
        "properties": {
          "packagesToFetch": {
            "items": {
              "$ref": "#/components/schemas/Package"
            },
            "type": "array",
            "description": "every package some transaction installs, once each"
          },
          "unchanged": {
            "items": {
              "type": "string"
            },
            "type": "array",
            "description": "hosts already in their target state"
          },
          "waves": {
            "items": {
              "items": {
                "$ref": "#/components/schemas/RolloutHostPlan"
              },
              "type": "array"
            },
            "type": "array",
            "description": "the hosts of each wave (the canary first) with their exact transactions"
          }
        },
        "required": [
          "waves",
          "unchanged",
          "packagesToFetch"
        ],
        "type": "object",
        "description": "what the rollout will do, per host, before it does anything"
      },
      "RolloutProgress": {
        "properties": {
          "approved": {
            "items": {
              "type": "integer"
            },
            "type": "array",
            "description": "waves a person approved"
          },
          "outcome": {
            "type": "string",
            "description": "why the rollout stopped; absent while it runs"
          },
          "paused": {
            "type": "boolean"
          },
          "phase": {
            "$ref": "#/components/schemas/RolloutPhase"
          },
          "since": {
            "description": "when the phase began: UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "touched": {
            "items": {
              "type": "string"
            },
            "type": "array",
            "description": "hosts whose transaction was started: rolled back on failure"
          },
          "verdicts": {
            "additionalProperties": {
              "$ref": "#/components/schemas/GateVerdict"
            },
            "description": "the latest verdict of every check evaluated so far, by check name",
            "type": "object"
          },
          "wave": {
            "type": "integer"
          }
        },
        "required": [
          "phase",
          "wave",
          "since",
          "paused",
          "approved",
          "touched",
          "verdicts"
        ],
        "type": "object",
        "description": "where a rollout stood"
      },
      "RolloutRequest": {
        "properties": {
          "dryRun": {
            "default": false,
            "description": "plan and answer, store nothing (the archive must still hold every package, forward and back)",
            "type": "boolean"
          },
          "hosts": {
            "items": {
              "type": "string"
            },
            "type": "array",
            "description": "name patterns (worker*, worker1?, w[0-9]) or labels (role=worker): a host matching any is in the rollout; absent or empty: every host"
          },
          "policy": {
            "type": "string",
            "description": "the policy file's text (YAML): required, waves, approval, soak, health, on-failure, apply-timeout"
          },
          "policyName": {
            "type": "string",
            "description": "the policy's name in error messages (default policy)"
          },
          "target": {
            "type": "string",
            "description": "one state for every host: HOST, HOST@TIME or state:ID-PREFIX; give exactly one of target and updatesFrom"
          },
          "updatesFrom": {
            "type": "string",
            "description": "an rpm-md repository (as zypper's baseurl): each host's target is its packages, each replaced by the highest version the repository offers"
          }
        },
        "required": [
          "policy"
        ],
        "type": "object"
      },
      "RolloutStatus": {
        "properties": {
          "at": {
            "description": "only in GET /api/v1/rollouts/{id}/explain: the moment this view is of: UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "checks": {
            "items": {
              "$ref": "#/components/schemas/GateVerdict"
            },
            "type": "array",
            "description": "every check of the policy (required, then health) in policy order; one never evaluated yet is pending"
          },
          "createdAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "createdBy": {
            "type": "string",
            "description": "token ID (note)"
          },
          "id": {
            "description": "0 in a dry run's answer",
            "format": "int64",
            "type": "integer"
          },
          "outcome": {
            "type": "string",
            "description": "why the rollout stopped; absent while it runs"
          },
          "packagesToFetch": {
            "description": "how many packages the transactions install",
            "type": "integer"
          },
          "paused": {
            "description": "a person paused it: nothing advances until resume",
            "type": "boolean"
          },
          "phase": {
            "$ref": "#/components/schemas/RolloutPhase"
          },
          "since": {
            "description": "when the phase began: UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "target": {
            "type": "string",
            "description": "what the operator asked for, for people: --target REF (state ID) or --updates-from URL (N packages offered)"
          },
          "unchanged": {
            "items": {
              "type": "string"
            },
            "type": "array",
            "description": "hosts already in their target state: no wave touches them"
          },
          "waivers": {
            "items": {
              "$ref": "#/components/schemas/Waiver"
            },
            "type": "array"
          },
          "wave": {
            "description": "the wave the phase is about (0 = canary)",
            "type": "integer"
          },
          "waves": {
            "items": {
              "$ref": "#/components/schemas/RolloutWave"
            },
            "type": "array"
          }
        },
        "required": [
          "id",
          "target",
          "createdAt",
          "createdBy",
          "phase",
          "wave",
          "since",
          "paused",
          "waves",
          "unchanged",
          "checks",
          "waivers",
          "packagesToFetch"
        ],
        "type": "object",
        "description": "a rollout: its waves with each host's transaction and jobs, every check with its evidence and the waiver that passed it, and where it stands"
      },
      "RolloutWave": {
        "properties": {
          "hosts": {
            "items": {
              "$ref": "#/components/schemas/RolloutHost"
            },
            "type": "array"
          },
          "index": {
            "description": "0 = canary",
            "type": "integer"
          },
          "state": {
            "enum": [
              "pending",
              "not started",
              "gating",
              "awaiting-approval",
              "applying",
              "soaking",
              "analyzing",
              "done",
              "rolling-back",
              "rolled-back",
              "halted",
              "aborted"
            ],
            "type": "string"
          }
        },
        "required": [
          "index",
          "state",
          "hosts"
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
      "Signal": {
        "description": "evidence that a host was failing or healthy at a moment",
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "externalID": {
            "description": "the same evidence is stored once per externalID (openqa:URL); absent when none",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "reason": {
            "description": "why (an openQA job's reason); absent when none",
            "type": "string"
          },
          "source": {
            "description": "where it came from: api, manual, openqa",
            "type": "string"
          },
          "status": {
            "$ref": "#/components/schemas/SignalStatus"
          }
        },
        "required": [
          "host",
          "at",
          "status",
          "source"
        ],
        "type": "object"
      },
      "SignalBatch": {
        "properties": {
          "signals": {
            "items": {
              "$ref": "#/components/schemas/SignalInput"
            },
            "maxItems": 10000,
            "type": "array"
          }
        },
        "required": [
          "signals"
        ],
        "type": "object"
      },
      "SignalImportResult": {
        "properties": {
          "duplicates": {
            "description": "signals whose externalID was already stored: not stored again",
            "type": "integer"
          },
          "failing": {
            "description": "failing signals recorded",
            "type": "integer"
          },
          "healthy": {
            "description": "healthy signals recorded",
            "type": "integer"
          },
          "recorded": {
            "description": "signals stored",
            "type": "integer"
          }
        },
        "required": [
          "recorded",
          "duplicates",
          "failing",
          "healthy"
        ],
        "type": "object"
      },
      "SignalInput": {
        "description": "a signal as clients send it",
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "externalID": {
            "description": "1 to 1000 characters; a signal whose externalID is already stored is a duplicate",
            "maxLength": 1000,
            "minLength": 1,
            "nullable": true,
            "type": "string"
          },
          "host": {
            "description": "host name: 1 to 253 characters, no spaces, control characters, '/' or '@'",
            "type": "string"
          },
          "reason": {
            "description": "why; kept up to 2000 characters, empty means none",
            "nullable": true,
            "type": "string"
          },
          "source": {
            "default": "api",
            "description": "1 to 64 characters",
            "maxLength": 64,
            "minLength": 1,
            "nullable": true,
            "type": "string"
          },
          "status": {
            "$ref": "#/components/schemas/SignalStatus"
          }
        },
        "required": [
          "host",
          "at",
          "status"
        ],
        "type": "object"
      },
      "SignalStatus": {
        "enum": [
          "failing",
          "healthy"
        ],
        "type": "string"
      },
      "Suspect": {
        "description": "a source package's changes as an explanation of the failures",
        "properties": {
          "changes": {
            "description": "the distinct changes (name from \u2192 to)",
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "contradictions": {
            "description": "healthy hosts that had the change while healthy",
            "items": {
              "$ref": "#/components/schemas/SuspectContradiction"
            },
            "type": "array"
          },
          "fits": {
            "description": "failing hosts where it changed in the window before their first failure",
            "items": {
              "$ref": "#/components/schemas/SuspectFit"
            },
            "type": "array"
          },
          "healthyWithout": {
            "description": "hosts with healthy signals that never had it while healthy",
            "type": "integer"
          },
          "medianLag": {
            "description": "seconds from the change to the first failure, the median over fits",
            "format": "int64",
            "type": "integer"
          },
          "missing": {
            "description": "failing hosts where it did not change in the window before their first failure",
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "rank": {
            "description": "1 for the best",
            "type": "integer"
          },
          "score": {
            "description": "0 to 1: the share of hosts it explains",
            "format": "double",
            "type": "number"
          },
          "source": {
            "description": "source package name",
            "type": "string"
          },
          "tiedWith": {
            "description": "suspects with exactly the same evidence",
            "items": {
              "type": "string"
            },
            "type": "array"
          }
        },
        "required": [
          "rank",
          "source",
          "score",
          "changes",
          "fits",
          "missing",
          "contradictions",
          "healthyWithout",
          "tiedWith"
        ],
        "type": "object"
      },
      "SuspectContradiction": {
        "description": "a host that reported healthy with the suspect's change installed",
        "properties": {
          "at": {
            "description": "the host's first healthy signal with the change present: UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "healthySignals": {
            "description": "its healthy signals with the change present",
            "type": "integer"
          },
          "host": {
            "type": "string"
          },
          "package": {
            "description": "the package it had: name evr arch",
            "type": "string"
          }
        },
        "required": [
          "host",
          "at",
          "healthySignals",
          "package"
        ],
        "type": "object"
      },
      "SuspectFit": {
        "description": "a failing host on which the suspect changed before its first failure",
        "properties": {
          "change": {
            "description": "the host's changes of this source (name from \u2192 to, ...)",
            "type": "string"
          },
          "changedAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "firstFailure": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "lag": {
            "description": "seconds from the change to the first failure",
            "format": "int64",
            "type": "integer"
          }
        },
        "required": [
          "host",
          "changedAt",
          "firstFailure",
          "lag",
          "change"
        ],
        "type": "object"
      },
      "SuspectOnset": {
        "description": "a failing host's first failing signal in the period",
        "properties": {
          "at": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "host": {
            "type": "string"
          },
          "reason": {
            "description": "absent when the signal has none",
            "type": "string"
          }
        },
        "required": [
          "host",
          "at"
        ],
        "type": "object"
      },
      "SuspectReport": {
        "properties": {
          "bisect": {
            "allOf": [
              {
                "$ref": "#/components/schemas/BisectSuggestion"
              }
            ],
            "description": "present only when several suspects tie"
          },
          "failing": {
            "description": "each failing host's first failure, by host",
            "items": {
              "$ref": "#/components/schemas/SuspectOnset"
            },
            "type": "array"
          },
          "failingSignals": {
            "description": "failing signals that count (matching reason)",
            "type": "integer"
          },
          "healthyHosts": {
            "description": "hosts with healthy signals in the period (and an observation at or before one)",
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "healthySignals": {
            "type": "integer"
          },
          "suspects": {
            "description": "best first",
            "items": {
              "$ref": "#/components/schemas/Suspect"
            },
            "type": "array"
          },
          "tie": {
            "description": "the top suspects when several fit equally; empty otherwise",
            "items": {
              "type": "string"
            },
            "type": "array"
          },
          "verdict": {
            "description": "the conclusion, for people",
            "type": "string"
          },
          "window": {
            "description": "seconds",
            "format": "int64",
            "type": "integer"
          }
        },
        "required": [
          "window",
          "failing",
          "healthyHosts",
          "failingSignals",
          "healthySignals",
          "suspects",
          "tie",
          "verdict"
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
      "Waiver": {
        "properties": {
          "by": {
            "type": "string",
            "description": "who made it: token ID (note)"
          },
          "check": {
            "type": "string"
          },
          "createdAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "expiresAt": {
            "description": "UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "id": {
            "format": "int64",
            "type": "integer"
          },
          "reason": {
            "type": "string"
          },
          "revokedAt": {
            "description": "absent until revoked: UTC time, ISO 8601 (2025-01-21T10:00:00Z)",
            "format": "date-time",
            "type": "string"
          },
          "rollout": {
            "format": "int64",
            "type": "integer"
          }
        },
        "required": [
          "id",
          "check",
          "rollout",
          "reason",
          "by",
          "createdAt",
          "expiresAt"
        ],
        "type": "object",
        "description": "a failed required check passed by a person: who, why, until when; revocable"
      },
      "WaiverCreate": {
        "properties": {
          "check": {
            "type": "string",
            "description": "the name of one of the rollout's checks (required or health)"
          },
          "expires": {
            "type": "string",
            "description": "when the waiver ends: ISO 8601 (2025-01-21T18:00:00Z) or a duration from now (90, 30m, 2h, 3d, 1h30m); must be in the future"
          },
          "reason": {
            "type": "string",
            "description": "why, for people reading the rollout's log later; not blank"
          }
        },
        "required": [
          "check",
          "reason",
          "expires"
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
    "/api/v1/hosts/{host}/labels/{key}": {
      "delete": {
        "description": "Removes the label (nothing to remove is no error). Admin only.",
        "operationId": "removeLabel",
        "parameters": [
          {
            "description": "host name (it need not have reported yet)",
            "in": "path",
            "name": "host",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "label key: 1-63 letters, digits, '.', '_', '-', '/'",
            "in": "path",
            "name": "key",
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
                  "$ref": "#/components/schemas/Labels"
                }
              }
            },
            "description": "the host's labels afterwards"
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
        "summary": "Remove a host label",
        "tags": [
          "rollouts"
        ]
      },
      "put": {
        "description": "Sets (or replaces) the host's label KEY (tidemark label HOST KEY=VALUE). Admin only.",
        "operationId": "setLabel",
        "parameters": [
          {
            "description": "host name (it need not have reported yet)",
            "in": "path",
            "name": "host",
            "required": true,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "label key: 1-63 letters, digits, '.', '_', '-', '/'",
            "in": "path",
            "name": "key",
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
                "$ref": "#/components/schemas/LabelSet"
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
                  "$ref": "#/components/schemas/Labels"
                }
              }
            },
            "description": "the host's labels afterwards"
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
        "summary": "Set a host label",
        "tags": [
          "rollouts"
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
    "/api/v1/labels": {
      "get": {
        "description": "Every label of every labelled host (what rollouts' hosts selectors KEY=VALUE match). Reader and admin tokens.",
        "operationId": "labels",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/HostLabels"
                }
              }
            },
            "description": "labels by host"
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
        "summary": "Host labels",
        "tags": [
          "rollouts"
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
    "/api/v1/rollouts": {
      "get": {
        "description": "Every rollout, newest first, without jobs and waivers (GET /api/v1/rollouts/{id} has them). Reader and admin tokens.",
        "operationId": "rollouts",
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "items": {
                    "$ref": "#/components/schemas/RolloutStatus"
                  },
                  "type": "array"
                }
              }
            },
            "description": "rollouts"
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
        "summary": "List rollouts",
        "tags": [
          "rollouts"
        ]
      },
      "post": {
        "description": "Selects the hosts, plans each host's exact transaction to its target (one state with target, or what the repository offers with updatesFrom), puts them into waves and checks that the archive holds every package forward and back (mirroring the fleet's repositories once if not) before anything is stored; the rollout then starts gating and the server drives it. Refuses a bad policy, no or no matching hosts and non-rpm hosts (400), an unknown target and packages the archive lacks (404, listing them). With dryRun: the plan, nothing stored (200). Admin only.",
        "operationId": "createRollout",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/RolloutRequest"
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
                  "$ref": "#/components/schemas/RolloutCreated"
                }
              }
            },
            "description": "dry run: the rollout as it would be (id 0) and its plan; nothing stored"
          },
          "201": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RolloutCreated"
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
          "404": {
            "$ref": "#/components/responses/MissingPackages"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "413": {
            "$ref": "#/components/responses/PayloadTooLarge"
          },
          "502": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/Error"
                }
              }
            },
            "description": "updatesFrom: the repository is unreachable or answered an HTTP error"
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
        "summary": "Create a rollout",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}": {
      "get": {
        "description": "The rollout with its waves, each host's transaction and jobs, every check with its evidence and waiver, and where it stands (tidemark rollout status --json). Reader and admin tokens.",
        "operationId": "rollout",
        "parameters": [
          {
            "description": "rollout id",
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
                  "$ref": "#/components/schemas/RolloutStatus"
                }
              }
            },
            "description": "the rollout"
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
        "summary": "One rollout",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}/abort": {
      "post": {
        "description": "Stops the rollout (aborted), leaving hosts as they are; with rollback, first returns every host it changed to its earlier state (rolling-back). The body is optional (none: no rollback). 409 when already finished. Admin only.",
        "operationId": "abortRollout",
        "parameters": [
          {
            "description": "rollout id",
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
                "$ref": "#/components/schemas/RolloutAbort"
              }
            }
          },
          "required": false
        },
        "responses": {
          "200": {
            "content": {
              "application/json": {
                "schema": {
                  "$ref": "#/components/schemas/RolloutStatus"
                }
              }
            },
            "description": "the rollout afterwards"
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
            "$ref": "#/components/responses/RolloutConflict"
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
        "summary": "Abort a rollout",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}/approve": {
      "post": {
        "description": "awaiting-approval -> applying: starts the wave the rollout waits for. 409 unless awaiting approval. Admin only; any body is ignored.",
        "operationId": "approveRollout",
        "parameters": [
          {
            "description": "rollout id",
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
                  "$ref": "#/components/schemas/RolloutStatus"
                }
              }
            },
            "description": "the rollout afterwards"
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
            "$ref": "#/components/responses/RolloutConflict"
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
        "summary": "Approve a rollout's next wave",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}/explain": {
      "get": {
        "description": "The rollout as it stood at a time (the progress after the last event by then, the jobs and waivers as they were) and its log up to then (tidemark rollout explain --at). 404 also when the rollout was created after that time. Reader and admin tokens.",
        "operationId": "explainRollout",
        "parameters": [
          {
            "description": "rollout id",
            "in": "path",
            "name": "id",
            "required": true,
            "schema": {
              "format": "int64",
              "type": "integer"
            }
          },
          {
            "description": "ISO 8601 (2025-01-21, 2025-01-21T10:00:00Z) or relative to the server's clock (-30m, -2h, -3d, -1w)",
            "in": "query",
            "name": "at",
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
                  "$ref": "#/components/schemas/RolloutExplanation"
                }
              }
            },
            "description": "the rollout then"
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
        "summary": "A rollout at a past time",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}/log": {
      "get": {
        "description": "Every event of the rollout, oldest first: each decision with the verdicts and waivers it rested on, and the progress it led to. Reader and admin tokens.",
        "operationId": "rolloutLog",
        "parameters": [
          {
            "description": "rollout id",
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
                  "items": {
                    "$ref": "#/components/schemas/RolloutEvent"
                  },
                  "type": "array"
                }
              }
            },
            "description": "events"
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
        "summary": "A rollout's log",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}/pause": {
      "post": {
        "description": "Nothing advances (no wave starts, no health is judged) until resume; running transactions finish. 409 when already paused or finished. Admin only; any body is ignored.",
        "operationId": "pauseRollout",
        "parameters": [
          {
            "description": "rollout id",
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
                  "$ref": "#/components/schemas/RolloutStatus"
                }
              }
            },
            "description": "the rollout afterwards"
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
            "$ref": "#/components/responses/RolloutConflict"
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
        "summary": "Pause a rollout",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}/resume": {
      "post": {
        "description": "Undoes pause. 409 unless paused, or when finished. Admin only; any body is ignored.",
        "operationId": "resumeRollout",
        "parameters": [
          {
            "description": "rollout id",
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
                  "$ref": "#/components/schemas/RolloutStatus"
                }
              }
            },
            "description": "the rollout afterwards"
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
            "$ref": "#/components/responses/RolloutConflict"
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
        "summary": "Resume a rollout",
        "tags": [
          "rollouts"
        ]
      }
    },
    "/api/v1/rollouts/{id}/waivers": {
      "get": {
        "description": "Every waiver made for the rollout, revoked and expired ones included. Reader and admin tokens.",
        "operationId": "rolloutWaivers",
        "parameters": [
          {
            "description": "rollout id",
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
                  "items": {
                    "$ref": "#/components/schemas/Waiver"
                  },
                  "type": "array"
                }
              }
            },
            "description": "waivers"
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
        "summary": "A rollout's waivers",
        "tags": [
          "rollouts"
        ]
      },
      "post": {
        "description": "Passes a failed check of the rollout until expires (a pending check still waits); named in every decision it affects. Refuses an unknown check, a blank reason and a time not in the future (400), a finished rollout (409). Admin only.",
        "operationId": "createWaiver",
        "parameters": [
          {
            "description": "rollout id",
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
                "$ref": "#/components/schemas/WaiverCreate"
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
                  "$ref": "#/components/schemas/Waiver"
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
          "404": {
            "$ref": "#/components/responses/NotFound"
          },
          "408": {
            "$ref": "#/components/responses/RequestTimeout"
          },
          "409": {
            "$ref": "#/components/responses/RolloutConflict"
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
        "summary": "Waive a failed check",
        "tags": [
          "rollouts"
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
    "/api/v1/signals": {
      "get": {
        "description": "Signals in time order (tidemark signal list --json). Reader and admin tokens.",
        "operationId": "signals",
        "parameters": [
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
          },
          {
            "description": "only this host's signals",
            "in": "query",
            "name": "host",
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
                    "$ref": "#/components/schemas/Signal"
                  },
                  "type": "array"
                }
              }
            },
            "description": "signals"
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
        "summary": "List signals",
        "tags": [
          "culprits"
        ]
      },
      "post": {
        "description": "Records failing and healthy signals, all or none: a bad signal refuses the request and the message names it (signals[1].host). A signal whose externalID is already stored counts as a duplicate and is not stored again. At most 10000 signals per request. Admin tokens, or a host token for its own host only.",
        "operationId": "recordSignals",
        "requestBody": {
          "content": {
            "application/json": {
              "schema": {
                "$ref": "#/components/schemas/SignalBatch"
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
                  "$ref": "#/components/schemas/SignalImportResult"
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
        "summary": "Record signals",
        "tags": [
          "culprits"
        ]
      }
    },
    "/api/v1/suspects": {
      "get": {
        "description": "The source packages whose changes best explain the failing signals of the window before at: changed on failing hosts before their first failure, absent from hosts while they were healthy (tidemark suspects --json). Reader and admin tokens.",
        "operationId": "suspects",
        "parameters": [
          {
            "description": "only failing signals whose reason matches this regular expression (ICU syntax) count",
            "in": "query",
            "name": "reason",
            "required": false,
            "schema": {
              "type": "string"
            }
          },
          {
            "description": "default 48h, at most 3650d: a duration (90m, 48h, 2d; a bare number is seconds). Signals of the window before at are read; changes count in the window before a host's first failure",
            "in": "query",
            "name": "window",
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
          },
          {
            "description": "the health command to quote in the suggested bisect command",
            "in": "query",
            "name": "test",
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
                  "$ref": "#/components/schemas/SuspectReport"
                }
              }
            },
            "description": "suspects"
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
        "summary": "Suspects",
        "tags": [
          "culprits"
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
    "/api/v1/waivers/{id}": {
      "delete": {
        "description": "Ends the waiver now; the check counts as failed again from the next decision. 409 when already revoked. Admin only.",
        "operationId": "revokeWaiver",
        "parameters": [
          {
            "description": "waiver id",
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
                  "$ref": "#/components/schemas/Waiver"
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
          },
          "409": {
            "$ref": "#/components/responses/RolloutConflict"
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
        "summary": "Revoke a waiver",
        "tags": [
          "rollouts"
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
        "description": "Text exposition format 0.0.4; no authentication (expose it only where Prometheus scrapes). tidemark_observations_ingested_total{outcome}, tidemark_observation_posts_total{form}, tidemark_states, tidemark_hosts, tidemark_hosts_stale (last observation older than 2x the median gap of the host's last 10 observations, or than --stale-after), tidemark_archive_files, tidemark_mirror_runs_total, tidemark_mirror_failures_total, tidemark_http_request_duration_seconds{route,status}.",
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
