-- Forward-auth for reverse proxies (issue 17 item 5; decision 0075;
-- SECURITY.md FA-01..FA-08). Three tables, all additive.
--
-- fwd_rules: the protected hosts and their access rules. host is the
-- authority the browser uses (lower-case name, ":port" unless 443); a host
-- with no row is not protected and every forward-auth request for it is
-- refused. A request's path takes the rule with the longest path_prefix
-- that contains it (on a segment boundary). access is 'public' (no session
-- needed) or 'signed_in'; groups is "" (any signed-in user) or names
-- separated by single spaces (a member of any one of them); mfa = 1 wants a
-- session whose amr has "mfa".
CREATE TABLE fwd_rules (
    host TEXT NOT NULL,
    path_prefix TEXT NOT NULL,
    access TEXT NOT NULL,
    groups TEXT NOT NULL DEFAULT '',
    mfa BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (host, path_prefix)
);

-- fwd_codes: the one-time codes that carry a sign-in from the issuer to a
-- protected host's callback. code_hash is the SHA-256 (hex) of the code
-- (256 random bits, never stored); state_hash the SHA-256 of the state
-- cookie the same browser got on the protected host when the dance began
-- (a code in another browser is useless); session_hash the issuer session
-- it came from. Taken (deleted) once, before expires_at (60 s).
CREATE TABLE fwd_codes (
    code_hash TEXT NOT NULL PRIMARY KEY,
    host TEXT NOT NULL,
    session_hash TEXT NOT NULL,
    state_hash TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rd TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX fwd_codes_expires ON fwd_codes (expires_at);

-- fwd_sessions: a protected host's own session, named by the SHA-256 (hex)
-- of its __Host- cookie. It lives only while the issuer session it was
-- made from (session_hash) lives: signing out of Portcullis, a revocation
-- of the user's sessions or a disabled account ends it at the next
-- request; the purge deletes the orphans.
CREATE TABLE fwd_sessions (
    id_hash TEXT NOT NULL PRIMARY KEY,
    session_hash TEXT NOT NULL,
    host TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX fwd_sessions_parent ON fwd_sessions (session_hash);
CREATE INDEX fwd_sessions_expires ON fwd_sessions (expires_at);
