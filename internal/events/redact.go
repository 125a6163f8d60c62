package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Redacted replaces a credential-bearing value, as CloudTrail itself writes
// engine attributes.
const Redacted = "*** Redacted ***"

// sensitiveMarkers are what a normalised (lower case, no "_", "-" or ".")
// key or attribute name contains when its value is a credential: OpsWorks
// CM engine attributes (admin passwords, the Chef pivotal key, node keys),
// and the credentials other services' records may carry, since the event
// source is configurable.
var sensitiveMarkers = []string{
	"password", "passwd", "passphrase", "secret", "privatekey", "pivotalkey",
	"sessiontoken", "accesstoken", "authtoken", "refreshtoken", "apikey",
	"keymaterial", "userdata", "attributevalue",
}

// engineAttributeKeys hold name/value lists whose every value AWS redacts,
// whatever the attribute's name.
var engineAttributeKeys = map[string]bool{"engineattributes": true, "engineattribute": true}

// nonSecretSuffixes end the keys that reference a secret rather than hold
// it (secretArn, secretId, privateKeyName).
var nonSecretSuffixes = []string{"arn", "arns", "id", "ids", "name", "names"}

var separators = strings.NewReplacer("_", "", "-", "", ".", "")

func normalise(s string) string {
	return separators.Replace(strings.ToLower(s))
}

func sensitiveName(name string) bool {
	n := normalise(name)
	for _, suffix := range nonSecretSuffixes {
		if strings.HasSuffix(n, suffix) {
			return false
		}
	}
	for _, m := range sensitiveMarkers {
		if strings.Contains(n, m) {
			return true
		}
	}
	return false
}

// mayNeedRedaction is a cheap pre-check: a document none of whose text
// mentions a marker cannot need redaction, which spares decoding the bulk
// of records (routine Describe calls). A backslash may escape a marker's
// letters ("pass\u0077ord"), so a document with one is decoded.
func mayNeedRedaction(doc []byte) bool {
	if bytes.IndexByte(doc, '\\') >= 0 {
		return true
	}
	n := normalise(string(doc))
	for _, m := range sensitiveMarkers {
		if strings.Contains(n, m) {
			return true
		}
	}
	for k := range engineAttributeKeys {
		if strings.Contains(n, k) {
			return true
		}
	}
	return false
}

// RedactJSON returns doc, compacted, with credential-bearing values replaced
// by Redacted: values under keys that name a credential, the values of
// engine attributes, and the value of any name/value pair whose name names
// a credential (PUPPET_ADMIN_PASSWORD). A document that needs no redaction
// and names each member of an object once keeps its key order and number
// formatting.
//
// The walk is written by hand because redaction depends on sibling keys
// (name/value pairs), which no JSON-path or masking library expresses.
func RedactJSON(doc []byte) (string, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return "", fmt.Errorf("invalid JSON: %w", err)
	}
	// A document that repeats a name in an object is written again from
	// what was decoded, which keeps the last value of each name as JSON
	// readers do: returned as it is, a credential under the first of
	// two names would survive the redaction of the second, and readers
	// that keep the first value would see another document than the rules.
	uniqueNames := jsontext.Value(compact.Bytes()).IsValid(jsontext.AllowInvalidUTF8(true))
	if uniqueNames && !mayNeedRedaction(compact.Bytes()) {
		return compact.String(), nil
	}
	dec := json.NewDecoder(bytes.NewReader(compact.Bytes()))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("invalid JSON: %w", err)
	}
	if !redactValue(v, false) && uniqueNames {
		return compact.String(), nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encoding redacted JSON: %w", err)
	}
	return strings.TrimSuffix(out.String(), "\n"), nil
}

// redactValue redacts v in place and reports whether it changed anything.
// inEngineAttributes is true under an engineAttributes key, where every
// name/value pair's value is redacted.
func redactValue(v any, inEngineAttributes bool) bool {
	changed := false
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			changed = redactValue(e, inEngineAttributes) || changed
		}
	case map[string]any:
		if pairValueSensitive(t, inEngineAttributes) {
			changed = redactField(t, "value") || changed
		}
		for k, e := range t {
			if sensitiveName(k) {
				changed = redactField(t, k) || changed
				continue
			}
			changed = redactValue(e, inEngineAttributes || engineAttributeKeys[normalise(k)]) || changed
		}
	}
	return changed
}

// pairValueSensitive reports whether m is a name/value pair whose value is
// a credential.
func pairValueSensitive(m map[string]any, inEngineAttributes bool) bool {
	if _, ok := m["value"]; !ok {
		return false
	}
	if inEngineAttributes {
		return true
	}
	for _, k := range []string{"name", "key", "attributeName"} {
		if name, ok := m[k].(string); ok && sensitiveName(name) {
			return true
		}
	}
	return false
}

// redactField replaces m[k] unless it is empty or already redacted.
func redactField(m map[string]any, k string) bool {
	switch v := m[k].(type) {
	case nil:
		return false
	case string:
		if v == "" || v == Redacted {
			return false
		}
	}
	m[k] = Redacted
	return true
}
