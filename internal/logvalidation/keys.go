package logvalidation

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awserr"
)

// PublicKey is one of the keys CloudTrail signs a region's digests with.
type PublicKey struct {
	// Fingerprint is what digests name the key by (digestPublicKeyFingerprint):
	// the hex MD5 of Value.
	Fingerprint string
	// Value is the DER of a PKCS#1 RSAPublicKey.
	Value []byte
	// ValidityStart and ValidityEnd bound the digests the key signed. The
	// windows of successive keys overlap.
	ValidityStart, ValidityEnd time.Time
}

// KeyProvider gives the public keys CloudTrail used in a region between
// start and end: the answer of CloudTrail ListPublicKeys.
type KeyProvider interface {
	PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error)
}

// CloudTrailKeys is the KeyProvider over CloudTrail ListPublicKeys. It
// remembers every answer, so the digests of a region, however many, cost
// one call per time range; it is safe for concurrent use.
type CloudTrailKeys struct {
	client func(region string) *cloudtrail.Client

	mu    sync.Mutex
	calls map[keyRange]*keyCall
}

type keyRange struct {
	region     string
	start, end int64
}

// keyCall is one ListPublicKeys exchange; done is closed once keys or err
// are set, so concurrent askers of the same range share it.
type keyCall struct {
	done chan struct{}
	keys []PublicKey
	err  error
}

// NewCloudTrailKeys returns a KeyProvider that asks client(region).
func NewCloudTrailKeys(client func(region string) *cloudtrail.Client) *CloudTrailKeys {
	return &CloudTrailKeys{client: client, calls: map[keyRange]*keyCall{}}
}

// PublicKeys implements KeyProvider. A failed call is not remembered.
func (k *CloudTrailKeys) PublicKeys(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error) {
	// ListPublicKeys takes whole seconds: ranges equal to the second are one call.
	r := keyRange{region: region, start: start.Unix(), end: end.Unix()}
	k.mu.Lock()
	c, ok := k.calls[r]
	if !ok {
		c = &keyCall{done: make(chan struct{})}
		k.calls[r] = c
	}
	k.mu.Unlock()
	if ok {
		select {
		case <-c.done:
			return c.keys, c.err
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}

	c.keys, c.err = k.list(ctx, region, time.Unix(r.start, 0), time.Unix(r.end, 0))
	if c.err != nil {
		k.mu.Lock()
		delete(k.calls, r)
		k.mu.Unlock()
	}
	close(c.done)
	return c.keys, c.err
}

func (k *CloudTrailKeys) list(ctx context.Context, region string, start, end time.Time) ([]PublicKey, error) {
	in := &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
	pages := cloudtrail.NewListPublicKeysPaginator(k.client(region), in)
	var keys []PublicKey
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			// A region's failure reaches the result as text: what to do
			// about the error code goes with it, as archive's errors carry it.
			if advice := awserr.Advice(err); advice != "" {
				err = fmt.Errorf("%w. %s", err, advice)
			}
			return nil, fmt.Errorf("listing CloudTrail public keys in %s between %s and %s: %w",
				region, start.UTC().Format(time.RFC3339), end.UTC().Format(time.RFC3339), err)
		}
		for _, pk := range out.PublicKeyList {
			keys = append(keys, PublicKey{
				Fingerprint:   aws.ToString(pk.Fingerprint),
				Value:         pk.Value,
				ValidityStart: aws.ToTime(pk.ValidityStartTime),
				ValidityEnd:   aws.ToTime(pk.ValidityEndTime),
			})
		}
	}
	return keys, nil
}

// keyring is the keys one chain's walk verifies with, by fingerprint; a
// key is parsed the first time a digest names it.
type keyring map[string]*ringKey

type ringKey struct {
	der    []byte
	parsed bool
	pub    *rsa.PublicKey
	err    error
}

// add takes keys in; a later key with a fingerprint already known replaces
// the earlier one, as the AWS CLI's dictionary does.
func (r keyring) add(keys []PublicKey) {
	for _, k := range keys {
		r[k.Fingerprint] = &ringKey{der: k.Value}
	}
}

// key returns the key of fingerprint: found is false when there is none,
// err is set when its value is not a PKCS#1 RSA public key.
func (r keyring) key(fingerprint string) (pub *rsa.PublicKey, found bool, err error) {
	k, ok := r[fingerprint]
	if !ok {
		return nil, false, nil
	}
	if !k.parsed {
		k.pub, k.err = x509.ParsePKCS1PublicKey(k.der)
		k.parsed = true
	}
	return k.pub, true, k.err
}
