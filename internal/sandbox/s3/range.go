package s3

import (
	"net/http"
	"strconv"
	"strings"
)

// checkRange reads a GetObject Range header as S3 does, for an object of
// size bytes. A header S3 cannot read (not one bytes=first-last,
// bytes=first- or bytes=-suffix range of decimal digits, or several
// ranges) is ignored: the answer is the whole object. A range that starts
// at or past the end is InvalidRange. A readable, satisfiable range is
// left to http.ServeContent, which reads it the same way.
func checkRange(header string, size int64) (ignore bool, serr *s3Error) {
	if header == "" {
		return false, nil
	}
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return true, nil
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return true, nil
	}
	unsatisfiable := &s3Error{status: http.StatusRequestedRangeNotSatisfiable, code: "InvalidRange",
		message: "The requested range is not satisfiable", rangeRequested: header, actualObjectSize: strconv.FormatInt(size, 10)}
	if first == "" {
		n, ok := decimal(last)
		switch {
		case !ok:
			return true, nil
		case n == 0 || size == 0:
			return false, unsatisfiable
		}
		return false, nil
	}
	start, ok := decimal(first)
	if !ok {
		return true, nil
	}
	if last != "" {
		end, ok := decimal(last)
		if !ok || end < start {
			return true, nil
		}
	}
	if start >= size {
		return false, unsatisfiable
	}
	return false, nil
}

// decimal reads a non-negative decimal number: digits only, so no sign,
// base prefix, space or trailing text (strconv alone accepts a sign).
func decimal(s string) (int64, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
