package events

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// fuzzSeedRecords are the records every fuzz target of this package
// starts from.
var fuzzSeedRecords = []string{
	createServerRecord,
	`{"eventTime":"2024-01-01T00:00:00Z","eventName":"DescribeServers","eventSource":"opsworks-cm.amazonaws.com","requestParameters":null}`,
	`{"eventTime":"2024-01-01T00:00:00Z","eventName":"UpdateServerEngineAttributes","requestParameters":{"attributeName":"PUPPET_R10K_REMOTE","attributeValue":"git@x"},"responseElements":{"server":{"engineAttributes":[]}}}`,
	`{"eventTime":"2024-01-01T00:00:00Z","eventName":"AssumeRole","responseElements":{"credentials":{"accessKeyId":"ASIA","sessionToken":"t","secretAccessKey":"s"}},"resources":[{"ARN":"arn:aws:iam::1:role/r"}]}`,
}

// FuzzParseRecord checks that no record makes the parser panic, that
// what it accepts has valid JSON documents, and that the Prefilter never
// rejects a record its Filter keeps.
func FuzzParseRecord(f *testing.F) {
	for _, r := range fuzzSeedRecords {
		f.Add([]byte(r), DefaultEventSource, "CreateServer", "")
	}
	f.Add([]byte(`{"eventTime":"2024-01-01T00:00:00Z","eventName":"X\u0041","eventSource":"s\xff"}`), "s\ufffd", "XA", "")
	f.Fuzz(func(t *testing.T, raw []byte, source, name, errorCode string) {
		ev, err := ParseRecord(raw)
		if err != nil {
			return
		}
		for field, doc := range map[string]string{"RequestParameters": ev.RequestParameters, "ResponseElements": ev.ResponseElements, "CloudTrailEvent": ev.CloudTrailEvent} {
			if !jsontext.Value(doc).IsValid(jsontext.AllowInvalidUTF8(true)) {
				t.Fatalf("%s is not valid JSON: %q", field, doc)
			}
		}
		decoded, err := DecodeRecord(raw)
		if err != nil || decoded.EventName != ev.EventName || !decoded.EventTime.Equal(ev.EventTime) {
			t.Fatalf("DecodeRecord disagrees with ParseRecord: %+v, %v", decoded, err)
		}
		filter := Filter{EventSource: source, EventNames: []string{name}}
		if errorCode != "" {
			filter.ErrorCodes = []string{errorCode}
		}
		if filter.Match(&ev) && !filter.Prefilter().MayMatch(raw) {
			t.Fatalf("the prefilter rejects a record the filter %+v keeps: %q", filter, raw)
		}
	})
}

// plantedSecret is the credential FuzzRedactPlantedSecret plants: letters
// and digits only, so that JSON writes it verbatim.
const plantedSecret = "Pl4ntedS3cretZq9"

// Credential-bearing keys, and the names of name/value pairs whose value
// is a credential, as AWS services write them.
var (
	plantKeys = []string{"password", "MasterUserPassword", "secretAccessKey", "sessionToken", "privateKey", "private_key",
		"passphrase", "apiKey", "api-key", "keyMaterial", "userData", "client_secret", "authToken", "attributeValue"}
	plantPairNames = []string{"PUPPET_ADMIN_PASSWORD", "CHEF_AUTOMATE_PIVOTAL_KEY", "DB_PASSWORD", "api-key", "Userdata", "CHEF_AUTOMATE_ADMIN_PASSWORD"}
)

// quoted writes s as a JSON string, escaping as \u00XX the characters
// whose bit is set in escapes: every writer of JSON may escape any
// character.
func quoted(s string, escapes uint32) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := range len(s) {
		if i < 32 && escapes&(1<<i) != 0 {
			fmt.Fprintf(&b, `\u%04x`, s[i])
		} else {
			b.WriteByte(s[i])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plantedMember is an object member that carries plantedSecret where a
// credential goes: under a credential's key, as an engine attribute's
// value, or as the value of a name/value pair named like a credential.
func plantedMember(form uint8, escapes uint32) string {
	key := quoted(plantKeys[int(form/8)%len(plantKeys)], escapes)
	pair := quoted(plantPairNames[int(form/8)%len(plantPairNames)], escapes)
	secret := `"` + plantedSecret + `"`
	switch form % 8 {
	case 0:
		return key + ":" + secret
	case 1:
		return key + `:{"nested":[1,` + secret + `]}`
	case 2:
		return quoted("engineAttributes", escapes) + `:[{"name":"ANY_ATTRIBUTE","value":` + secret + `}]`
	case 3:
		return quoted("engineAttribute", escapes) + `:{"name":"x","value":[` + secret + `]}`
	case 4:
		return `"environment":[{"name":` + pair + `,"value":` + secret + `}]`
	case 5:
		return `"tag":{"key":` + pair + `,"value":` + secret + `}`
	case 6:
		return `"update":{"attributeName":` + pair + `,"value":` + secret + `}`
	default:
		return key + `:{"name":"x","value":` + secret + `}`
	}
}

// plantSecret adds plantedMember as the first member of one of record's
// objects (the where-th, modulo their number). ok is false when record is
// not JSON with an object, or already holds the secret.
func plantSecret(record []byte, where uint16, form uint8, escapes uint32) (planted []byte, ok bool) {
	dec := jsontext.NewDecoder(bytes.NewReader(record), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	type spot struct {
		at    int64
		empty bool
	}
	var spots []spot
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false
		}
		switch tok.Kind() {
		case '{':
			spots = append(spots, spot{at: dec.InputOffset(), empty: dec.PeekKind() == '}'})
		case '"':
			if strings.Contains(tok.String(), plantedSecret) {
				return nil, false
			}
		}
	}
	if len(spots) == 0 {
		return nil, false
	}
	s := spots[int(where)%len(spots)]
	member := plantedMember(form, escapes)
	if !s.empty {
		member += ","
	}
	return slices.Concat(record[:s.at], []byte(member), record[s.at:]), true
}

// FuzzRedactPlantedSecret plants a credential anywhere in a record and
// checks it is in none of the JSON documents of the Event, nor in what
// RedactJSON makes of the record.
func FuzzRedactPlantedSecret(f *testing.F) {
	for i, r := range fuzzSeedRecords {
		f.Add([]byte(r), uint16(i), uint8(i), uint32(0))
	}
	f.Fuzz(func(t *testing.T, record []byte, where uint16, form uint8, escapes uint32) {
		planted, ok := plantSecret(record, where, form, escapes)
		if !ok {
			return
		}
		leaks := func(what, doc string) {
			if strings.Contains(doc, plantedSecret) {
				t.Fatalf("the secret planted in\n%s\nsurvives in %s:\n%s", planted, what, doc)
			}
		}
		if ev, err := ParseRecord(planted); err == nil {
			leaks("RequestParameters", ev.RequestParameters)
			leaks("ResponseElements", ev.ResponseElements)
			leaks("CloudTrailEvent", ev.CloudTrailEvent)
		}
		if doc, err := RedactJSON(planted); err == nil {
			leaks("RedactJSON", doc)
		}
	})
}
