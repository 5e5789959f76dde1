// Package cpr is the service provider's side of NemID's PID-CPR and RID-CPR
// services (nemid-protocol.md section 9): the clients that ask whether a
// PID, or an employee's RID, belongs to a CPR number, or which CPR number
// it is; and the wire formats of the three interfaces, which the operator's
// server (internal/cpr) shares.
//
//   - PIDClient speaks the plain HTTP XML interface ("pidxml", section 9.2,
//     the default) or the SOAP interface ("pidws", section 9.1, which
//     DanID's OOAPI used);
//   - RIDClient speaks the RID-CPR OIO SOAP service v1.0.0 (section 9.4).
//
// Both authenticate with the service provider's VOCES certificate in mutual
// TLS and name the service provider's SPID in every request. A mismatch is
// a result (false), not an error; refusals and other statuses are a
// *ServiceError whose code errors.Is matches to ErrNotAuthorized (17),
// ErrNotAuthorizedForCPRLookup (8) and the other sentinels. The status
// codes and NemID's Danish and English texts are StatusCode's; the RID
// service's status texts are RIDStatusText's.
//
// Requests are written byte for byte as NemID's users sent them (the
// package's golden tests hold the bytes); answers and requests are read
// strictly: size-limited, no DTDs or entities, no unknown or repeated
// elements. Where NemID's formats are not public in full, the choices made
// are listed in docs/cpr.md.
//
// CPR numbers are personal data: no error of this package repeats one.
//
// The package imports only the standard library, so that a service
// provider can vendor it with ooapi.
package cpr
