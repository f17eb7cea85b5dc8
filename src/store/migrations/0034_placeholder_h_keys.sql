-- Placeholder for migration 0034 (h-keys, issue 17 item 6) so that the
-- h-audit branch builds on its own: the numbers must have no gaps. The
-- merge replaces this file with h-keys' own 0034. It changes nothing.
SELECT 1;
