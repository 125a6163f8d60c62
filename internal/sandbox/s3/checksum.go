package s3

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"net/http"
	"strings"
)

// crc64NVMETable is CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5);
// hash/crc64's initial and final inversion match its definition.
var crc64NVMETable = crc64.MakeTable(0x9a6c9329ac4bc9b5)

// checksumAlgorithms are S3's additional checksums, by the lower-case
// suffix of their x-amz-checksum-* header.
var checksumAlgorithms = map[string]func() hash.Hash{
	"crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"crc64nvme": func() hash.Hash { return crc64.New(crc64NVMETable) },
	"sha1":      sha1.New,
	"sha256":    sha256.New,
}

func checksumOf(alg string, body []byte) string {
	h := checksumAlgorithms[alg]()
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// verifyIntegrity checks Content-MD5 and any x-amz-checksum-* value (sent
// as a header or, for aws-chunked bodies, as a trailer that authenticate
// moved into the headers). It returns the additional checksum to store.
// required makes the request invalid without either, as for DeleteObjects.
func verifyIntegrity(r *http.Request, body []byte, required bool) (alg, value string, serr *s3Error) {
	hasMD5 := false
	if v := r.Header.Get("Content-MD5"); v != "" {
		hasMD5 = true
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return "", "", &s3Error{status: http.StatusBadRequest, code: "InvalidDigest", message: "The Content-MD5 you specified was invalid."}
		}
		if got := md5.Sum(body); string(got[:]) != string(want) {
			return "", "", &s3Error{status: http.StatusBadRequest, code: "BadDigest", message: "The Content-MD5 you specified did not match what we received."}
		}
	}
	for name := range checksumAlgorithms {
		v := r.Header.Get("X-Amz-Checksum-" + name)
		if v == "" {
			continue
		}
		if alg != "" {
			return "", "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."}
		}
		if got := checksumOf(name, body); got != v {
			return "", "", &s3Error{status: http.StatusBadRequest, code: "BadDigest",
				message: fmt.Sprintf("The %s you specified did not match the calculated checksum.", strings.ToUpper(name))}
		}
		alg, value = name, v
	}
	if declared := strings.ToLower(r.Header.Get("X-Amz-Sdk-Checksum-Algorithm")); declared != "" && alg == "" && !hasMD5 {
		if _, known := checksumAlgorithms[declared]; !known {
			return "", "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "Value for x-amz-sdk-checksum-algorithm header is invalid."}
		}
		return "", "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest",
			message: "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found."}
	}
	if required && alg == "" && !hasMD5 {
		return "", "", &s3Error{status: http.StatusBadRequest, code: "InvalidRequest", message: "Missing required header for this request: Content-MD5"}
	}
	return alg, value, nil
}

// checksumElements are the Checksum<ALGORITHM> elements of S3's XML, at
// most one of them set.
type checksumElements struct {
	ChecksumCRC32     string `xml:",omitempty"`
	ChecksumCRC32C    string `xml:",omitempty"`
	ChecksumCRC64NVME string `xml:",omitempty"`
	ChecksumSHA1      string `xml:",omitempty"`
	ChecksumSHA256    string `xml:",omitempty"`
}

// field is the element of alg (as checksumAlgorithms names it).
func (c *checksumElements) field(alg string) *string {
	switch alg {
	case "crc32":
		return &c.ChecksumCRC32
	case "crc32c":
		return &c.ChecksumCRC32C
	case "crc64nvme":
		return &c.ChecksumCRC64NVME
	case "sha1":
		return &c.ChecksumSHA1
	case "sha256":
		return &c.ChecksumSHA256
	}
	return nil
}

// value is the checksum given for alg, "" when none is.
func (c checksumElements) value(alg string) string {
	if f := c.field(alg); f != nil {
		return *f
	}
	return ""
}

func checksumElementsOf(alg, value string) checksumElements {
	var c checksumElements
	if f := c.field(alg); f != nil {
		*f = value
	}
	return c
}
