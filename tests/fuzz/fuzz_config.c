/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Fuzz target: any bytes as a config file, through the whole loader (YAML parsing, validation,
 * diagnostics), then everything freed. Allocation balance is checked so leaks on error paths
 * show up even without LeakSanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "config/config.h"
#include "core/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg_diags diags = {0};
	struct cfg_root *cfg = NULL;
	char line[512];
	int rc;

	/* never read the machine's resolv.conf: it would make runs depend on the host */
	cfg_set_resolv_conf_path("/nonexistent/resolv.conf");
	rc = cfg_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &diags);
	if ((rc == 0) != (cfg != NULL) || (rc == 0 && diags.n_errors))
		abort();
	for (size_t i = 0; i < diags.n; i++)
		(void)cfg_diag_format(&diags.v[i], line, sizeof(line));
	cfg_free(cfg);
	cfg_diags_clear(&diags);
	if (core_alloc_live_bytes() != 0)
		abort();
	return 0;
}
