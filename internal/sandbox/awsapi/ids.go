package awsapi

import (
	"crypto/rand"
	"fmt"
)

// RandomBytes returns n bytes from crypto/rand.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never fails (it crashes the program instead).
	_, _ = rand.Read(b)
	return b
}

// RandomString returns n random characters of alphabet.
func RandomString(n int, alphabet string) string {
	b := RandomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// UUID writes 16 bytes as a version-4 UUID. Written by hand because the
// history needs UUIDs derived from a seeded source and from content
// hashes, and the sandbox's random ones need only crypto/rand: a UUID
// module would add a dependency for a Sprintf.
func UUID(b []byte) string {
	var u [16]byte
	copy(u[:], b)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// NewUUID is a random version-4 UUID, as AWS request and event ids are.
func NewUUID() string { return UUID(RandomBytes(16)) }
