// Validates Grafana dashboard JSON files against a JSON schema (draft-07) with ajv.
// Usage: node validate.js SCHEMA DASHBOARD...   Exit 1 on any invalid file.
'use strict';
const fs = require('fs');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const [schemaPath, ...files] = process.argv.slice(2);
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));
let bad = 0;
for (const f of files) {
  if (validate(JSON.parse(fs.readFileSync(f, 'utf8')))) {
    console.log(`valid: ${f}`);
  } else {
    bad++;
    console.log(`INVALID: ${f}`);
    for (const e of validate.errors.slice(0, 20)) console.log(`  ${e.instancePath} ${e.message}`);
  }
}
process.exit(bad ? 1 : 0);
