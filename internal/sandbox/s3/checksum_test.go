package s3

import (
	"hash/crc64"
	"testing"
)

func TestChecksumAlgorithms(t *testing.T) {
	// Check values of "123456789" from the CRC catalogue and RFC 3174/6234.
	for alg, want := range map[string]string{
		"crc32":     "y/Q5Jg==",
		"crc32c":    "4waSgw==",
		"crc64nvme": "rosUhgp5mIg=",
		"sha1":      "98O8HYCOBHMq32eZZczDTKeuNEE=",
		"sha256":    "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=",
	} {
		if got := checksumOf(alg, []byte("123456789")); got != want {
			t.Errorf("%s = %s, want %s", alg, got, want)
		}
	}
	if crc64.Checksum([]byte("123456789"), crc64NVMETable) != 0xae8b14860a799888 {
		t.Errorf("CRC-64/NVME check value wrong")
	}
}
