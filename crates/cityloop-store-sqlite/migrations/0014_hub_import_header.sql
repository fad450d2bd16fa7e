-- What an import read, kept so that its quarantined lines can be handed
-- back as a file in the department's own format, fixed and re-imported
-- through the same mapping: the file's header (a JSON array of column
-- names) and the mapping's whole text (lineage: which mapping made which
-- rows).
ALTER TABLE hub_imports ADD COLUMN header TEXT NOT NULL DEFAULT '[]';
ALTER TABLE hub_imports ADD COLUMN mapping_text TEXT NOT NULL DEFAULT '';
