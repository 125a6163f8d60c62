package iampolicy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseForms(t *testing.T) {
	// Every spelling AWS accepts for the same denial: Statement as an
	// object, Action and Resource as strings or lists, the condition value
	// quoted, as a JSON boolean, or in a list.
	want := Statement{
		Sid: "DenyInsecureTransport", Effect: "Deny", Principal: Principal{"*": {"*"}},
		Action: Values{"s3:*"}, Resource: Values{"arn:aws:s3:::logs", "arn:aws:s3:::logs/*"},
		Condition: Conditions{"Bool": {"aws:SecureTransport": {"false"}}},
	}
	for name, doc := range map[string]string{
		"quoted": `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*",
			"Action":"s3:*","Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
		"boolean, one statement": `{"Version":"2012-10-17","Statement":{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*",
			"Action":["s3:*"],"Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"],"Condition":{"Bool":{"aws:SecureTransport":false}}}}`,
		"boolean in a list": `{"Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",
			"Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"],"Condition":{"Bool":{"aws:SecureTransport":[false]}}}]}`,
	} {
		d, err := Parse(doc)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(d.Statement) != 1 || !reflect.DeepEqual(d.Statement[0], want) {
			t.Errorf("%s: statements %+v, want %+v", name, d.Statement, want)
		}
		if got := d.Statement[0].Condition.Values("Bool", "AWS:SecureTransport"); !reflect.DeepEqual(got, Values{"false"}) {
			t.Errorf("%s: condition key looked up case-insensitively: %v", name, got)
		}
		if !d.Statement[0].Principal.Everyone() {
			t.Errorf("%s: principal * is not everyone", name)
		}
	}
}

func TestParseValues(t *testing.T) {
	d, err := Parse(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["*"],"Service":"cloudtrail.amazonaws.com"},
		"Action":"s3:GetObject","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":10},"Null":{"aws:SourceVpc":true}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	st := d.Statement[0]
	if !st.Principal.Everyone() || !reflect.DeepEqual(st.Principal["Service"], Values{"cloudtrail.amazonaws.com"}) {
		t.Errorf("principal %v", st.Principal)
	}
	if st.Condition.Values("NumericLessThan", "s3:max-keys")[0] != "10" || st.Condition.Values("Null", "aws:SourceVpc")[0] != "true" {
		t.Errorf("condition %v", st.Condition)
	}
	if st.Label(2) != "#3" || (Statement{Sid: "A"}).Label(0) != "A" {
		t.Error("labels")
	}
	if Principal(map[string]Values{"Service": {"x"}}).Everyone() {
		t.Error("a service principal is everyone")
	}
	if d, err := Parse("  "); err != nil || len(d.Statement) != 0 {
		t.Errorf("blank document: %v %v", d, err)
	}
	for _, bad := range []string{
		`{"Statement":[{"Effect":"Allow","Action":{"a":1}}]}`,
		`{"Statement":[{"Effect":"Allow","Principal":"someone"}]}`,
		`{"Statement":[{"Effect":"Allow","Condition":{"Bool":{"k":null}}}]}`,
		`not json`,
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestJSON(t *testing.T) {
	d := Document{Version: Version, Statement: Statements{
		{Sid: "A", Effect: "Allow", Principal: Principal{"Service": {"cloudtrail.amazonaws.com"}}, Action: Values{"s3:PutObject"},
			Resource:  Values{"arn:aws:s3:::logs/a/*", "arn:aws:s3:::logs/b/*"},
			Condition: Conditions{"StringEquals": {"s3:x-amz-acl": {"bucket-owner-full-control"}}}},
		{Sid: "B", Effect: "Deny", Principal: Principal{"*": {"*"}}, Action: Values{"s3:*"}, Resource: Values{"*"}},
	}}
	js, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Principal": "*"`, `"Action": "s3:PutObject"`, `"Service": "cloudtrail.amazonaws.com"`,
		`"arn:aws:s3:::logs/b/*"`, `"s3:x-amz-acl": "bucket-owner-full-control"`} {
		if !strings.Contains(js, want) {
			t.Errorf("%s lacks %s", js, want)
		}
	}
	if strings.Contains(js, "Condition\": null") || strings.Contains(js, `"Id"`) {
		t.Errorf("empty elements written: %s", js)
	}
	back, err := Parse(js)
	if err != nil || !reflect.DeepEqual(back, d) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	var generic map[string]any
	if err := json.Unmarshal([]byte(js), &generic); err != nil || generic["Version"] != Version {
		t.Errorf("not a policy document: %s", js)
	}
}
