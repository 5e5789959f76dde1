package revocation

import (
	"bufio"
	"net"
	"testing"
)

// BenchmarkLDAPPartitionSearch measures OOAPI's request, a base search
// for a partition CRL, over one connection (the CRL source is in memory,
// so this is the directory's own cost: decoding, DN and filter, encoding).
func BenchmarkLDAPPartitionSearch(b *testing.B) {
	f := ldapTestFixture(b)
	_, addr := startLDAP(b, newLDAPFakeCRLs(f), nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := ldapTestSearch(1, f.partitionDN, "certificateRevocationList;binary")
	r := bufio.NewReader(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		for range 2 { // the entry, then SearchResultDone
			if _, err := readLDAPMessage(r, 1<<20, func() error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
	}
}
