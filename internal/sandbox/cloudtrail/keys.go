package cloudtrail

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

// DefaultKeyRotation is how long CloudTrail signs with one key before the
// next: the public keys AWS lists are valid for about 30 days.
const DefaultKeyRotation = 30 * 24 * time.Hour

// signingKeyBits is the size of CloudTrail's digest signing keys.
const signingKeyBits = 2048

// signingKey is one of an account's digest signing keys in one region.
// Keys follow each other every rotation period, from the Unix epoch on, and
// each stays valid a tenth of a period longer, so validity windows overlap.
type signingKey struct {
	Account   string
	Region    string
	ValidFrom time.Time
	ValidTo   time.Time
	// Private is the key as PKCS#1 DER.
	Private []byte

	priv *rsa.PrivateKey
	// public is the PKCS#1 RSAPublicKey DER that ListPublicKeys answers,
	// fingerprint the hex MD5 of it.
	public      []byte
	fingerprint string
}

// load fills in the parsed key, its public half and fingerprint.
func (k *signingKey) load() error {
	priv, err := x509.ParsePKCS1PrivateKey(k.Private)
	if err != nil {
		return fmt.Errorf("signing key of %s in %s: %w", k.Account, k.Region, err)
	}
	priv.Precompute()
	k.priv = priv
	k.public = x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	sum := md5.Sum(k.public)
	k.fingerprint = hex.EncodeToString(sum[:])
	return nil
}

// sign signs a digest's string to sign, as CloudTrail does: RSA PKCS#1
// v1.5 over its SHA-256, answered in lower-case hex.
func (k *signingKey) sign(message string) (string, error) {
	sum := sha256.Sum256([]byte(message))
	sig, err := rsa.SignPKCS1v15(nil, k.priv, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing with the key of %s in %s: %w", k.Account, k.Region, err)
	}
	return hex.EncodeToString(sig), nil
}

// keyStore holds every account's signing keys, made when first needed. It
// has its own lock: seeded digests are signed outside CloudTrail's.
type keyStore struct {
	rotation time.Duration

	mu sync.Mutex
	// keys by indexKey(account, region), oldest first.
	keys map[string][]*signingKey
	// unsaved are keys made since the journal last took them.
	unsaved []*signingKey
}

func newKeyStore(rotation time.Duration) *keyStore {
	if rotation <= 0 {
		rotation = DefaultKeyRotation
	}
	return &keyStore{rotation: rotation, keys: map[string][]*signingKey{}}
}

// period is the start of the rotation period t falls in.
func (ks *keyStore) period(t time.Time) time.Time {
	return time.Unix(0, t.UnixNano()/int64(ks.rotation)*int64(ks.rotation)).UTC()
}

// validTo is when the key of the period that starts at from stops being
// valid: a tenth of a period after the next key's start.
func (ks *keyStore) validTo(from time.Time) time.Time {
	return from.Add(ks.rotation + ks.rotation/10)
}

// signer is the key that signs in region at t, made if it is the first.
func (ks *keyStore) signer(account, region string, t time.Time) (*signingKey, error) {
	from := ks.period(t)
	ks.mu.Lock()
	defer ks.mu.Unlock()
	id := indexKey(account, region)
	for _, k := range ks.keys[id] {
		if k.ValidFrom.Equal(from) {
			return k, nil
		}
	}
	priv, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return nil, fmt.Errorf("making a signing key for %s in %s: %w", account, region, err)
	}
	k := &signingKey{
		Account: account, Region: region, ValidFrom: from, ValidTo: ks.validTo(from),
		Private: x509.MarshalPKCS1PrivateKey(priv),
	}
	if err := k.load(); err != nil {
		return nil, err
	}
	ks.addLocked(k)
	ks.unsaved = append(ks.unsaved, k)
	return k, nil
}

func (ks *keyStore) addLocked(k *signingKey) {
	id := indexKey(k.Account, k.Region)
	ks.keys[id] = append(ks.keys[id], k)
	list := ks.keys[id]
	sort.Slice(list, func(i, j int) bool { return list[i].ValidFrom.Before(list[j].ValidFrom) })
}

// restore adds a key the journal kept.
func (ks *keyStore) restore(k *signingKey) error {
	if err := k.load(); err != nil {
		return err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.addLocked(k)
	return nil
}

// within lists region's keys whose validity overlaps [start, end], oldest
// first.
func (ks *keyStore) within(account, region string, start, end time.Time) []*signingKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var out []*signingKey
	for _, k := range ks.keys[indexKey(account, region)] {
		if !k.ValidFrom.After(end) && !k.ValidTo.Before(start) {
			out = append(out, k)
		}
	}
	return out
}

// all is every key, for the snapshot.
func (ks *keyStore) all() []*signingKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var out []*signingKey
	for _, list := range ks.keys {
		out = append(out, list...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Account+out[i].Region != out[j].Account+out[j].Region {
			return out[i].Account+out[i].Region < out[j].Account+out[j].Region
		}
		return out[i].ValidFrom.Before(out[j].ValidFrom)
	})
	return out
}

// takeUnsaved returns the keys made since it was last called.
func (ks *keyStore) takeUnsaved() []*signingKey {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	out := ks.unsaved
	ks.unsaved = nil
	return out
}

// publicKeysPageSize is how many keys a ListPublicKeys page holds. AWS
// documents NextToken as reserved and the AWS CLI's validate-logs reads
// one page, so a page holds years of keys.
var publicKeysPageSize = 50

type publicKeysToken struct {
	Next   int    `json:"n"`
	Params string `json:"p"`
}

func (s *Service) ctListPublicKeys(caller awsapi.Caller, body []byte) (any, callDetail, *ctError) {
	var in struct {
		StartTime *float64
		EndTime   *float64
		NextToken *string
	}
	if err := decodeCT(body, &in); err != nil {
		return nil, callDetail{}, err
	}
	now := s.now().UTC()
	start, end := now, now
	if in.StartTime != nil {
		start = awsapi.FromEpoch(*in.StartTime)
	}
	if in.EndTime != nil {
		end = awsapi.FromEpoch(*in.EndTime)
	}
	if start.After(end) {
		return nil, callDetail{}, ctErr("InvalidTimeRangeException", "Start time must not be after end time.")
	}
	// AWS always has a current key; the pre-existing trail's keys exist
	// from the start, though they are made when first needed.
	var wanted []time.Time
	if !now.Before(start) && !now.After(end) {
		wanted = append(wanted, now)
	}
	for _, t := range s.state.Trails {
		if t.seed != nil && t.Account == caller.Account {
			wanted = append(wanted, t.seed.signingTimes(caller.Region, start, end)...)
		}
	}
	for _, at := range wanted {
		if _, err := s.keys.signer(caller.Account, caller.Region, at); err != nil {
			return nil, callDetail{}, &ctError{code: "InternalFailure", msg: err.Error(), status: http.StatusInternalServerError}
		}
	}
	keys := s.keys.within(caller.Account, caller.Region, start, end)
	params := fmt.Sprintf("%s/%s/%d/%d", caller.Account, caller.Region, start.UnixNano(), end.UnixNano())
	from := 0
	if in.NextToken != nil {
		var tok publicKeysToken
		raw, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || json.Unmarshal(raw, &tok) != nil || tok.Params != params || tok.Next < 0 || tok.Next > len(keys) {
			return nil, callDetail{}, ctErr("InvalidTokenException", "Invalid NextToken: it is valid only with the time range of the call that returned it.")
		}
		from = tok.Next
	}
	type publicKey struct {
		Value             []byte
		ValidityStartTime *awsapi.EpochTime
		ValidityEndTime   *awsapi.EpochTime
		Fingerprint       string
	}
	out := struct {
		PublicKeyList []publicKey
		NextToken     string `json:",omitempty"`
	}{PublicKeyList: []publicKey{}}
	for i, k := range keys[from:] {
		if i == publicKeysPageSize {
			raw, _ := json.Marshal(publicKeysToken{Next: from + i, Params: params})
			out.NextToken = base64.RawURLEncoding.EncodeToString(raw)
			break
		}
		out.PublicKeyList = append(out.PublicKeyList, publicKey{
			Value: k.public, ValidityStartTime: awsapi.Epoch(k.ValidFrom), ValidityEndTime: awsapi.Epoch(k.ValidTo), Fingerprint: k.fingerprint,
		})
	}
	return out, callDetail{}, nil
}
