'use strict';
// Placeholder for open311@0.0.12's git-only dependency "sparkxml" (not on the
// npm registry). It is only loaded by open311.js; any XML parse is refused so
// that no XML result from the harness could come from code written here.
function unavailable() {
  throw new Error('sparkxml is not installable from the npm registry (git-only dependency of open311@0.0.12); XML is not exercised');
}
module.exports = { parseXml: unavailable };
