package logvalidation

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"sync"
	"testing"
	"time"
)

// signer is a CloudTrail signing key pair. Generating 2048-bit keys takes
// a while, so a test binary makes a few and shares them.
type signer struct {
	priv        *rsa.PrivateKey
	der         []byte
	fingerprint string
}

var (
	signersOnce sync.Once
	signers     []*signer
)

func testSigner(tb testing.TB, i int) *signer {
	signersOnce.Do(func() {
		for range 4 {
			priv, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			der := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
			sum := md5.Sum(der)
			signers = append(signers, &signer{priv: priv, der: der, fingerprint: hex.EncodeToString(sum[:])})
		}
	})
	return signers[i]
}

func (s *signer) publicKey(from, to time.Time) PublicKey {
	return PublicKey{Fingerprint: s.fingerprint, Value: s.der, ValidityStart: from, ValidityEnd: to}
}

// t0 is when the fixtures' first digests start: digests end at odd
// minutes and seconds, as CloudTrail's do.
var t0 = time.Date(2026, 3, 1, 0, 5, 17, 0, time.UTC)
