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
        "description": "missing, malformed, unknown or revoked token"
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
      }
    },
    "schemas": {
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
      "bearer": {
        "scheme": "bearer",
        "type": "http"
      }
    }
  },
  "info": {
    "description": "What every host of a fleet runs and ran. Reads answer byte for byte what the CLI prints with --json. Errors are {\"error\": {\"code\", \"message\"}}. Authenticate with Authorization: Bearer <token> (tidemark token create).",
    "title": "Tidemark API",
    "version": "1.0.0"
  },
  "openapi": "3.0.3",
  "paths": {
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
          }
        ],
        "summary": "History of a host",
        "tags": [
          "read"
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
          }
        ],
        "summary": "Import salt pkg.list_pkgs output",
        "tags": [
          "ingest"
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
          }
        ],
        "summary": "Report an observation",
        "tags": [
          "ingest"
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
        "description": "Text exposition format 0.0.4; no authentication (expose it only where Prometheus scrapes). tidemark_observations_ingested_total{outcome}, tidemark_states, tidemark_hosts, tidemark_hosts_stale (last observation older than 2x the median gap of the host's last 10 observations, or than --stale-after), tidemark_http_request_duration_seconds{route,status}.",
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
