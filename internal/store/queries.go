package store

// The store's SQL, written once with "?" placeholders in the portable subset
// and rebound per dialect when the store opens. The partial-index queries
// spell status = 'revoked' as a literal: both engines use a partial index
// only when the query's WHERE visibly implies the index's.

const certColumns = `serial, issuer, profile, subject, not_before, not_after, crl_partition, der, issued_at, status, revoked_at, reason`

type queries struct {
	installation, insertInstallation       string
	ca, cas, insertCA                      string
	allocatePartition                      string
	insertCertificate, certificate, revoke string
	certificateStatus                      string
	revokedInPartition, revokedByIssuer    string
	listPrefix                             string // completed by ListCertificates

	// Revocation publishing (publishing.go).
	markStale, partitions                       string
	nextCRLNumber, putCRL, crl, crls            string
	staleCRLs, clearStaleCRL                    string
	ocspDue, ocspRefresh, putOCSP, ocspResponse string

	// Service providers and CPR (serviceproviders.go).
	registerSP, spByID, spByNameKey, spByCert, sps, disableSP string
	linkCPR, cprLink, recordCPRQuery, cprQueryCounts          string
}

const spColumns = `id, name, origins, cert_der, cert_sha256, subject, allow_cpr_match, allow_cpr_lookup, created_at, disabled_at`

func newQueries(rebind func(string) string) queries {
	return queries{
		installation:       rebind(`SELECT environment, config, created_at FROM installation WHERE id = 1`),
		insertInstallation: rebind(`INSERT INTO installation (id, environment, config, created_at) VALUES (1, ?, ?, ?)`),

		ca:       rebind(`SELECT name, kind, cert_der, key_ref, created_at FROM cas WHERE name = ?`),
		cas:      rebind(`SELECT name, kind, cert_der, key_ref, created_at FROM cas ORDER BY created_at, name`),
		insertCA: rebind(`INSERT INTO cas (name, kind, cert_der, key_ref, created_at) VALUES (?, ?, ?, ?, ?)`),

		allocatePartition: rebind(`INSERT INTO crl_partitions (issuer, current_partition, used) VALUES (?, 1, 1)
ON CONFLICT (issuer) DO UPDATE SET
    current_partition = CASE WHEN crl_partitions.used >= ? THEN crl_partitions.current_partition + 1 ELSE crl_partitions.current_partition END,
    used              = CASE WHEN crl_partitions.used >= ? THEN 1 ELSE crl_partitions.used + 1 END
RETURNING current_partition`),

		// ocsp_refresh_at is left to its default, 0: a new certificate's
		// OCSP response is due at once.
		insertCertificate: rebind(`INSERT INTO certificates (` + certColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'good', NULL, NULL)`),
		certificate:       rebind(`SELECT ` + certColumns + ` FROM certificates WHERE serial = ?`),
		certificateStatus: rebind(`SELECT status FROM certificates WHERE serial = ?`),
		// ocsp_refresh_at = -1: the revoked response is due at once, ahead of
		// every other due response (never-signed ones are 0), so a revocation
		// is published first even while a million new certificates wait.
		revoke: rebind(`UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ?, ocsp_refresh_at = -1
WHERE serial = ? AND status = 'good'
RETURNING ` + certColumns),
		markStale: rebind(`INSERT INTO crl_stale (issuer, crl_partition, generation, cleared) VALUES (?, ?, 1, 0)
ON CONFLICT (issuer, crl_partition) DO UPDATE SET generation = crl_stale.generation + 1`),

		revokedInPartition: rebind(`SELECT serial, revoked_at, reason FROM certificates
WHERE issuer = ? AND crl_partition = ? AND status = 'revoked' ORDER BY serial`),
		revokedByIssuer: rebind(`SELECT serial, revoked_at, reason FROM certificates
WHERE issuer = ? AND status = 'revoked' ORDER BY serial`),

		listPrefix: `SELECT ` + certColumns + ` FROM certificates`,

		// ORDER BY … LIMIT 1 rather than MAX(): a backward step into the
		// (issuer, crl_partition) index in every engine, whatever the planner.
		partitions: rebind(`SELECT crl_partition FROM certificates WHERE issuer = ? ORDER BY crl_partition DESC LIMIT 1`),

		nextCRLNumber: rebind(`INSERT INTO crl_numbers (issuer, last_number) VALUES (?, 1)
ON CONFLICT (issuer) DO UPDATE SET last_number = crl_numbers.last_number + 1
RETURNING last_number`),
		// The WHERE on DO UPDATE makes "only a higher number replaces" part
		// of the one atomic statement; a skipped update affects no row.
		putCRL: rebind(`INSERT INTO crls (issuer, crl_partition, crl_number, this_update, next_update, der) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (issuer, crl_partition) DO UPDATE SET
    crl_number = excluded.crl_number, this_update = excluded.this_update,
    next_update = excluded.next_update, der = excluded.der
WHERE crls.crl_number < excluded.crl_number`),
		crl:  rebind(`SELECT issuer, crl_partition, crl_number, this_update, next_update, der FROM crls WHERE issuer = ? AND crl_partition = ?`),
		crls: `SELECT issuer, crl_partition, crl_number, this_update, next_update FROM crls ORDER BY issuer, crl_partition`,

		staleCRLs:     `SELECT issuer, crl_partition, generation FROM crl_stale WHERE generation > cleared ORDER BY issuer, crl_partition`,
		clearStaleCRL: rebind(`UPDATE crl_stale SET cleared = generation WHERE issuer = ? AND crl_partition = ? AND generation = ?`),

		ocspDue: rebind(`SELECT ` + certColumns + ` FROM certificates
WHERE issuer = ? AND ocsp_refresh_at <= ? ORDER BY ocsp_refresh_at, serial LIMIT ?`),
		// The condition on status is what lets a racing revocation win.
		ocspRefresh: rebind(`UPDATE certificates SET ocsp_refresh_at = ? WHERE serial = ? AND status = ?`),
		// A stored response is replaced by a newer one, or by one stating a
		// different status: the caller has just checked that the new status
		// is the certificate's, so the stored one is wrong however new it is.
		putOCSP: rebind(`INSERT INTO ocsp_responses (serial, status, this_update, next_update, der) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (serial) DO UPDATE SET
    status = excluded.status, this_update = excluded.this_update,
    next_update = excluded.next_update, der = excluded.der
WHERE ocsp_responses.status <> excluded.status OR ocsp_responses.this_update <= excluded.this_update`),
		ocspResponse: rebind(`SELECT serial, status, this_update, next_update, der FROM ocsp_responses WHERE serial = ?`),

		// The id is left to the engine (identity or AUTOINCREMENT), so that
		// concurrent registrations never get one SPID.
		registerSP: rebind(`INSERT INTO service_providers
    (name, name_key, origins, cert_der, cert_sha256, subject, allow_cpr_match, allow_cpr_lookup, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING ` + spColumns),
		spByID:      rebind(`SELECT ` + spColumns + ` FROM service_providers WHERE id = ?`),
		spByNameKey: rebind(`SELECT ` + spColumns + ` FROM service_providers WHERE name_key = ?`),
		spByCert:    rebind(`SELECT ` + spColumns + ` FROM service_providers WHERE cert_sha256 = ?`),
		sps:         `SELECT ` + spColumns + ` FROM service_providers ORDER BY id`,
		disableSP: rebind(`UPDATE service_providers SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL
RETURNING ` + spColumns),

		linkCPR: rebind(`INSERT INTO cpr_links (identity, cpr, created_at) VALUES (?, ?, ?)
ON CONFLICT (identity) DO NOTHING`),
		cprLink:        rebind(`SELECT identity, cpr, created_at FROM cpr_links WHERE identity = ?`),
		recordCPRQuery: rebind(`INSERT INTO cpr_queries (sp, identity, failed, queried_at) VALUES (?, ?, ?, ?)`),
		// "AND failed" is spelled as in the partial indexes' WHERE, which
		// both engines need to see to use them.
		cprQueryCounts: rebind(`SELECT
    (SELECT COUNT(*) FROM cpr_queries WHERE sp = ? AND identity = ? AND failed AND queried_at >= ?),
    (SELECT COUNT(*) FROM cpr_queries WHERE sp = ? AND failed AND queried_at >= ?)`),
	}
}
