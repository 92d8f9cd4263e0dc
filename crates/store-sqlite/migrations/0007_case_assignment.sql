-- The caseworker a tracing case is assigned to; none: the site's caseworkers share it.
ALTER TABLE tracing_requests ADD COLUMN assigned_to TEXT;
