'use strict';
// Placeholder for open311@0.0.12's "xml2json ~0.2.4" (its node-expat 1.4.1
// needs node-waf, gone since Node 0.8). open311.js uses it only to parse the
// XML answer of submitRequest; any conversion is refused.
function unavailable() {
  throw new Error('xml2json@0.2.4 (node-expat 1.4.1, node-waf) cannot be installed on Node 20; XML is not exercised');
}
module.exports = { toJson: unavailable };
