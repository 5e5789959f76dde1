package ca

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nemid-dk/nemid/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// PublishConfig says how the publisher keeps CRLs and OCSP responses fresh.
type PublishConfig struct {
	// CRLValidity is nextUpdate - thisUpdate of every CRL (default 12 hours,
	// as NemID; at most 10 days). A CRL is re-signed at half its validity.
	CRLValidity time.Duration
	// OCSPValidity is nextUpdate - thisUpdate of every OCSP response (default
	// 24 hours; at most 10 days). A response is re-signed at 40 % of its
	// validity, before its half-life.
	OCSPValidity time.Duration
	// Interval is how often the store is polled for revocations to publish
	// (default 500 ms: a revocation is published within about a second).
	Interval time.Duration
	Log      *slog.Logger
	// Registerer receives the publisher's metrics; nil for none.
	Registerer prometheus.Registerer
}

func (c *PublishConfig) setDefaults() error {
	if c.CRLValidity == 0 {
		c.CRLValidity = DefaultCRLValidity
	}
	if c.OCSPValidity == 0 {
		c.OCSPValidity = DefaultOCSPValidity
	}
	if c.Interval == 0 {
		c.Interval = 500 * time.Millisecond
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	for _, v := range []struct {
		what string
		d    time.Duration
	}{{"CRL validity", c.CRLValidity}, {"OCSP validity", c.OCSPValidity}} {
		if v.d < time.Minute || v.d > MaxValidity {
			return fmt.Errorf("%s %v: want between 1m and %v", v.what, v.d, MaxValidity)
		}
	}
	return nil
}

// Publisher re-signs what revocations and time make stale: the affected
// partition CRL and the full CRL of each revocation, every CRL before half
// its validity has passed, and every OCSP response likewise. All it needs to
// know is in the store (stale marks, due times), so any number of publishers
// may run, and one that restarts after a crash resumes where it stopped.
type Publisher struct {
	a   *Authority
	cfg PublishConfig

	crlSeconds  *prometheus.HistogramVec
	ocspSeconds prometheus.Histogram
	publishLag  prometheus.Histogram
}

// NewPublisher makes a publisher for the authority.
func (a *Authority) NewPublisher(cfg PublishConfig) (*Publisher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	p := &Publisher{
		a:   a,
		cfg: cfg,
		crlSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nemid_crl_resign_seconds", Help: "Time to build, lint, sign and store one CRL.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"kind"}),
		ocspSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nemid_ocsp_resign_seconds", Help: "Time to sign and store one pre-signed OCSP response.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		publishLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nemid_revocation_publish_delay_seconds", Help: "From a revocation to its OCSP response being stored.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{p.crlSeconds, p.ocspSeconds, p.publishLag, &crlAgeCollector{a: a}} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// Run publishes until ctx is cancelled. Errors are logged and retried on
// the next round: a publication that failed stays marked in the store.
func (p *Publisher) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		if err := p.PublishOnce(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Log.Error("publishing revocation data", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PublishOnce does one round: OCSP responses due first (revoked ones come
// first among them; an OCSP answer is one RSA-2048 signature and what most
// relying parties ask), then the CRLs a revocation made stale, then CRLs
// missing or past half their validity.
func (p *Publisher) PublishOnce(ctx context.Context) error {
	if err := p.publishOCSP(ctx); err != nil {
		return err
	}
	stale, err := p.a.store.StaleCRLs(ctx)
	if err != nil {
		return err
	}
	for _, s := range stale {
		if err := p.signCRL(ctx, s.Issuer, s.Partition); err != nil {
			return err
		}
		if err := p.a.store.ClearStaleCRL(ctx, s); err != nil {
			return err
		}
	}
	return p.refreshCRLs(ctx)
}

// publishOCSP signs the responses that are due, a batch at a time, for at
// most one polling interval's worth of work per round beyond the first batch,
// so that stale CRLs of new revocations are never kept waiting long.
func (p *Publisher) publishOCSP(ctx context.Context) error {
	deadline := time.Now().Add(p.cfg.Interval)
	for {
		due, err := p.a.store.OCSPDue(ctx, IssuingCA, p.a.clock.Now(), 200)
		if err != nil || len(due) == 0 {
			return err
		}
		for _, rec := range due {
			start := time.Now()
			if _, err := p.a.presignOCSP(ctx, rec, p.cfg.OCSPValidity); err != nil {
				return err
			}
			p.ocspSeconds.Observe(time.Since(start).Seconds())
			if rec.Status == store.StatusRevoked {
				p.publishLag.Observe(p.a.clock.Now().Sub(rec.RevokedAt).Seconds())
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
	}
}

// refreshCRLs signs every CRL that is missing or has passed half its validity:
// for each issuer its full CRL and one per partition in use.
func (p *Publisher) refreshCRLs(ctx context.Context) error {
	have, err := p.a.store.CRLs(ctx)
	if err != nil {
		return err
	}
	type key struct {
		issuer    string
		partition int
	}
	signedAt := map[key]time.Time{}
	for _, c := range have {
		signedAt[key{c.Issuer, c.Partition}] = c.ThisUpdate
	}
	now := p.a.clock.Now()
	for _, issuer := range CRLIssuers {
		n, err := p.a.store.Partitions(ctx, issuer)
		if err != nil {
			return err
		}
		for part := 0; part <= n; part++ {
			at, ok := signedAt[key{issuer, part}]
			if ok && now.Before(at.Add(p.cfg.CRLValidity/2)) {
				continue
			}
			if err := p.signCRL(ctx, issuer, part); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Publisher) signCRL(ctx context.Context, issuer string, partition int) error {
	start := time.Now()
	c, err := p.a.SignCRL(ctx, issuer, partition, p.cfg.CRLValidity)
	if err != nil {
		return fmt.Errorf("CRL of %s partition %d: %w", issuer, partition, err)
	}
	kind := "partition"
	if partition == 0 {
		kind = "full"
	}
	p.crlSeconds.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	p.cfg.Log.Debug("signed CRL", "issuer", issuer, "partition", partition, "number", c.Number, "entries_bytes", len(c.DER))
	return nil
}

// crlAgeCollector reports the age of every CRL at scrape time.
type crlAgeCollector struct{ a *Authority }

var crlAgeDesc = prometheus.NewDesc("nemid_crl_age_seconds",
	"Seconds since the thisUpdate of the latest CRL of each issuer and partition (0: the full CRL).",
	[]string{"issuer", "partition"}, nil)

func (c *crlAgeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- crlAgeDesc }

func (c *crlAgeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	crls, err := c.a.store.CRLs(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(crlAgeDesc, err)
		return
	}
	now := c.a.clock.Now()
	for _, crl := range crls {
		ch <- prometheus.MustNewConstMetric(crlAgeDesc, prometheus.GaugeValue, now.Sub(crl.ThisUpdate).Seconds(),
			crl.Issuer, fmt.Sprint(crl.Partition))
	}
}
