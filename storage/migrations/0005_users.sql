-- Users of paperchart's web pages (package users): who may sign in, with what
-- role, their server-side sessions, and every sign-in attempt.

CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text        NOT NULL,             -- lower case: names are case-insensitive
    role                text        NOT NULL,
    password_hash       text        NOT NULL,             -- bcrypt
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL,
    last_sign_in        timestamptz,
    CONSTRAINT users_name_key UNIQUE (name),
    CONSTRAINT users_name_check CHECK (name ~ '^[a-z0-9._-]{1,64}$'),
    CONSTRAINT users_role_check CHECK (role IN ('indexer', 'supervisor', 'admin')),
    CONSTRAINT users_password_hash_check CHECK (password_hash LIKE '$2%')
);

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is
-- kept here, so reading this table does not let anyone sign in.
CREATE TABLE user_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_sha256 bytea       NOT NULL,
    csrf_token   text        NOT NULL,
    started_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    CONSTRAINT user_sessions_token_key UNIQUE (token_sha256),
    CONSTRAINT user_sessions_token_check CHECK (length(token_sha256) = 32),
    CONSTRAINT user_sessions_csrf_check CHECK (length(csrf_token) >= 32),
    CONSTRAINT user_sessions_time_check CHECK (last_seen_at >= started_at)
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
CREATE INDEX user_sessions_last_seen ON user_sessions (last_seen_at); -- purging idle sessions
CREATE INDEX user_sessions_started ON user_sessions (started_at);     -- purging old sessions

-- Every sign-in attempt, for lockout and audit. name is what was typed
-- (lower-cased, cut to 100 characters), whether or not such a user exists.
CREATE TABLE sign_in_attempts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text        NOT NULL,
    at      timestamptz NOT NULL,
    ok      boolean     NOT NULL,
    outcome text        NOT NULL,
    remote  text        NOT NULL DEFAULT '',
    CONSTRAINT sign_in_attempts_name_check CHECK (length(name) <= 100),
    CONSTRAINT sign_in_attempts_remote_check CHECK (length(remote) <= 200),
    CONSTRAINT sign_in_attempts_outcome_check CHECK (outcome IN
        ('ok', 'wrong_password', 'unknown_user', 'disabled', 'locked')),
    CONSTRAINT sign_in_attempts_ok_check CHECK (ok = (outcome = 'ok'))
);
CREATE INDEX sign_in_attempts_name_at ON sign_in_attempts (name, at);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts (at);
