package athenaquery

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// An event comes back from Athena as the table's columns, not as the
// record the log file held: the record is written again from them, in
// CloudTrail's field names and order, and parsed by the events package
// like any other, so filters, redaction and rules see one model. Fields
// the table has no column for are not in it, and nor are null ones.

// fieldKind says how a column's text goes into the record.
type fieldKind int

const (
	// text is a JSON string.
	text fieldKind = iota
	// document is JSON text the JSON SerDe kept as a string
	// (requestParameters): written as it is when it is valid JSON.
	document
	// boolean is "true" or "false".
	boolean
	// resources is the resources array as JSON: objects of arn,
	// accountid and type, or arrays of the three where Athena casts rows
	// to JSON arrays.
	resources
)

// recordField is one column of the events query and where its value
// goes in the record.
type recordField struct {
	expr string
	path []string
	kind fieldKind
}

// column is the field's name in the query's results.
func (f recordField) column() string {
	if !strings.Contains(f.expr, ".") && !strings.Contains(f.expr, "(") {
		return f.expr
	}
	return strings.ToLower(strings.Join(f.path, "_"))
}

func field(expr string, kind fieldKind, path ...string) recordField {
	return recordField{expr: expr, path: path, kind: kind}
}

// recordFields are grouped by parent object, so that the record can be
// written in one pass.
var recordFields = []recordField{
	field("eventversion", text, "eventVersion"),
	field("useridentity.type", text, "userIdentity", "type"),
	field("useridentity.principalid", text, "userIdentity", "principalId"),
	field("useridentity.arn", text, "userIdentity", "arn"),
	field("useridentity.accountid", text, "userIdentity", "accountId"),
	field("useridentity.accesskeyid", text, "userIdentity", "accessKeyId"),
	field("useridentity.username", text, "userIdentity", "userName"),
	field("useridentity.invokedby", text, "userIdentity", "invokedBy"),
	field("useridentity.onbehalfof.userid", text, "userIdentity", "onBehalfOf", "userId"),
	field("useridentity.onbehalfof.identitystorearn", text, "userIdentity", "onBehalfOf", "identityStoreArn"),
	field("useridentity.sessioncontext.sessionissuer.type", text, "userIdentity", "sessionContext", "sessionIssuer", "type"),
	field("useridentity.sessioncontext.sessionissuer.principalid", text, "userIdentity", "sessionContext", "sessionIssuer", "principalId"),
	field("useridentity.sessioncontext.sessionissuer.arn", text, "userIdentity", "sessionContext", "sessionIssuer", "arn"),
	field("useridentity.sessioncontext.sessionissuer.accountid", text, "userIdentity", "sessionContext", "sessionIssuer", "accountId"),
	field("useridentity.sessioncontext.sessionissuer.username", text, "userIdentity", "sessionContext", "sessionIssuer", "userName"),
	field("useridentity.sessioncontext.webidfederationdata.federatedprovider", text, "userIdentity", "sessionContext", "webIdFederationData", "federatedProvider"),
	field("json_format(CAST(useridentity.sessioncontext.webidfederationdata.attributes AS JSON))", document, "userIdentity", "sessionContext", "webIdFederationData", "attributes"),
	field("useridentity.sessioncontext.attributes.creationdate", text, "userIdentity", "sessionContext", "attributes", "creationDate"),
	field("useridentity.sessioncontext.attributes.mfaauthenticated", text, "userIdentity", "sessionContext", "attributes", "mfaAuthenticated"),
	field("useridentity.sessioncontext.ec2roledelivery", text, "userIdentity", "sessionContext", "ec2RoleDelivery"),
	field("eventtime", text, "eventTime"),
	field("eventsource", text, "eventSource"),
	field("eventname", text, "eventName"),
	field("awsregion", text, "awsRegion"),
	field("sourceipaddress", text, "sourceIPAddress"),
	field("useragent", text, "userAgent"),
	field("errorcode", text, "errorCode"),
	field("errormessage", text, "errorMessage"),
	field("requestparameters", document, "requestParameters"),
	field("responseelements", document, "responseElements"),
	field("additionaleventdata", document, "additionalEventData"),
	field("requestid", text, "requestID"),
	field("eventid", text, "eventID"),
	field("readonly", boolean, "readOnly"),
	field("json_format(CAST(resources AS JSON))", resources, "resources"),
	field("eventtype", text, "eventType"),
	field("apiversion", text, "apiVersion"),
	field("recipientaccountid", text, "recipientAccountId"),
	field("serviceeventdetails", document, "serviceEventDetails"),
	field("sharedeventid", text, "sharedEventID"),
	field("vpcendpointid", text, "vpcEndpointId"),
	field("vpcendpointaccountid", text, "vpcEndpointAccountId"),
	field("eventcategory", text, "eventCategory"),
	field("addendum.reason", text, "addendum", "reason"),
	field("addendum.updatedfields", text, "addendum", "updatedFields"),
	field("addendum.originalrequestid", text, "addendum", "originalRequestID"),
	field("addendum.originaleventid", text, "addendum", "originalEventID"),
	field("sessioncredentialfromconsole", text, "sessionCredentialFromConsole"),
	field("edgedevicedetails", document, "edgeDeviceDetails"),
	field("tlsdetails.tlsversion", text, "tlsDetails", "tlsVersion"),
	field("tlsdetails.ciphersuite", text, "tlsDetails", "cipherSuite"),
	field("tlsdetails.clientprovidedhostheader", text, "tlsDetails", "clientProvidedHostHeader"),
}

// eventColumns are the events query's column names.
var eventColumns = func() []string {
	out := make([]string, len(recordFields))
	for i, f := range recordFields {
		out[i] = f.column()
	}
	return out
}()

// parseRow builds the event of one row of the events query.
func parseRow(row []*string) (events.Event, error) {
	raw, err := writeRecord(row)
	if err != nil {
		return events.Event{}, err
	}
	return events.ParseRecord(raw)
}

// writeRecord writes a row as the CloudTrail record it was read from.
// Objects are opened when a value under them is not null, so a record
// without a sessionContext gets none.
func writeRecord(row []*string) ([]byte, error) {
	var buf bytes.Buffer
	enc := jsontext.NewEncoder(&buf)
	var open []string
	write := func(tok jsontext.Token) {
		// The encoder fails only on output it was given out of order,
		// which the walk below never does; the record is checked as a
		// whole by the events parser.
		_ = enc.WriteToken(tok)
	}
	write(jsontext.BeginObject)
	for i, f := range recordFields {
		v := row[i]
		if v == nil {
			continue
		}
		parent := f.path[:len(f.path)-1]
		shared := 0
		for shared < len(open) && shared < len(parent) && open[shared] == parent[shared] {
			shared++
		}
		for range len(open) - shared {
			write(jsontext.EndObject)
		}
		open = open[:shared]
		for _, name := range parent[shared:] {
			write(jsontext.String(name))
			write(jsontext.BeginObject)
			open = append(open, name)
		}
		write(jsontext.String(f.path[len(f.path)-1]))
		value, err := fieldValue(f.kind, *v)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", f.column(), err)
		}
		if err := enc.WriteValue(value); err != nil {
			return nil, fmt.Errorf("column %s: %w", f.column(), err)
		}
	}
	for range open {
		write(jsontext.EndObject)
	}
	write(jsontext.EndObject)
	return bytes.TrimSpace(buf.Bytes()), nil
}

// fieldValue is a column's text as the JSON value of its field.
func fieldValue(kind fieldKind, v string) (jsontext.Value, error) {
	switch kind {
	case document:
		// The JSON SerDe keeps an object or array as its JSON text, and a
		// number or boolean as its text, which is JSON too.
		if jsontext.Value(v).IsValid() {
			return jsontext.Value(v), nil
		}
	case boolean:
		if v == "true" || v == "false" {
			return jsontext.Value(v), nil
		}
	case resources:
		return resourcesValue(v)
	}
	return json.Marshal(v)
}

// resourcesValue writes the resources array as CloudTrail does: objects
// of ARN, accountId and type.
func resourcesValue(v string) (jsontext.Value, error) {
	var elems []jsontext.Value
	if err := json.Unmarshal([]byte(v), &elems); err != nil {
		return nil, fmt.Errorf("resources: %w", err)
	}
	type resource struct {
		ARN       *string `json:"ARN,omitempty"`
		AccountID *string `json:"accountId,omitempty"`
		Type      *string `json:"type,omitempty"`
	}
	out := make([]resource, 0, len(elems))
	for _, e := range elems {
		var r resource
		switch e.Kind() {
		case '{':
			var m map[string]*string
			if err := json.Unmarshal(e, &m); err != nil {
				return nil, fmt.Errorf("resources: %w", err)
			}
			for k, val := range m {
				switch strings.ToLower(k) {
				case "arn":
					r.ARN = val
				case "accountid":
					r.AccountID = val
				case "type":
					r.Type = val
				}
			}
		case '[':
			var fields []*string
			if err := json.Unmarshal(e, &fields); err != nil {
				return nil, fmt.Errorf("resources: %w", err)
			}
			if len(fields) != 3 {
				return nil, fmt.Errorf("resources: a row of %d fields, not arn, accountid and type", len(fields))
			}
			r.ARN, r.AccountID, r.Type = fields[0], fields[1], fields[2]
		default:
			return nil, fmt.Errorf("resources: an element of kind %v", e.Kind())
		}
		out = append(out, r)
	}
	return json.Marshal(out)
}
