-- Officer sessions ended before their token expires (sign-out): the token's id (jti) until it
-- would have expired anyway; every replica refuses a token listed here.
CREATE TABLE revoked_session (
  jti TEXT NOT NULL PRIMARY KEY,
  officer_id TEXT NOT NULL,
  expires_at DATETIME NOT NULL,
  revoked_at DATETIME NOT NULL
);
CREATE INDEX revoked_session_expires_at_idx ON revoked_session (expires_at);
