#include "server/server.h"
#include "store/db.h"
#include "util/log.h"

void
health_live(struct req *r, struct resp *w)
{
	(void)r;
	if (resp_json_raw(w, 200, "{\"status\":\"ok\"}", 15) != 0)
		w->status = 500;
}

/* Ready when this thread's store connection answers a real read. */
void
health_ready(struct req *r, struct resp *w)
{
	const struct app *app = r->app;
	struct db_conn *c;
	int rc;

	if ((rc = db_conn(app->db, &c)) == 0)
		rc = db_ping(c);
	if (rc != 0) {
		log_msg(LOG_WARN, "store.unavailable", pc_strerror(rc));
		resp_header(w, "Retry-After", "5");
		if (resp_json_raw(w, 503,
			"{\"status\":\"unavailable\",\"store\":\"down\"}",
			39) != 0)
			w->status = 503;
		return;
	}
	if (resp_json_raw(w, 200, "{\"status\":\"ready\"}", 18) != 0)
		w->status = 500;
}
