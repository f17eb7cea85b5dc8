/*
 * oauth: the OAuth 2.1 / OpenID Connect endpoints. Handlers parse, call
 * one domain function and render.
 */
#ifndef PC_OAUTH_H
#define PC_OAUTH_H

#include "app.h"
#include "http/http.h"

/* Builds the discovery document from configuration only (OI-10). */
int discovery_build(struct app *app) PC_WUR;

void oauth_discovery(struct req *r, struct resp *w);
void oauth_jwks(struct req *r, struct resp *w);

#endif
