package sandbox

import (
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/athena"
	"github.com/opsaudit/terraform-provider-opsaudit/internal/sandbox/s3"
)

// objects is S3 as Athena reads and writes it.
type objects struct{ s3 *s3.Service }

func (o objects) ListObjects(bucket, prefix string) ([]athena.Object, error) {
	listed, err := o.s3.ListObjects(bucket, prefix)
	out := make([]athena.Object, len(listed))
	for i, obj := range listed {
		out[i] = athena.Object{Key: obj.Key, Size: obj.Size}
	}
	return out, err
}

func (o objects) GetObject(bucket, key string) ([]byte, error) { return o.s3.GetObject(bucket, key) }

func (o objects) PutObject(bucket, key string, body []byte, contentType string, metadata map[string]string) error {
	return o.s3.PutObject(bucket, key, body, contentType, metadata)
}

// AthenaQueryFiles returns the s3:// URLs of the objects an Athena query
// read, so that tests can check which partitions it pruned; ok is false
// for an unknown query execution id.
func (s *Server) AthenaQueryFiles(queryExecutionID string) (files []string, ok bool) {
	return s.athena.QueryFiles(queryExecutionID)
}
