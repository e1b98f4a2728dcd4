#!/usr/bin/env node
// Lints Cypher statements with Neo4j's own front end (@neo4j-cypher/language-support).
// Input on stdin, one JSON object:
//   {"schema": {"labels": [], "relationshipTypes": [], "propertyKeys": []},
//    "version": "CYPHER 5", "statements": [{"name": "...", "text": "..."}], "split": ["..."]}
// Output on stdout, one JSON object:
//   {"results": [{"name", "diagnostics": [{"severity", "message", "offset"}]}], "splits": [["..."]]}
// Severity 1 is an error Neo4j would reject; 2 is a warning (an unknown label, type, property,
// function or procedure). Missing-parameter diagnostics are dropped: the backend always
// passes its parameters at run time. The function and procedure catalogue is the package's
// own snapshot of a Neo4j server's (testData.mockSchema). The package declares node >= 24; it runs
// on the machine's Node 20 (npm only warns), and tests/test_neo4j_lint.py proves it still lints.
'use strict';
const ls = require('@neo4j-cypher/language-support');

function main(input) {
  const base = ls.testData.mockSchema;
  const schema = {
    ...base,
    labels: input.schema.labels || [],
    relationshipTypes: input.schema.relationshipTypes || [],
    propertyKeys: input.schema.propertyKeys || [],
    defaultLanguage: input.version || 'CYPHER 5',
  };
  const results = (input.statements || []).map(({ name, text }) => {
    const { diagnostics } = ls.lintCypherQuery(text, schema);
    return {
      name,
      diagnostics: diagnostics
        .filter((d) => ls.isNotParamError(d))
        .map((d) => ({ severity: d.severity, message: d.message, offset: d.offsets ? d.offsets.start : null })),
    };
  });
  const splits = (input.split || []).map((text) => ls.parseStatementsStrs(text));
  return { results, splits };
}

let data = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { data += chunk; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(main(JSON.parse(data))));
});
