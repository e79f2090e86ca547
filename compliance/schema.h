/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The local statistics store (SQLite): its schema, version 1. Documented for operators and
 * reviewers in docs/statistics.md; `lanhmanh report` and the tests read it with plain SQL.
 *
 * One writer: the daemon's control thread. Times are Unix seconds (UTC); `day` is the local
 * date (server.timezone) of an interval's start, "YYYY-MM-DD". No table holds a client
 * address except query_log with `client_ids: full`; nothing here leaves the machine except
 * through the outbox, whose batches carry no client address at all.
 */
#pragma once

#define CMPL_SCHEMA_VERSION 1

#define CMPL_SCHEMA_SQL                                                                           \
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"            \
	/* one row per closed interval; id is also the sequence number of its batch */            \
	"CREATE TABLE IF NOT EXISTS intervals (\n"                                                  \
	"  id INTEGER PRIMARY KEY,\n"                                                               \
	"  start INTEGER NOT NULL, end INTEGER NOT NULL, day TEXT NOT NULL,\n"                      \
	"  queries INTEGER NOT NULL, blocked INTEGER NOT NULL,\n"                                   \
	"  national_version TEXT, national_applied INTEGER,\n"                                      \
	"  spooled INTEGER NOT NULL DEFAULT 0);\n"                                                  \
	/* spooled: 0 waits for room in the outbox, 1 its batch was made, 2 not for export */     \
	"CREATE INDEX IF NOT EXISTS intervals_day ON intervals(day);\n"                             \
	/* queries and blocks per network and group (network_id '' : clients in no network) */    \
	"CREATE TABLE IF NOT EXISTS totals (\n"                                                     \
	"  interval_id INTEGER NOT NULL, network_id TEXT NOT NULL, network_name TEXT NOT NULL,\n"   \
	"  province TEXT NOT NULL, grp TEXT NOT NULL,\n"                                            \
	"  queries INTEGER NOT NULL, blocked INTEGER NOT NULL);\n"                                  \
	"CREATE INDEX IF NOT EXISTS totals_interval ON totals(interval_id);\n"                      \
	/* blocked queries per network, group, category, list and list version */                 \
	"CREATE TABLE IF NOT EXISTS blocks (\n"                                                     \
	"  interval_id INTEGER NOT NULL, network_id TEXT NOT NULL, grp TEXT NOT NULL,\n"           \
	"  category TEXT NOT NULL, list TEXT NOT NULL, list_version TEXT NOT NULL,\n"               \
	"  count INTEGER NOT NULL);\n"                                                              \
	"CREATE INDEX IF NOT EXISTS blocks_interval ON blocks(interval_id);\n"                      \
	/* the most blocked names of the national list, per network */                            \
	"CREATE TABLE IF NOT EXISTS top_national (\n"                                               \
	"  interval_id INTEGER NOT NULL, network_id TEXT NOT NULL, domain TEXT NOT NULL,\n"        \
	"  count INTEGER NOT NULL);\n"                                                              \
	"CREATE INDEX IF NOT EXISTS top_national_interval ON top_national(interval_id);\n"          \
	/* every version of a synced list applied, and each file list's version seen */           \
	"CREATE TABLE IF NOT EXISTS list_versions (\n"                                              \
	"  list TEXT NOT NULL, category TEXT NOT NULL, version TEXT NOT NULL,\n"                    \
	"  applied INTEGER NOT NULL, how TEXT NOT NULL, entries INTEGER NOT NULL,\n"                \
	"  PRIMARY KEY (list, version));\n"                                                         \
	/* the school's own log of blocked queries (compliance.query_log), never exported */       \
	"CREATE TABLE IF NOT EXISTS query_log (\n"                                                  \
	"  time INTEGER NOT NULL, client TEXT NOT NULL, network_id TEXT NOT NULL,\n"               \
	"  grp TEXT NOT NULL, qname TEXT NOT NULL, qtype INTEGER NOT NULL,\n"                       \
	"  category TEXT NOT NULL, list TEXT NOT NULL);\n"                                          \
	"CREATE INDEX IF NOT EXISTS query_log_time ON query_log(time);\n"                           \
	/* the spool: signed batches waiting for the authority's acknowledgement */               \
	"CREATE TABLE IF NOT EXISTS outbox (\n"                                                     \
	"  seq INTEGER PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE,\n"                       \
	"  created INTEGER NOT NULL, body BLOB NOT NULL, signature TEXT NOT NULL,\n"               \
	"  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);\n"
