/* server: wiring of the route table and the serve loop. */
#ifndef PC_SERVER_H
#define PC_SERVER_H

#include "app.h"
#include "http/http.h"

extern const struct router server_router;

void health_live(struct req *r, struct resp *w);
void health_ready(struct req *r, struct resp *w);

#endif
