package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// decodeAWSChunked removes aws-chunked framing, verifying chunk and trailer
// signatures when the payload is signed, and returns the trailing headers.
func decodeAWSChunked(body []byte, mode string, key []byte, sig *signature) ([]byte, http.Header, *Error) {
	bad := func(detail string) *Error { return &Error{Kind: BadChunk, Detail: detail} }
	signed := mode == streamingSigned || mode == streamingSignedTrailer
	prev := sig.value
	chunkSignature := func(data []byte) string {
		sts := strings.Join([]string{algorithm + "-PAYLOAD", sig.amzDate.Format(amzDateFormat), sig.scope(), prev, emptySHA256, hashHex(data)}, "\n")
		return hex.EncodeToString(hmacSHA256(key, sts))
	}
	br := bufio.NewReader(bytes.NewReader(body))
	var out bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, bad("The aws-chunked body ended before its final chunk.")
		}
		sizeHex, ext, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseInt(sizeHex, 16, 64)
		if err != nil || size < 0 || size > int64(len(body)) {
			return nil, nil, bad(fmt.Sprintf("Invalid aws-chunked chunk size %q.", sizeHex))
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, nil, bad("An aws-chunked chunk is shorter than its declared size.")
		}
		if signed {
			got, _ := strings.CutPrefix(ext, "chunk-signature=")
			want := chunkSignature(data)
			if !hmac.Equal([]byte(got), []byte(want)) {
				return nil, nil, &Error{Kind: BadSignature, Detail: "The chunk signature does not match."}
			}
			prev = want
		}
		if size == 0 {
			break
		}
		out.Write(data)
		if crlf, err := br.ReadString('\n'); err != nil || crlf != "\r\n" {
			return nil, nil, bad("An aws-chunked chunk is not followed by CRLF.")
		}
	}
	trailers := http.Header{}
	var canonicalTrailers strings.Builder
	var trailerSig string
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, bad(fmt.Sprintf("Malformed aws-chunked trailer %q.", line))
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "x-amz-trailer-signature" {
			trailerSig = value
		} else {
			trailers.Add(name, value)
			canonicalTrailers.WriteString(name + ":" + value + "\n")
		}
		if err != nil {
			break
		}
	}
	if mode == streamingSignedTrailer {
		sts := strings.Join([]string{algorithm + "-TRAILER", sig.amzDate.Format(amzDateFormat), sig.scope(), prev, hashHex([]byte(canonicalTrailers.String()))}, "\n")
		if !hmac.Equal([]byte(trailerSig), []byte(hex.EncodeToString(hmacSHA256(key, sts)))) {
			return nil, nil, &Error{Kind: BadSignature, Detail: "The trailer signature does not match."}
		}
	}
	return out.Bytes(), trailers, nil
}
