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
}

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

		insertCertificate: rebind(`INSERT INTO certificates (` + certColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'good', NULL, NULL)`),
		certificate:       rebind(`SELECT ` + certColumns + ` FROM certificates WHERE serial = ?`),
		certificateStatus: rebind(`SELECT status FROM certificates WHERE serial = ?`),
		revoke: rebind(`UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ?
WHERE serial = ? AND status = 'good'
RETURNING ` + certColumns),

		revokedInPartition: rebind(`SELECT serial, revoked_at, reason FROM certificates
WHERE issuer = ? AND crl_partition = ? AND status = 'revoked' ORDER BY serial`),
		revokedByIssuer: rebind(`SELECT serial, revoked_at, reason FROM certificates
WHERE issuer = ? AND status = 'revoked' ORDER BY serial`),

		listPrefix: `SELECT ` + certColumns + ` FROM certificates`,
	}
}
