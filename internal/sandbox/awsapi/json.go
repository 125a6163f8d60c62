package awsapi

import (
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// JSONContentType is the JSON 1.1 protocol's content type.
const JSONContentType = "application/x-amz-json-1.1"

// EpochTime is a timestamp on the JSON 1.1 wire: seconds since the epoch
// as a JSON number.
type EpochTime time.Time

// MarshalJSON writes the seconds with millisecond precision.
func (t EpochTime) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(t).UnixMilli())/1000, 'f', -1, 64)), nil
}

// Epoch is t on the wire; nil (left out) for the zero time.
func Epoch(t time.Time) *EpochTime {
	if t.IsZero() {
		return nil
	}
	e := EpochTime(t)
	return &e
}

// FromEpoch reads a timestamp a client sent as seconds since the epoch.
func FromEpoch(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
}

// WriteJSON answers 200 with v.
func WriteJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteJSONError(w, http.StatusInternalServerError, "InternalFailure", "encoding response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", JSONContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("X-Amzn-Requestid", NewUUID())
	w.WriteHeader(http.StatusOK)
	// A write fails only once the client has gone; there is no one left to
	// answer.
	_, _ = w.Write(body)
}

// WriteJSONError answers in the JSON 1.1 protocol's error shape.
func WriteJSONError(w http.ResponseWriter, status int, code, message string) {
	WriteJSONErrorFields(w, status, code, map[string]string{"message": message})
}

// WriteJSONErrorFields answers in the JSON 1.1 protocol's error shape
// with fields as the members beside __type: services name the message
// member differently (message, Message) and some add members of their
// own.
func WriteJSONErrorFields(w http.ResponseWriter, status int, code string, fields map[string]string) {
	body := make(map[string]string, len(fields)+1)
	maps.Copy(body, fields)
	body["__type"] = code
	data, err := json.Marshal(body)
	if err != nil {
		// A map of strings always marshals.
		panic(err)
	}
	w.Header().Set("Content-Type", JSONContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("X-Amzn-Requestid", NewUUID())
	w.WriteHeader(status)
	// As in WriteJSON, a failed write has no one left to answer.
	_, _ = w.Write(data)
}

// RequestParameters is a JSON request as CloudTrail records it in a
// record's requestParameters: its members named in lower camel case. A
// body that is not a JSON object records none.
func RequestParameters(body []byte) map[string]any {
	var in map[string]any
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	out := make(map[string]any, len(in))
	for k, v := range in {
		if k == "" {
			continue
		}
		out[strings.ToLower(k[:1])+k[1:]] = v
	}
	return out
}
