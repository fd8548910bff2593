-- E-mail to buyers (issue 18): an outbox like nostr_messages, queued in the
-- transaction of its cause and sent by the scheduler through the operator's
-- SMTP server (settings key 'smtp'; e-mail is off while it is absent).
CREATE TABLE email_messages (
    id              TEXT PRIMARY KEY,
    -- license (a key, or a notice about it: see notice), recovery, refund
    kind            TEXT NOT NULL CHECK (kind IN ('license', 'recovery', 'refund')),
    -- the address, as given (compared without case)
    recipient       TEXT NOT NULL,
    license_id      TEXT,
    -- NULL: the key as issued; renewal_due / renewed / upgraded / updated
    notice          TEXT,
    -- the text, when given at queue time (renewal reminders, refunds); else rendered when sent
    text            TEXT,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    -- what the SMTP server answered when it took the mail
    server_reply    TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX email_messages_due ON email_messages(next_attempt_at, created_at) WHERE state = 'pending';
CREATE INDEX email_messages_license ON email_messages(license_id, created_at) WHERE license_id IS NOT NULL;
CREATE INDEX email_messages_recipient ON email_messages(recipient COLLATE NOCASE, kind, created_at);
CREATE INDEX email_messages_state ON email_messages(state, updated_at);
