// Package oces describes OCES identities: the Danish public-sector PKI
// certificates that NemID issued to persons (POCES), employees (MOCES),
// organisations (VOCES) and functions or IT systems (FOCES).
//
// It has three jobs:
//
//   - reading the identity (PID, CVR, RID, UID, FID, names) out of an OCES
//     end-entity certificate, as a service provider does after a logon or a
//     signature (ParseCertificate);
//   - validating the data an operator enters when ordering a certificate
//     (CVR and CPR numbers, names, identifiers);
//   - building the to-be-signed certificate for a new OCES II end-entity
//     certificate in the same shape as the certificates NemID issued
//     (Template).
//
// The package imports only the Go standard library so that service providers
// can vendor it together with the ooapi library.
package oces
