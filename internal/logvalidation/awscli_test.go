package logvalidation

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/archive"
)

// cliScenarios is how many random scenarios the AWS CLI referees.
const cliScenarios = 40

// TestSameVerdictsAsTheAWSCLI puts random archives (chains stopped and
// restarted, digests and logs changed, deleted, copied elsewhere, signed
// with unknown keys, backfill digests, windows anywhere) through the engine
// and through the AWS CLI v1's own validate-logs code, and compares every
// verdict: counts, invalid files and their reasons in the CLI's order,
// gaps, valid files, and the time covered.
func TestSameVerdictsAsTheAWSCLI(t *testing.T) {
	if out, err := exec.Command("python3", "-c", "import awscli.customizations.cloudtrail.validation").CombinedOutput(); err != nil {
		t.Skipf("needs python3 with the AWS CLI v1 (pip install awscli): %v %s", err, out)
	}
	dir := t.TempDir()
	ours := map[string]cliView{}
	var problems, gaps, backfills int
	for seed := range cliScenarios {
		name := fmt.Sprintf("scenario-%02d", seed)
		f, cfg := randomScenario(t, uint64(seed))
		valid := map[string][][2]string{}
		cfg.OnFile = func(v FileVerdict) {
			if v.Valid {
				valid[v.Region] = append(valid[v.Region], [2]string{string(v.Kind), v.Key})
			}
		}
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, rr := range res.Regions {
			if rr.Error != "" {
				t.Fatalf("%s: %s: %s", name, rr.Region, rr.Error)
			}
			ours[name+" "+rr.Region] = engineView(res, i, valid[rr.Region])
		}
		writeScenario(t, filepath.Join(dir, name+".json"), name, f, cfg)
		problems, gaps, backfills = problems+res.ProblemsTotal, gaps+len(res.Gaps), backfills+res.BackfillDigestsValid+res.BackfillDigestsInvalid
	}
	// The scenarios must exercise what they are meant to.
	if problems == 0 || gaps == 0 || backfills == 0 {
		t.Fatalf("the scenarios found %d problems, %d gaps, %d backfill digests", problems, gaps, backfills)
	}

	cmd := exec.Command("python3", filepath.Join("testdata", "validate_logs.py"), dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("validate_logs.py: %v\n%s", err, stderr.String())
	}
	compared := 0
	for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); compared++ {
		var cli struct {
			Scenario, Region string
			Crash            *string
			Other            []string
			cliView
			Problems [][3]string
			Gaps     [][3]any
		}
		if err := json.Unmarshal(sc.Bytes(), &cli); err != nil {
			t.Fatal(err)
		}
		if cli.Crash != nil || len(cli.Other) > 0 {
			t.Errorf("%s %s: the AWS CLI stopped with %v, %q", cli.Scenario, cli.Region, cli.Crash, cli.Other)
		}
		for _, p := range cli.Problems {
			cli.cliView.Problems = append(cli.cliView.Problems, [3]string{p[0], p[1], string(cliReason(p[2]))})
		}
		for _, g := range cli.Gaps {
			cli.cliView.Gaps = append(cli.cliView.Gaps, fmt.Sprintf("%v %v %v", g[0], g[1], g[2]))
		}
		if diff := cmp.Diff(cli.cliView, ours[cli.Scenario+" "+cli.Region], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s %s (-cli +engine):\n%s", cli.Scenario, cli.Region, diff)
		}
	}
	if compared != len(ours) {
		t.Errorf("the AWS CLI validated %d scenario regions, the engine %d", compared, len(ours))
	}
}

// cliView is what `aws cloudtrail validate-logs --verbose` shows of a
// region.
type cliView struct {
	Counts   Counts
	Problems [][3]string `json:"-"`
	Gaps     []string    `json:"-"`
	Valid    [][2]string
	Found    []string
}

func engineView(res *Result, i int, valid [][2]string) cliView {
	rr := res.Regions[i]
	v := cliView{Counts: rr.Counts, Valid: valid}
	for _, p := range res.Problems {
		if p.Region == rr.Region {
			v.Problems = append(v.Problems, [3]string{string(p.Kind), p.Key, string(p.Reason)})
		}
	}
	for _, g := range res.Gaps {
		if g.Region == rr.Region {
			v.Gaps = append(v.Gaps, fmt.Sprintf("%v %v %v", g.Start.Format(time.RFC3339), g.End.Format(time.RFC3339), g.Backfill))
		}
	}
	slices.SortFunc(v.Valid, func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	if rr.Covered != nil {
		// The CLI prints whole seconds.
		v.Found = []string{rr.Covered.Start.Truncate(time.Second).Format(time.RFC3339), rr.Covered.End.Truncate(time.Second).Format(time.RFC3339)}
	}
	return v
}

// cliReason maps the AWS CLI's INVALID messages to reasons.
func cliReason(message string) Reason {
	for _, m := range []struct {
		prefix string
		reason Reason
	}{
		{"public key not found", ReasonPublicKeyNotFound},
		{"No public keys found", ReasonPublicKeyNotFound},
		{"not found", ReasonNotFound},
		{"signature verification failed", ReasonSignatureInvalid},
		{"invalid format", ReasonInvalidFormat},
		{"has been moved", ReasonMoved},
		{"hash value doesn't match", ReasonHashMismatch},
	} {
		if strings.HasPrefix(message, m.prefix) {
			return m.reason
		}
	}
	return Reason("CLI message: " + message)
}

// randomScenario delivers one to three chains a region, some signed with
// a key CloudTrail does not list, maybe backfill digests, then damages the
// archive as someone with write access could, and picks a window.
func randomScenario(t *testing.T, seed uint64) (*fixture, Config) {
	rng := rand.New(rand.NewPCG(seed, 7))
	f := newFixture(t)
	if rng.IntN(4) == 0 {
		f.loc = archive.Location{Prefix: "audit", OrganizationID: "o-a1b2c3d4e5"}
	}
	regions := testRegions[:1+rng.IntN(2)]
	var all []*digestRef
	end := t0
	for _, r := range regions {
		at := t0
		for range 1 + rng.IntN(3) {
			hours := 2 + rng.IntN(12)
			unknown := rng.IntN(6) == 0
			all = append(all, f.deliver(chainSpec{region: r, from: at, hours: hours, logs: rng.IntN(3), signer: func(time.Time) *signer {
				if unknown && rng.IntN(2) == 0 {
					return testSigner(t, 3)
				}
				return testSigner(t, 0)
			}})...)
			at = at.Add(time.Duration(hours+rng.IntN(8)) * time.Hour)
		}
		if rng.IntN(3) == 0 {
			all = append(all, f.deliver(chainSpec{region: r, from: t0.Add(time.Duration(rng.IntN(30)) * time.Hour), hours: 1 + rng.IntN(3),
				logs: 1, backfillAt: t0.AddDate(0, 0, rng.IntN(40))})...)
		}
		end = maxTime(end, at)
	}

	for range rng.IntN(9) {
		d := all[rng.IntN(len(all))]
		o, ok := f.src.objects[d.key]
		if !ok {
			continue
		}
		when := t0.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
		copied := newDigestNames(f.loc, f.account, d.region, f.trail, f.home).key(when)
		switch rng.IntN(8) {
		case 0:
			f.src.remove(d.key)
		case 1:
			f.src.put(d.key, gz([]byte(`{"awsAccountId":"999999999999"}`)), o.meta)
		case 2: // copied to another time
			f.src.put(copied, o.body, o.meta)
		case 3: // copied to another time, in another day's folder
			folder := f.loc.DayPrefix(f.account, archive.CloudTrailDigestFolder, d.region, when.AddDate(0, 0, 1-rng.IntN(3)))
			f.src.put(folder+path.Base(copied), o.body, o.meta)
		case 4:
			if len(d.logs) > 0 {
				f.src.put(d.logs[0], gz([]byte(`{"Records":[]}`)), nil)
			}
		case 5:
			if len(d.logs) > 0 {
				delete(f.src.objects, d.logs[len(d.logs)-1])
				f.src.keys = nil
			}
		case 6:
			f.src.put(d.key, o.body, map[string]string{})
		case 7:
			f.src.put(d.key, o.body[:len(o.body)/2], o.meta)
		}
	}
	span := end.Sub(t0)
	start := t0.Add(-2*time.Hour + time.Duration(rng.Int64N(int64(span+2*time.Hour))))
	return f, f.config(start, start.Add(time.Duration(rng.Int64N(int64(span+5*time.Hour)))), regions...)
}

// writeScenario writes what validate_logs.py reads.
func writeScenario(t *testing.T, path, name string, f *fixture, cfg Config) {
	type object struct {
		Key      string            `json:"key"`
		Body     string            `json:"body"`
		Metadata map[string]string `json:"metadata"`
	}
	type key struct {
		Value       string `json:"value"`
		Fingerprint string `json:"fingerprint"`
		Start       int64  `json:"start"`
		End         int64  `json:"end"`
	}
	var objects []object
	for k, o := range f.src.objects {
		objects = append(objects, object{k, base64.StdEncoding.EncodeToString(o.body), o.meta})
	}
	keys := map[string][]key{}
	for r, ks := range f.keys.keys {
		for _, k := range ks {
			keys[r] = append(keys[r], key{base64.StdEncoding.EncodeToString(k.Value), k.Fingerprint, k.ValidityStart.Unix(), k.ValidityEnd.Unix()})
		}
	}
	raw, err := json.Marshal(map[string]any{
		"name": name, "bucket": cfg.Bucket, "buckets": map[string][]object{cfg.Bucket: objects}, "keys": keys,
		"prefix": cfg.Location.Prefix, "organization": cfg.Location.OrganizationID, "account": cfg.Account,
		"trail": cfg.Trail, "home": cfg.HomeRegion, "regions": cfg.Regions,
		"start": cfg.Start.UTC().Format(time.RFC3339Nano), "end": cfg.End.UTC().Format(time.RFC3339Nano),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}
