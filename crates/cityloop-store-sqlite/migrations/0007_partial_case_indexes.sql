-- Most new cases have no lead unit yet and no signed-in reporter (hotline,
-- sensors, the citizens' door): as partial indexes, these two cost nothing
-- when such a case is written. Lookups by a given unit or reporter
-- (`lead_department = ?`, `reporter = ?`) still use them.
DROP INDEX cases_lead;
CREATE INDEX cases_lead ON cases (lead_department, open) WHERE lead_department IS NOT NULL;
DROP INDEX cases_reporter;
CREATE INDEX cases_reporter ON cases (reporter) WHERE reporter IS NOT NULL;
