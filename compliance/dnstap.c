/* SPDX-License-Identifier: GPL-3.0-or-later */
/* dnstap frames of client queries and responses, written by an fstrm I/O thread (see dnstap.h). */
#include "compliance/dnstap.h"

#include <errno.h>

#if LANHMANH_DNSTAP

#include <fstrm.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "compliance/dnstap.pb-c.h"
#include "core/alloc.h"
#include "core/assert.h"

/* Seconds between two attempts to reach a collector that is not there (fstrm's minimum). */
#define REOPEN_INTERVAL_S 1

/* One worker's queue and drop count, kept apart from the others' (one writer each). */
struct dnstap_queue {
	struct fstrm_iothr_queue *q; /**< owned by the iothr */
	_Atomic uint64_t dropped;    /**< written by the queue's producer only (load + store) */
	uint8_t pad[64 - sizeof(void *) - sizeof(uint64_t)];
};

struct cmpl_dnstap {
	struct fstrm_iothr *iothr;   /**< the I/O thread and the writer it owns */
	struct dnstap_queue *queues; /**< n_queues, owned */
	unsigned n_queues;
	char *identity, *version; /**< owned; NULL: left out of the frames */
};

bool cmpl_dnstap_is_available(void)
{
	return true;
}

void cmpl_dnstap_close(struct cmpl_dnstap *d)
{
	if (!d)
		return;
	/* Drains every queue, writes what is left and ends the stream, then joins the thread. */
	fstrm_iothr_destroy(&d->iothr);
	core_free(d->queues);
	core_free(d->identity);
	core_free(d->version);
	core_free(d);
}

int cmpl_dnstap_open(const char *socket_path, unsigned n_queues, const char *identity,
		     const char *version, struct cmpl_dnstap **out)
{
	struct fstrm_unix_writer_options *uwopt = NULL;
	struct fstrm_writer_options *wopt = NULL;
	struct fstrm_iothr_options *iopt = NULL;
	struct fstrm_writer *writer = NULL;
	struct cmpl_dnstap *d;
	int r = -ENOMEM;

	if (!socket_path || socket_path[0] != '/' ||
	    strlen(socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path) || n_queues == 0)
		return -EINVAL;
	d = core_calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->n_queues = n_queues;
	d->queues = core_calloc(n_queues, sizeof(*d->queues));
	if (!d->queues || (identity && !(d->identity = core_strdup(identity))) ||
	    (version && !(d->version = core_strdup(version))))
		goto out_free;

	uwopt = fstrm_unix_writer_options_init();
	wopt = fstrm_writer_options_init();
	iopt = fstrm_iothr_options_init();
	if (!uwopt || !wopt || !iopt)
		goto out_free_options;
	fstrm_unix_writer_options_set_socket_path(uwopt, socket_path);
	if (fstrm_writer_options_add_content_type(wopt, CMPL_DNSTAP_CONTENT_TYPE,
						  strlen(CMPL_DNSTAP_CONTENT_TYPE)) !=
	    fstrm_res_success)
		goto out_free_options;
	if (fstrm_iothr_options_set_num_input_queues(iopt, n_queues) != fstrm_res_success ||
	    fstrm_iothr_options_set_input_queue_size(iopt, CMPL_DNSTAP_QUEUE_SIZE) !=
		    fstrm_res_success ||
	    fstrm_iothr_options_set_queue_model(iopt, FSTRM_IOTHR_QUEUE_MODEL_SPSC) !=
		    fstrm_res_success ||
	    fstrm_iothr_options_set_reopen_interval(iopt, REOPEN_INTERVAL_S) != fstrm_res_success) {
		r = -EINVAL;
		goto out_free_options;
	}
	writer = fstrm_unix_writer_init(uwopt, wopt);
	if (!writer)
		goto out_free_options;
	/* Takes the writer (and NULLs our pointer) once it has started its thread. */
	d->iothr = fstrm_iothr_init(iopt, &writer);
	if (!d->iothr)
		goto out_free_options;
	for (unsigned i = 0; i < n_queues; i++) {
		d->queues[i].q = fstrm_iothr_get_input_queue_idx(d->iothr, i);
		if (!d->queues[i].q)
			goto out_free_options;
	}
	r = 0;
out_free_options:
	if (writer)
		(void)fstrm_writer_destroy(&writer);
	if (iopt)
		fstrm_iothr_options_destroy(&iopt);
	if (wopt)
		fstrm_writer_options_destroy(&wopt);
	if (uwopt)
		fstrm_unix_writer_options_destroy(&uwopt);
	if (r == 0) {
		*out = d;
		return 0;
	}
out_free:
	cmpl_dnstap_close(d);
	return r;
}

/* Runs on the I/O thread once a frame has been written or discarded. */
static void frame_free(void *buf, void *arg)
{
	(void)arg;
	core_free(buf);
}

static void count_drop(struct dnstap_queue *q)
{
	uint64_t v = atomic_load_explicit(&q->dropped, memory_order_relaxed);
	atomic_store_explicit(&q->dropped, v + 1, memory_order_relaxed);
}

/* Fill @m's family, addresses and ports; false for a client of another family. The byte
 * pointers go into @client_copy and @local_copy, which must outlive @m. */
static bool set_endpoints(Dnstap__Message *m, const struct sockaddr *client,
			  const struct sockaddr *local, struct sockaddr_in6 *client_copy,
			  struct sockaddr_in6 *local_copy)
{
	int family = client->sa_family;
	if (family == AF_INET) {
		struct sockaddr_in *c = (struct sockaddr_in *)client_copy;
		memcpy(c, client, sizeof(*c));
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET;
		m->query_address.data = (uint8_t *)&c->sin_addr;
		m->query_address.len = sizeof(c->sin_addr);
		m->query_port = ntohs(c->sin_port);
	} else if (family == AF_INET6) {
		memcpy(client_copy, client, sizeof(*client_copy));
		m->socket_family = DNSTAP__SOCKET_FAMILY__INET6;
		m->query_address.data = client_copy->sin6_addr.s6_addr;
		m->query_address.len = sizeof(client_copy->sin6_addr);
		m->query_port = ntohs(client_copy->sin6_port);
	} else {
		return false;
	}
	m->has_socket_family = m->has_query_address = m->has_query_port = true;
	if (!local || local->sa_family != family)
		return true;
	if (family == AF_INET) {
		struct sockaddr_in *l = (struct sockaddr_in *)local_copy;
		memcpy(l, local, sizeof(*l));
		m->response_address.data = (uint8_t *)&l->sin_addr;
		m->response_address.len = sizeof(l->sin_addr);
		m->has_response_address = l->sin_addr.s_addr != htonl(INADDR_ANY);
		m->response_port = ntohs(l->sin_port);
	} else {
		memcpy(local_copy, local, sizeof(*local_copy));
		m->response_address.data = local_copy->sin6_addr.s6_addr;
		m->response_address.len = sizeof(local_copy->sin6_addr);
		m->has_response_address = !IN6_IS_ADDR_UNSPECIFIED(&local_copy->sin6_addr);
		m->response_port = ntohs(local_copy->sin6_port);
	}
	m->has_response_port = true;
	return true;
}

/* Encode @m in a Dnstap frame and queue it; drop and count it when that cannot be done. */
static void submit(struct cmpl_dnstap *d, struct dnstap_queue *q, Dnstap__Message *m)
{
	Dnstap__Dnstap frame = DNSTAP__DNSTAP__INIT;
	frame.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	frame.message = m;
	if (d->identity) {
		frame.identity.data = (uint8_t *)d->identity;
		frame.identity.len = strlen(d->identity);
		frame.has_identity = true;
	}
	if (d->version) {
		frame.version.data = (uint8_t *)d->version;
		frame.version.len = strlen(d->version);
		frame.has_version = true;
	}
	size_t size = dnstap__dnstap__get_packed_size(&frame);
	uint8_t *buf = core_malloc(size);
	if (!buf) {
		count_drop(q);
		return;
	}
	dnstap__dnstap__pack(&frame, buf);
	if (fstrm_iothr_submit(d->iothr, q->q, buf, size, frame_free, NULL) != fstrm_res_success) {
		core_free(buf);
		count_drop(q);
	}
}

/* The fields a client query and a client response share: @type, the endpoints, the protocol;
 * @now gets the time. False when the addresses cannot be written (nothing to send). */
static bool client_message(Dnstap__Message *m, Dnstap__Message__Type type,
			   const struct sockaddr *client, const struct sockaddr *local, bool tcp,
			   struct sockaddr_in6 *client_copy, struct sockaddr_in6 *local_copy,
			   struct timespec *now)
{
	if (!set_endpoints(m, client, local, client_copy, local_copy))
		return false;
	(void)clock_gettime(CLOCK_REALTIME, now);
	m->type = type;
	m->socket_protocol = tcp ? DNSTAP__SOCKET_PROTOCOL__TCP : DNSTAP__SOCKET_PROTOCOL__UDP;
	m->has_socket_protocol = true;
	return true;
}

void cmpl_dnstap_client_query(struct cmpl_dnstap *d, unsigned queue, const struct sockaddr *client,
			      const struct sockaddr *local, bool tcp, const uint8_t *msg,
			      size_t len)
{
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	struct sockaddr_in6 client_copy, local_copy;
	struct timespec now;

	if (core_fails_assert(queue < d->n_queues) ||
	    !client_message(&m, DNSTAP__MESSAGE__TYPE__CLIENT_QUERY, client, local, tcp,
			    &client_copy, &local_copy, &now))
		return;
	m.query_time_sec = (uint64_t)now.tv_sec;
	m.query_time_nsec = (uint32_t)now.tv_nsec;
	m.has_query_time_sec = m.has_query_time_nsec = true;
	m.query_message.data = (uint8_t *)msg;
	m.query_message.len = len;
	m.has_query_message = true;
	submit(d, &d->queues[queue], &m);
}

void cmpl_dnstap_client_response(struct cmpl_dnstap *d, unsigned queue,
				 const struct sockaddr *client, const struct sockaddr *local,
				 bool tcp, const uint8_t *query, size_t query_len,
				 const uint8_t *msg, size_t len)
{
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	struct sockaddr_in6 client_copy, local_copy;
	struct timespec now;

	if (core_fails_assert(queue < d->n_queues) ||
	    !client_message(&m, DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE, client, local, tcp,
			    &client_copy, &local_copy, &now))
		return;
	m.response_time_sec = (uint64_t)now.tv_sec;
	m.response_time_nsec = (uint32_t)now.tv_nsec;
	m.has_response_time_sec = m.has_response_time_nsec = true;
	if (query_len > 0) {
		m.query_message.data = (uint8_t *)query;
		m.query_message.len = query_len;
		m.has_query_message = true;
	}
	m.response_message.data = (uint8_t *)msg;
	m.response_message.len = len;
	m.has_response_message = true;
	submit(d, &d->queues[queue], &m);
}

uint64_t cmpl_dnstap_dropped(const struct cmpl_dnstap *d)
{
	uint64_t sum = 0;
	if (!d)
		return 0;
	for (unsigned i = 0; i < d->n_queues; i++)
		sum += atomic_load_explicit(&d->queues[i].dropped, memory_order_relaxed);
	return sum;
}

#else /* !LANHMANH_DNSTAP: the same functions, doing nothing */

bool cmpl_dnstap_is_available(void)
{
	return false;
}

int cmpl_dnstap_open(const char *socket_path, unsigned n_queues, const char *identity,
		     const char *version, struct cmpl_dnstap **out)
{
	return -ENOTSUP;
}

void cmpl_dnstap_close(struct cmpl_dnstap *d)
{
}

void cmpl_dnstap_client_query(struct cmpl_dnstap *d, unsigned queue, const struct sockaddr *client,
			      const struct sockaddr *local, bool tcp, const uint8_t *msg,
			      size_t len)
{
}

void cmpl_dnstap_client_response(struct cmpl_dnstap *d, unsigned queue,
				 const struct sockaddr *client, const struct sockaddr *local,
				 bool tcp, const uint8_t *query, size_t query_len,
				 const uint8_t *msg, size_t len)
{
}

uint64_t cmpl_dnstap_dropped(const struct cmpl_dnstap *d)
{
	return 0;
}

#endif /* LANHMANH_DNSTAP */
