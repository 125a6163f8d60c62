package sts

import (
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/awsapi"
)

const namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

type metadata struct {
	RequestID string `xml:"RequestId"`
}

func writeResponse(w http.ResponseWriter, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		// The response types are fixed structs of strings.
		panic(fmt.Sprintf("encoding STS response: %v", err))
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", awsapi.NewUUID())
	// A write fails only once the client has gone; there is no one left to
	// answer.
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// writeError answers in the query protocol's ErrorResponse shape.
func writeError(w http.ResponseWriter, status int, code, message string) {
	type stsError struct {
		Type    string
		Code    string
		Message string
	}
	errType := "Sender"
	if status >= 500 {
		errType = "Receiver"
	}
	reqID := awsapi.NewUUID()
	body, err := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     stsError
		RequestID string `xml:"RequestId"`
	}{Xmlns: namespace, Error: stsError{Type: errType, Code: code, Message: message}, RequestID: reqID})
	if err != nil {
		panic(fmt.Sprintf("encoding STS error: %v", err))
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.WriteHeader(status)
	// As in writeResponse, a failed write has no one left to answer.
	_, _ = w.Write(append([]byte(xml.Header), body...))
}
