-- Bearer tokens of other systems (package tokens), such as the EHR reading
-- documents through FHIR. The secret is shown once when the token is made;
-- only its SHA-256 is kept here, so reading this table lets no one in.
CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Never reused, even once revoked: the audit log names tokens by name.
    name          text        NOT NULL,
    scopes        text[]      NOT NULL,
    secret_sha256 bytea       NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz,                    -- NULL: never
    revoked_at    timestamptz,
    last_used_at  timestamptz,                    -- updated at most once a minute
    CONSTRAINT api_tokens_name_key UNIQUE (name),
    CONSTRAINT api_tokens_secret_key UNIQUE (secret_sha256),
    CONSTRAINT api_tokens_name_check CHECK (name ~ '^[a-z0-9._-]{1,64}$'),
    CONSTRAINT api_tokens_secret_check CHECK (length(secret_sha256) = 32),
    CONSTRAINT api_tokens_scopes_check CHECK (cardinality(scopes) > 0),
    CONSTRAINT api_tokens_expiry_check CHECK (expires_at IS NULL OR expires_at > created_at)
);
