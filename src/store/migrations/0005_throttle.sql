-- Login throttling and mail limits (SECURITY.md LG-03, LG-04, RS-07,
-- DS-04). The counters live in the store, so every node sharing it sees
-- and enforces the same numbers.
--
-- throttle_accounts: consecutive failed sign-ins per account (LG-03). key
-- is the hex SHA-256 of the account key src/auth/throttle.c derives from
-- the lower-cased email, the same for known and unknown accounts (LG-01),
-- so the table holds no typed email (nor a password typed into the email
-- field). A successful sign-in or a completed reset deletes the row.
CREATE TABLE throttle_accounts (
    key TEXT NOT NULL PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);
CREATE INDEX throttle_accounts_last ON throttle_accounts (last_failure_at);

-- throttle_windows: event counts per fixed hour window (window_start is a
-- multiple of 3600, unix seconds). scope is 'ip', 'subnet' or 'global'
-- (failed sign-ins, LG-04) or 'mail_account' / 'mail_ip' (mails, RS-07);
-- key is a canonical IP, a subnet key ("203.0.113.0/24",
-- "2001:db8::/64"), '*' for global, or an account hash.
CREATE TABLE throttle_windows (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (scope, key, window_start)
);
CREATE INDEX throttle_windows_start ON throttle_windows (window_start);
