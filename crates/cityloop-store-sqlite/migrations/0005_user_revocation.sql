-- A revoked user can neither log in nor use a token (transparency log:
-- the revocation is a leaf written with it).
ALTER TABLE users ADD COLUMN revoked_at TEXT;
