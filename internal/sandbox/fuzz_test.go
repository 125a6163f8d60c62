package sandbox_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox"
)

// The fuzz targets below drive the whole sandbox (sandbox.New and its
// ServeHTTP) with fuzzed requests of each protocol: unsigned or wrongly
// signed ones, which stop at SigV4, and validly signed ones with fuzzed
// bodies, which reach each service's parsers. None may panic or answer
// 5xx, and every refusal is a 4xx in the error shape of the protocol the
// request speaks.

const fuzzBucket = "fuzz-bucket"

// fuzzServer is a sandbox without history, with a bucket, one multipart
// upload and one trail to address.
func fuzzServer(f *testing.F) (srv *sandbox.Server, uploadID string) {
	srv, err := sandbox.New(sandbox.Options{NoHistory: true})
	if err != nil {
		f.Fatal(err)
	}
	for _, req := range []struct{ method, target, body string }{
		{"PUT", "/" + fuzzBucket, ""},
		{"PUT", "/" + fuzzBucket + "/key", "object"},
	} {
		if rec := serve(f, srv, signed(f, req.method, req.target, "", []byte(req.body), nil)); rec.Code != http.StatusOK {
			f.Fatalf("%s %s: %d %s", req.method, req.target, rec.Code, rec.Body)
		}
	}
	rec := serve(f, srv, signed(f, "POST", "/"+fuzzBucket+"/key?uploads", "", nil, nil))
	var created struct {
		UploadID string `xml:"UploadId"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.UploadID == "" {
		f.Fatalf("CreateMultipartUpload: %d %s", rec.Code, rec.Body)
	}
	trail := signed(f, "POST", "/", "cloudtrail", []byte(`{"Name":"fuzz-trail","S3BucketName":"`+fuzzBucket+`"}`),
		http.Header{"X-Amz-Target": {"CloudTrail_20131101.CreateTrail"}, "Content-Type": {"application/x-amz-json-1.1"}})
	if rec := serve(f, srv, trail); rec.Code >= 500 {
		f.Fatalf("CreateTrail: %d %s", rec.Code, rec.Body)
	}
	return srv, created.UploadID
}

// signed is a request signed with the sandbox's default key for service
// (S3 when empty) in us-east-1, its payload hash that of body.
func signed(tb testing.TB, method, target, service string, body []byte, header http.Header) *http.Request {
	tb.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1"+target, bytes.NewReader(body))
	for name, values := range header {
		req.Header[name] = values
	}
	if service == "" {
		service = "s3"
	}
	hash := req.Header.Get("X-Amz-Content-Sha256")
	if hash == "" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
		if service == "s3" {
			req.Header.Set("X-Amz-Content-Sha256", hash)
		}
	}
	creds := aws.Credentials{AccessKeyID: sandbox.DefaultAccessKey, SecretAccessKey: sandbox.DefaultSecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, service, "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	return req
}

func serve(tb testing.TB, srv http.Handler, req *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// checkAnswer fails unless the answer is a success, or a 4xx in the
// error shape of protocol: "json" (JSON 1.1's __type), "query" (STS's
// ErrorResponse) or "s3" (S3's Error; none for HEAD).
func checkAnswer(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder, protocol string) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	if rec.Code < 400 {
		return
	}
	body := rec.Body.Bytes()
	switch protocol {
	case "json":
		var e struct {
			Type string `json:"__type"`
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" || json.Unmarshal(body, &e) != nil || e.Type == "" {
			t.Fatalf("%s %s: %d %s %q, not a JSON 1.1 error", req.Method, req.URL, rec.Code, ct, body)
		}
	case "query":
		var e struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			Error   struct{ Type, Code, Message string }
		}
		if err := xml.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
			t.Fatalf("%s %s: %d %q, not a query protocol error: %v", req.Method, req.URL, rec.Code, body, err)
		}
	default:
		if req.Method == http.MethodHead {
			return
		}
		var e struct {
			XMLName xml.Name `xml:"Error"`
			Code    string
		}
		if err := xml.Unmarshal(body, &e); err != nil || e.Code == "" {
			t.Fatalf("%s %s: %d %q, not an S3 error: %v", req.Method, req.URL, rec.Code, body, err)
		}
	}
}

// protocolOf is the protocol a request speaks, as AWS endpoints tell:
// the JSON protocol by its target, the query protocol by its Action,
// S3 by neither.
func protocolOf(req *http.Request, body []byte) string {
	if jsonService(req.Header.Get("X-Amz-Target")) != "" {
		return "json"
	}
	if req.URL.Query().Get("Action") != "" {
		return "query"
	}
	if strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if action, err := formAction(body); err == nil && action != "" {
			return "query"
		}
	}
	return "s3"
}

// jsonServices are the JSON 1.1 services, by the prefix of their
// requests' X-Amz-Target, and the service their requests are signed for.
var jsonServices = []struct{ prefix, service string }{
	{"CloudTrail_20131101.", "cloudtrail"},
	{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.", "cloudtrail"},
	{"AWSOrganizationsV20161128.", "organizations"},
	{"AmazonAthena.", "athena"},
}

// jsonService is the service a JSON 1.1 target calls, "" for none.
func jsonService(target string) string {
	for _, js := range jsonServices {
		if strings.HasPrefix(target, js.prefix) {
			return js.service
		}
	}
	return ""
}

// formAction is a form body's Action.
func formAction(body []byte) (string, error) {
	req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := req.ParseForm(); err != nil {
		return "", err
	}
	return req.PostForm.Get("Action"), nil
}

// FuzzUnsignedRequest sends requests whose signature is fuzzed (its
// Authorization header, date, presigned query) along with their method,
// path, target and body: SigV4 refuses them in the protocol's words.
func FuzzUnsignedRequest(f *testing.F) {
	srv, _ := fuzzServer(f)
	valid := signed(f, "GET", "/"+fuzzBucket+"?list-type=2", "", nil, nil)
	f.Add("GET", "/"+fuzzBucket+"?list-type=2", valid.Header.Get("Authorization"), valid.Header.Get("X-Amz-Date"), "", "", []byte(nil))
	f.Add("POST", "/", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
		"20240101T000000Z", "CloudTrail_20131101.LookupEvents", "application/x-amz-json-1.1", []byte(`{}`))
	f.Add("POST", "/", "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sts/aws4_request,SignedHeaders=host,Signature=zz",
		"", "", "application/x-www-form-urlencoded", []byte("Action=GetCallerIdentity&Version=2011-06-15"))
	f.Add("GET", "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=99999999&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
		"", "", "", "", []byte(nil))
	f.Add("HEAD", "/", "", "", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, target, authorization, date, amzTarget, contentType string, body []byte) {
		switch method {
		case "GET", "PUT", "POST", "DELETE", "HEAD":
		default:
			method = "POST"
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		for name, value := range map[string]string{"Authorization": authorization, "X-Amz-Date": date, "X-Amz-Target": amzTarget, "Content-Type": contentType} {
			if value != "" {
				req.Header.Set(name, value)
			}
		}
		rec := serve(t, srv, req)
		if rec.Code < 400 {
			t.Fatalf("%s %s with a fuzzed signature was accepted: %d", method, target, rec.Code)
		}
		checkAnswer(t, req, rec, protocolOf(req, body))
	})
}

// s3Call is an S3 operation that reads a request body.
type s3Call struct {
	method, target string
	// md5 says the operation requires Content-MD5.
	md5 bool
}

var s3BodyCalls = []s3Call{
	{"PUT", "/fuzz-new-bucket", false},
	{"PUT", "/" + fuzzBucket + "?versioning", false},
	{"PUT", "/" + fuzzBucket + "?lifecycle", true},
	{"PUT", "/" + fuzzBucket + "?encryption", false},
	{"PUT", "/" + fuzzBucket + "?tagging", false},
	{"PUT", "/" + fuzzBucket + "?publicAccessBlock", false},
	{"PUT", "/" + fuzzBucket + "?ownershipControls", false},
	{"PUT", "/" + fuzzBucket + "?logging", false},
	{"PUT", "/" + fuzzBucket + "?object-lock", false},
	{"PUT", "/" + fuzzBucket + "?policy", false},
	{"POST", "/" + fuzzBucket + "?delete", true},
	{"POST", "/" + fuzzBucket + "/key?uploadId=", false},
	{"PUT", "/" + fuzzBucket + "/fuzzed-key", false},
}

// FuzzS3Request sends validly signed S3 requests with fuzzed XML (or
// JSON policy) bodies, plain or in aws-chunked framing, and fuzzed
// x-amz-copy-source and Range headers.
func FuzzS3Request(f *testing.F) {
	srv, uploadID := fuzzServer(f)
	for i, body := range []string{
		`<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`,
		`<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`,
		`<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix></Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`,
		`<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`,
		`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`,
		`<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>`,
		`<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>`,
		`<BucketLoggingStatus><LoggingEnabled><TargetBucket>fuzz-bucket</TargetBucket><TargetPrefix>l/</TargetPrefix></LoggingEnabled></BucketLoggingStatus>`,
		`<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::fuzz-bucket/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
		`<Delete><Object><Key>key</Key></Object><Quiet>true</Quiet></Delete>`,
		`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`,
		"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
	} {
		f.Add(uint8(i), []byte(body), i == len(s3BodyCalls)-1, "", "")
	}
	f.Add(uint8(len(s3BodyCalls)-1), []byte(""), false, "/"+fuzzBucket+"/key?versionId=null", "bytes=0-2")
	f.Fuzz(func(t *testing.T, op uint8, body []byte, chunked bool, copySource, rng string) {
		call := s3BodyCalls[int(op)%len(s3BodyCalls)]
		target := call.target
		if strings.HasSuffix(target, "uploadId=") {
			target += uploadID
		}
		header := http.Header{}
		if call.md5 {
			sum := md5.Sum(body)
			header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
		}
		if chunked {
			header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
			header.Set("Content-Encoding", "aws-chunked")
			header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		}
		if copySource != "" && validHeader(copySource) {
			header.Set("X-Amz-Copy-Source", copySource)
		}
		if rng != "" && validHeader(rng) {
			header.Set("Range", rng)
			header.Set("X-Amz-Copy-Source-Range", rng)
		}
		req := signed(t, call.method, target, "", body, header)
		checkAnswer(t, req, serve(t, srv, req), "s3")
	})
}

// validHeader reports whether s can be a header value at all.
func validHeader(s string) bool {
	return !strings.ContainsAny(s, "\r\n\x00") && strings.TrimSpace(s) == s
}

// jsonOperations are the JSON 1.1 operations the fuzzed bodies go to.
var jsonOperations = []string{
	"CloudTrail_20131101.LookupEvents", "CloudTrail_20131101.CreateTrail", "CloudTrail_20131101.UpdateTrail",
	"CloudTrail_20131101.GetTrail", "CloudTrail_20131101.DescribeTrails", "CloudTrail_20131101.GetTrailStatus",
	"CloudTrail_20131101.PutEventSelectors", "CloudTrail_20131101.AddTags", "CloudTrail_20131101.ListTags",
	"CloudTrail_20131101.ListPublicKeys", "CloudTrail_20131101.StartLogging", "CloudTrail_20131101.DeleteTrail",
	"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.GetEventSelectors", "CloudTrail_20131101.NoSuchOperation",
	"AWSOrganizationsV20161128.DescribeOrganization",
	"AmazonAthena.StartQueryExecution", "AmazonAthena.GetQueryExecution", "AmazonAthena.GetQueryResults",
	"AmazonAthena.StopQueryExecution", "AmazonAthena.GetDatabase", "AmazonAthena.ListDatabases",
	"AmazonAthena.GetTableMetadata", "AmazonAthena.ListTableMetadata", "AmazonAthena.GetWorkGroup",
	"AmazonAthena.ListWorkGroups", "AmazonAthena.NoSuchOperation",
}

// FuzzJSONRequest sends validly signed JSON 1.1 requests with fuzzed
// bodies to CloudTrail's, Organizations' and Athena's operations.
func FuzzJSONRequest(f *testing.F) {
	srv, _ := fuzzServer(f)
	for i, body := range []string{
		`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"CreateServer"}],"MaxResults":5,"StartTime":1700000000}`,
		`{"Name":"t2","S3BucketName":"fuzz-bucket","IsMultiRegionTrail":true,"EnableLogFileValidation":true}`,
		`{"Name":"fuzz-trail","IncludeGlobalServiceEvents":false}`,
		`{"Name":"fuzz-trail"}`,
		`{"trailNameList":["fuzz-trail"],"includeShadowTrails":true}`,
		`{"Name":"arn:aws:cloudtrail:us-east-1:123456789012:trail/fuzz-trail"}`,
		`{"TrailName":"fuzz-trail","AdvancedEventSelectors":[{"Name":"m","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}]}`,
		`{"ResourceId":"fuzz-trail","TagsList":[{"Key":"k","Value":"v"}]}`,
		`{"ResourceIdList":["arn:aws:cloudtrail:us-east-1:123456789012:trail/fuzz-trail"]}`,
		`{"StartTime":1.5e9,"EndTime":1.8e9,"NextToken":"x"}`,
		`{"Name":"fuzz-trail"}`,
		`{"Name":"nothing"}`,
		`{"TrailName":"fuzz-trail"}`,
		`{}`,
		``,
	} {
		f.Add(uint8(i), []byte(body), "")
	}
	for _, seed := range []struct{ op, body string }{
		{"StartQueryExecution", `{"ClientRequestToken":"fuzz-token-0-0123456789abcdef0123456789","QueryString":"SELECT 1","ResultConfiguration":{"OutputLocation":"s3://fuzz-bucket/results/"}}`},
		{"StartQueryExecution", `{"ClientRequestToken":"fuzz-token-1-0123456789abcdef0123456789","QueryString":"SELECT eventname FROM fuzz.trail WHERE region = 'us-east-1' LIMIT 5","QueryExecutionContext":{"Database":"fuzz"},"WorkGroup":"primary","ResultConfiguration":{"OutputLocation":"s3://fuzz-bucket/results"}}`},
		{"StartQueryExecution", `{"ClientRequestToken":"fuzz-token-2-0123456789abcdef0123456789","QueryString":"CREATE EXTERNAL TABLE fuzz.t (a int) PARTITIONED BY (d string) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://fuzz-bucket/t/'","ResultConfiguration":{"OutputLocation":"s3://fuzz-bucket/results/"}}`},
		{"StartQueryExecution", `{"ClientRequestToken":"fuzz-token-3-0123456789abcdef0123456789","QueryString":"SELECT ?","ExecutionParameters":["'x'"],"ResultConfiguration":{"OutputLocation":"s3://fuzz-bucket/results/"}}`},
		{"GetQueryResults", `{"QueryExecutionId":"00000000-0000-0000-0000-000000000000","MaxResults":10,"NextToken":"x"}`},
		{"GetQueryExecution", `{"QueryExecutionId":"00000000-0000-0000-0000-000000000000"}`},
		{"ListTableMetadata", `{"CatalogName":"AwsDataCatalog","DatabaseName":"default","Expression":"t*","MaxResults":50}`},
		{"GetTableMetadata", `{"CatalogName":"AwsDataCatalog","DatabaseName":"default","TableName":"t"}`},
		{"ListDatabases", `{"CatalogName":"AwsDataCatalog","NextToken":"x"}`},
		{"GetWorkGroup", `{"WorkGroup":"primary"}`},
	} {
		f.Add(uint8(0), []byte(seed.body), "AmazonAthena."+seed.op)
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte, target string) {
		if target == "" || !validHeader(target) || jsonService(target) == "" {
			target = jsonOperations[int(op)%len(jsonOperations)]
		}
		service := jsonService(target)
		req := signed(t, "POST", "/", service, body, http.Header{"X-Amz-Target": {target}, "Content-Type": {"application/x-amz-json-1.1"}})
		checkAnswer(t, req, serve(t, srv, req), "json")
	})
}

// FuzzQueryRequest sends validly signed STS requests with fuzzed form
// bodies.
func FuzzQueryRequest(f *testing.F) {
	srv, _ := fuzzServer(f)
	for _, body := range []string{
		"Action=GetCallerIdentity&Version=2011-06-15",
		"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&RoleSessionName=s&DurationSeconds=900",
		"Action=AssumeRole&Version=2011-06-15&RoleArn=bad&RoleSessionName=&DurationSeconds=x",
		"Action=GetSessionToken&Version=2011-06-15",
		"Action=Nothing",
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := signed(t, "POST", "/", "sts", body, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		rec := serve(t, srv, req)
		checkAnswer(t, req, rec, protocolOf(req, body))
	})
}
