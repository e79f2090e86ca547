/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * lanhmanh: the operator's command. Sends one command over the daemon's control socket
 * (resolver/control.h) and prints the answer. Exit status: 0 ok, 1 the daemon reported an
 * error, 2 usage, 3 the daemon could not be reached. `report` is the exception: it reads the
 * statistics store itself (compliance/report.h) and needs no daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "compliance/batch.h"
#include "compliance/report.h"
#include "config.h"
#include "config/config.h"
#include "resolver/control.h"

/* `lanhmanh keygen FILE`: a new Ed25519 key for signing the statistics batches. */
static int keygen(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: lanhmanh keygen FILE\n");
		return 2;
	}
	char pub[64];
	int r = cmpl_key_generate(argv[1], pub, sizeof(pub));
	if (r != 0) {
		fprintf(stderr, "lanhmanh: cannot make the key '%s': %s%s\n", argv[1], strerror(-r),
			r == -EEXIST ? " (a key is never overwritten; remove the file first)" : "");
		return 1;
	}
	printf("key written to %s (mode 0600)\n"
	       "public key, to give to the authority with your reporter_id:\n%s\n",
	       argv[1], pub);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: lanhmanh [-s SOCKET | -c FILE] COMMAND [ARG]\n"
		   "\n"
		   "commands:\n"
		   "  status        uptime, queries per second, cache, forwarders' health\n"
		   "  stats         raw counters, one 'name value' per line\n"
		   "  reload        load the configuration and the list files again (a bad\n"
		   "                configuration is refused; a bad list keeps its last good copy)\n"
		   "  lists         the blocklists in force: entries, bad lines, where they came from;\n"
		   "                synced lists: serial, versions applied, alerts, waiting versions\n"
		   "  lists diff NAME\n"
		   "                what the waiting version of synced list NAME changes\n"
		   "  lists promote NAME\n"
		   "                put the waiting version of synced list NAME in force\n"
		   "  lists refresh NAME\n"
		   "                ask the primary or the URL of synced list NAME now\n"
		   "  explain CLIENT DOMAIN\n"
		   "                which network, list and entry decide DOMAIN for CLIENT\n"
		   "  unblock-requests\n"
		   "                what users asked to unblock from the block page\n"
		   "  flush [NAME]  empty the cache, or only NAME and the names below it\n"
		   "  stats flush   close the statistics interval now, store it, send it now\n"
		   "  keygen FILE   make the reporter's signing key (compliance.authority.key_file)\n"
		   "                and print its public key for the authority (no daemon needed)\n"
		   "  report [--store FILE] [--from DAY] [--to DAY] [--network ID]\n"
		   "         [--format text|csv|html] [-o FILE]\n"
		   "                statistics per day, network and category, and the national\n"
		   "                list's versions, from the local store (no daemon needed;\n"
		   "                `lanhmanh report --help`)\n"
		   "\n"
		   "  -s, --socket SOCKET  the daemon's control socket\n"
		   "  -c, --config FILE    take the socket from this configuration\n"
		   "                       (default " LM_DEFAULT_CONFIG ")\n");
}

static char *socket_from_config(const char *path)
{
	struct cfg_root *cfg = NULL;
	struct cfg_diags diags = {0};
	int r = cfg_load(path, &cfg, &diags);
	char line[1024];
	for (size_t i = 0; i < diags.n; i++) {
		if (r != 0 || diags.v[i].warning) {
			cfg_diag_format(&diags.v[i], line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
	}
	cfg_diags_clear(&diags);
	if (r != 0)
		return NULL;
	char *sock = strdup(cfg->server.control_socket);
	cfg_free(cfg);
	return sock;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sock_opt = NULL, *config = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+s:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock_opt = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* report reads the statistics store itself and takes its own options. */
	if (optind < argc && strcmp(argv[optind], "report") == 0)
		return cmpl_report_main(argc - optind, argv + optind, config);
	if (optind < argc && strcmp(argv[optind], "keygen") == 0)
		return keygen(argc - optind, argv + optind);
	if (optind >= argc || argc - optind > 3) {
		usage(stderr);
		return 2;
	}
	/* The command line: the words joined by spaces, ending with a newline. */
	char cmd[RSV_CONTROL_MAX_LINE];
	int n = 0;
	for (int i = optind; i < argc; i++) {
		if (strpbrk(argv[i], "\n ") || n + strlen(argv[i]) + 2 >= sizeof(cmd)) {
			fprintf(stderr, "lanhmanh: '%s': words must be short and without spaces\n",
				argv[i]);
			return 2;
		}
		n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, "%s%s", i > optind ? " " : "",
			      argv[i]);
	}
	cmd[n++] = '\n';
	char *sock = sock_opt ? strdup(sock_opt) : socket_from_config(config ? config
									  : LM_DEFAULT_CONFIG);
	if (!sock)
		return 3;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "lanhmanh: socket path '%s' is too long\n", sock);
		free(sock);
		return 2;
	}
	strcpy(sun.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "lanhmanh: cannot reach lanhmanhd at '%s': %s\n", sock,
			strerror(errno));
		free(sock);
		if (fd >= 0)
			close(fd);
		return 3;
	}
	free(sock);
	if (write(fd, cmd, (size_t)n) != n) {
		fprintf(stderr, "lanhmanh: cannot send the command: %s\n", strerror(errno));
		close(fd);
		return 3;
	}
	/* The first line is the status ("ok" or "error"), the rest is printed as is. */
	char buf[8192];
	size_t have = 0;
	int status = -1;
	ssize_t got;
	while ((got = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)got;
		if (status < 0) {
			char *nl = memchr(buf, '\n', have);
			if (!nl && have < sizeof(buf))
				continue;
			size_t first = nl ? (size_t)(nl - buf) + 1 : 0;
			status = (first == strlen(RSV_CONTROL_OK) &&
				  memcmp(buf, RSV_CONTROL_OK, first) == 0)
					 ? 0
					 : 1;
			fwrite(buf + first, 1, have - first, status == 0 ? stdout : stderr);
		} else {
			fwrite(buf, 1, have, status == 0 ? stdout : stderr);
		}
		have = 0;
	}
	close(fd);
	if (status < 0) {
		fprintf(stderr, "lanhmanh: the daemon closed the connection without answering\n");
		return 3;
	}
	return status;
}
