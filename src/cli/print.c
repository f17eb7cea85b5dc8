/*
 * Output every command shares: one way to write a time, and --json
 * printing. Times are UTC ISO 8601; 0 means "never set" (a user never
 * disabled, a key never retired) and prints "-" in text and null in JSON,
 * never 1970-01-01.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

const char *
cli_time(char out[CLI_TIME_MAX], int64_t t, bool ms)
{
	time_t tt = (time_t)(ms ? t / 1000 : t);
	struct tm tm;
	char s[24]; /* 2026-12-05T15:19:36, a 5-digit year at most */

	if (t == 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, CLI_TIME_MAX, "-");
		return out;
	}
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	if (ms)
		snprintf(out, CLI_TIME_MAX, "%s.%03dZ", s, (int)(t % 1000));
	else
		snprintf(out, CLI_TIME_MAX, "%sZ", s);
	return out;
}

json_t *
cli_json_time(int64_t t)
{
	return t != 0 ? json_integer((json_int_t)t) : json_null();
}

void
cli_json_print(json_t *o, size_t flags)
{
	cli_json_print_secret(o, flags, NULL, NULL);
}

/* Nothing a JSON string would have to escape. */
static bool
json_plain(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\')
			return false;
	return true;
}

void
cli_json_print_secret(
    json_t *o, size_t flags, const char *key, const char *secret)
{
	char *s = o != NULL ? json_dumps(o, flags) : NULL;

	if (s == NULL)
		printf("null\n");
	else if (secret != NULL && json_plain(key) && json_plain(secret) &&
	    s[0] == '{' && s[1] != '}')
		printf("{\"%s\":\"%s\",%s\n", key, secret, s + 1);
	else if (secret != NULL)
		printf("null\n"); /* never a secret without its object */
	else
		printf("%s\n", s);
	free(s);
	json_decref(o);
}
