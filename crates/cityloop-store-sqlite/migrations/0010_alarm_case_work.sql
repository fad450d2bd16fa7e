-- Carrying alarms into the closed loop happens beside ingestion: an alarm
-- row remembers the case work it still needs (1: its raise is to open or
-- join a case; 2: its clearing is to be recorded on its case), so work
-- left by a crash is done on the next start.
ALTER TABLE alarms ADD COLUMN case_work INTEGER NOT NULL DEFAULT 0;
CREATE INDEX alarms_case_work ON alarms (id) WHERE case_work <> 0;
