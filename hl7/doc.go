// Package hl7 speaks HL7 version 2 (2.3 to 2.5.1; later 2.x versions are
// read the same way) over MLLP with the hospital's systems.
//
// In, a Server listens on TCP (loopback by default), optionally under TLS,
// for MLLP frames (<VT> message <FS><CR>, several per connection) from the
// addresses of its allow-list, bounds connections per address and in all,
// and closes connections that send no message soon; it hands each message to
// an ADT Handler, which keeps the master patient index (package patients) in
// step with the hospital's registration system: A01, A04, A08, A28 and A31
// add or update the patient named by PID-3 (its identifier of type MR,
// within the assigning authority of PID-3.4), A40 merges the patient of MRG-1
// into the one of PID-3 through patients.Index.Merge, which moves the
// retired patient's documents; with an audit trail, each record created,
// changed or merged is audited in the change's transaction. Every message
// is answered with an ACK: AA when applied (or when it changes nothing, as
// when the same message comes twice), AE with the faulty field named in
// plain words, AR for message types it does not handle and for failures on
// this side.
//
// Out, an Outbox records which filed documents must be announced to the EHR
// (Enqueue, called by the filing stage), and a Sender sends each as an
// MDM^T02 (document type as a LOINC code, service date, paperchart's
// document ID, and an RP pointer to the document's FHIR Binary), waits for
// the EHR's ACK and retries with exponential backoff until it is accepted.
// A filed document a person moved to another patient or type (the outbox
// row its move adds) is cancelled with an MDM^T11 for the old placement,
// sent before the MDM^T02 of the document that replaces it. Several senders may run against one database: a message is locked while
// it is sent (SELECT ... FOR UPDATE SKIP LOCKED).
//
// Parse reads a message with the separators its MSH segment declares and
// undoes escape sequences; the parser is this package's own.
//
// Patient data (names, MRNs, birth dates) never goes into logs or error
// strings: those name message control IDs, event types, patient and
// document IDs, and HL7 field positions.
package hl7
