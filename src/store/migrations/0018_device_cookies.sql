-- Device cookies (SECURITY.md LG-03; src/auth/device.c). After a
-- successful sign-in the browser gets a cookie of 32 random bytes bound to
-- the user; only id_hash, the lower-case hex SHA-256 of those bytes, is
-- stored, so a read of this table yields no working cookie. A sign-in that
-- presents a live cookie of the account it names skips the account's
-- delay (not its lock). failures counts that cookie's failed attempts
-- (pending ones included); at device_cookie_failures it no longer helps.
-- Times are unix seconds; expires_at is fixed at creation. A password
-- reset, a password change and signing out other sessions delete the
-- user's rows; the purge deletes expired ones.
CREATE TABLE device_cookies (
    id_hash TEXT NOT NULL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    failures BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX device_cookies_user ON device_cookies (user_id);
CREATE INDEX device_cookies_expires ON device_cookies (expires_at);
