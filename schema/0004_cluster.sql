-- wsgw schema version 4: which role this database plays in a cluster (SPEC §9).
-- A replica gateway writes one row here at start and keeps its copy of the
-- primary's apps, members, tokens and grants; wsgw-admin refuses to change a
-- database that holds a replica row, naming the primary. The primary's
-- database (and a node alone) holds no row. This table is never shipped: each
-- node's row is its own.

CREATE TABLE cluster_role (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    role         TEXT    NOT NULL CHECK (role IN ('replica')),
    primary_node TEXT    NOT NULL, -- the primary's cluster.node_name as its last image said, '' before the first
    updated_at   INTEGER NOT NULL
) STRICT;
