-- Targeting: the weights an information manager sets (each setting kept, the last in force)
-- and the ranked lists printed, each with the weights it was ranked by. A list keeps household
-- ids, card references and scores, never names: names are read when the list is shown, so an
-- erased household is gone from it too.

CREATE TABLE targeting_weights (
    seq BIGSERIAL PRIMARY KEY,
    weights TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE distribution_lists (
    id UUID PRIMARY KEY,
    programme_id UUID NOT NULL REFERENCES assistance_programmes(id),
    site_code TEXT NOT NULL,
    ranked_on DATE NOT NULL,
    weights TEXT NOT NULL,
    households TEXT NOT NULL,
    printed_by TEXT NOT NULL,
    printed_at TIMESTAMPTZ NOT NULL
);

-- Who a programme is for, beyond its rule: every criterion set must hold.
ALTER TABLE assistance_programmes ADD COLUMN criterion_site TEXT;
ALTER TABLE assistance_programmes ADD COLUMN criterion_arrived_after DATE;
ALTER TABLE assistance_programmes ADD COLUMN criterion_vulnerable BOOLEAN NOT NULL DEFAULT FALSE;

-- What each site plans to give of a programme (the last plan set), and the stock it received.
CREATE TABLE assistance_plans (
    programme_id UUID NOT NULL REFERENCES assistance_programmes(id),
    site_code TEXT NOT NULL,
    planned BIGINT NOT NULL CHECK (planned >= 0),
    set_by TEXT NOT NULL,
    set_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (programme_id, site_code)
);

CREATE TABLE stock_receipts (
    id UUID PRIMARY KEY,
    programme_id UUID NOT NULL REFERENCES assistance_programmes(id),
    site_code TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity >= 1),
    received_on DATE NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL
);

-- Assistance in the change log. A distribution received before its household or programme
-- waits here (the change, as received); a distribution received that exceeds the rule with one
-- already held (two sites gave offline) is flagged with it for the information manager.
CREATE TABLE distributions_waiting (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE distributions_doubled (
    again_id UUID NOT NULL REFERENCES distributions(id) ON DELETE CASCADE,
    first_id UUID NOT NULL REFERENCES distributions(id) ON DELETE CASCADE,
    flagged_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (again_id, first_id)
);
