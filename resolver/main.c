/* SPDX-License-Identifier: GPL-3.0-or-later */
/* lanhmanhd: the daemon's entry point, the only place that wires modules together. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>
#include <uv.h>
#include <yaml.h>

#include "compliance/dnstap.h"
#include "config.h"
#include "config/config.h"
#include "core/error.h"
#include "core/log.h"
#include "resolver/fetch.h"
#include "resolver/server.h"
#include "version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: lanhmanhd [-c FILE] [--check-config] [--version]\n"
		   "\n"
		   "  -c, --config FILE   configuration (default " LM_DEFAULT_CONFIG ")\n"
		   "      --check-config  validate the configuration and exit (0: valid)\n"
		   "  -V, --version       print versions and exit\n"
		   "  -h, --help          this text\n");
}

static void print_diags(const struct cfg_diags *d)
{
	char line[1024];
	for (size_t i = 0; i < d->n; i++) {
		cfg_diag_format(&d->v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = LM_DEFAULT_CONFIG;
	bool check_only = false;
	int c;
	while ((c = getopt_long(argc, argv, "c:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'V':
			printf("lanhmanhd %s (%s)\nlibuv %s, ldns %s, libyaml %s\n",
			       PACKAGE_VERSION, LM_VCS_VERSION, uv_version_string(),
			       ldns_version(), yaml_get_version_string());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* libcurl's global state, before any thread exists (lists over HTTPS). */
	if (rsv_fetch_global_init() != 0) {
		fprintf(stderr, "lanhmanhd: cannot initialise libcurl\n");
		return 1;
	}

	struct cfg_root *cfg = NULL;
	struct cfg_diags diags = {0};
	int r = cfg_load(path, &cfg, &diags);
	print_diags(&diags);
	cfg_diags_clear(&diags);
	if (r != 0) {
		fprintf(stderr, "lanhmanhd: '%s' is not a valid configuration (%s)\n", path,
			core_strerror(r));
		return 1;
	}
	/* A file that asks for dnstap must not load into a daemon that cannot write it. */
	if (cfg->compliance.dnstap_socket && !cmpl_dnstap_is_available()) {
		fprintf(stderr,
			"lanhmanhd: '%s' sets compliance.dnstap, but this lanhmanhd was built without dnstap (meson -Ddnstap=enabled, with libfstrm and libprotobuf-c); remove compliance.dnstap or use a build with dnstap\n",
			path);
		cfg_free(cfg);
		return 1;
	}
	if (check_only) {
		/* What the daemon builds from the file, too: MMDB files, the time zone. */
		struct pol_policy *policy = NULL;
		char err[768] = "";
		r = pol_policy_new(cfg, &policy, err, sizeof(err));
		pol_policy_free(policy);
		cfg_free(cfg);
		if (r != 0) {
			fprintf(stderr, "%s\nlanhmanhd: '%s' is not a valid configuration (%s)\n",
				err[0] ? err : core_strerror(r), path, core_strerror(r));
			return 1;
		}
		printf("%s: configuration is valid\n", path);
		return 0;
	}
	/* Reloads read the file again: remember it by an absolute name. */
	char *abs = realpath(path, NULL);
	r = rsv_server_run(abs ? abs : path, cfg);
	free(abs);
	if (r != 0) {
		core_log_err("rsv", "cannot start: %s", core_strerror(r));
		return 1;
	}
	return 0;
}
