#ifndef PC_MIGRATIONS_H
#define PC_MIGRATIONS_H

struct migration {
	int version;
	const char *name;
	const char *sql;
};

/* Generated from src/store/migrations/NNNN_name.sql at build time. */
extern const struct migration pc_migrations[];
extern const unsigned pc_migrations_count;

#endif
