/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control protocol between `lanhmanh` and `lanhmanhd`, over a local stream socket
 * (server.control_socket, mode 0660): the client sends one command line, the daemon answers
 * with a status line, "ok" or "error", then free text, and closes the connection.
 *
 * Commands: "status", "stats" (counters as `name value` lines), "reload", "flush" and
 * "flush NAME" (NAME and every name below it).
 */
#pragma once

#define RSV_CONTROL_MAX_LINE 1024
#define RSV_CONTROL_OK "ok\n"
#define RSV_CONTROL_ERROR "error\n"
