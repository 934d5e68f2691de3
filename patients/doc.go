// Package patients owns the master patient index (MPI): the patients a
// document can be filed to, each keyed by its MRN within an assigning
// authority, with names, birth date, sex, address, phone, other identifiers
// and active / merged state, in the PostgreSQL tables patients,
// patient_identifiers and patient_merges (migration 0003_patients.sql).
//
// It loads and updates the index from CSV and FHIR R4 Patient resources
// (Import), merges a retired record into its survivor and re-points that
// patient's documents (Merge), and finds the candidates the matcher scores
// (Candidates): by MRN, also as OCR misreads it; by birth date, also with day
// and month swapped; by family name, trigram-similar or sounding alike.
//
// Names, MRNs and birth dates never go into its logs or error strings: those
// name input lines, row counts and patient IDs.
package patients
