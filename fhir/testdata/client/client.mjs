// Drives paperchart's FHIR server the way an EHR would, with the
// fhir-kit-client library: find a patient by MRN, list their documents page
// by page, download each PDF (raw, and as a Binary resource) and check its
// bytes against the hash and size the DocumentReference announced. Every
// resource received — and the OperationOutcome of a failed read — is
// validated against the official FHIR R4 JSON schema. Prints one JSON
// report on stdout; fhir/client_test.go reads it.
//
// usage: node client.mjs BASE_URL TOKEN SYSTEM MRN
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Client } from 'fhir-kit-client';

const require = createRequire(import.meta.url);
const Validator = require('@asymmetrik/fhir-json-schema-validator');

const [base, token, system, mrn] = process.argv.slice(2);
const client = new Client({ baseUrl: base, bearerToken: token });
const validator = new Validator();
const report = { fhirVersion: null, resources: 0, invalid: [], patient: null, documents: [], pages: 0, notFound: null };

function check(resource) {
  report.resources++;
  const errors = validator.validate(resource);
  if (errors.length > 0) {
    report.invalid.push({ resourceType: resource.resourceType, id: resource.id, errors: errors.slice(0, 5) });
  }
}

// This package's fhir.schema.json predates R4's technical correction 4.0.1:
// its fhirVersion enum stops at 4.0.0. The statement is checked with that
// one element as the schema knows it, everything else as served.
const capability = await client.capabilityStatement();
report.fhirVersion = capability.fhirVersion;
check({ ...capability, fhirVersion: '4.0.0' });
const found = await client.search({ resourceType: 'Patient', searchParams: { identifier: `${system}|${mrn}` } });
check(found);
const patient = found.entry[0].resource;
check(patient);
report.patient = patient.id;

let bundle = await client.search({ resourceType: 'DocumentReference', searchParams: { patient: patient.id, _count: 2 } });
while (bundle) {
  report.pages++;
  check(bundle);
  for (const entry of bundle.entry ?? []) {
    const doc = entry.resource;
    check(doc);
    const att = doc.content[0].attachment;
    const resp = await fetch(att.url, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/pdf' } });
    const pdf = Buffer.from(await resp.arrayBuffer());
    const binary = await client.read({ resourceType: 'Binary', id: doc.id });
    check(binary);
    report.documents.push({
      id: doc.id,
      type: doc.type.coding[0].code,
      date: doc.date,
      status: resp.status,
      contentType: resp.headers.get('content-type'),
      size: pdf.length,
      sizeMatches: pdf.length === att.size,
      hashMatches: createHash('sha1').update(pdf).digest('base64') === att.hash,
      binaryMatches: Buffer.from(binary.data, 'base64').equals(pdf),
      pdf: pdf.subarray(0, 5).toString() === '%PDF-',
    });
  }
  bundle = await client.nextPage({ bundle });
}

try {
  await client.read({ resourceType: 'Patient', id: '999999999' });
} catch (err) {
  const outcome = typeof err.response?.data === 'string' ? JSON.parse(err.response.data) : err.response?.data;
  report.notFound = err.response?.status ?? null;
  if (outcome) check(outcome);
}
console.log(JSON.stringify(report));
