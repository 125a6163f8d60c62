package policy

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/events"
)

// opsworksCMEndOfLife is the first instant after OpsWorks CM's end of life:
// the later of Puppet Enterprise (2024-03-31) and Chef Automate (2024-05-05),
// taken as the end of that day.
var opsworksCMEndOfLife = time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)

// eventView is an event with its request parameters decoded on first use,
// so the JSON is parsed only for events a rule actually inspects.
type eventView struct {
	ev        *events.Event
	params    map[string]any
	paramsErr error
	decoded   bool
}

func (v *eventView) requestParams() (map[string]any, error) {
	if !v.decoded {
		v.decoded = true
		v.params, v.paramsErr = decodeObject(v.ev.RequestParameters)
		if v.paramsErr != nil {
			v.paramsErr = fmt.Errorf("event %s: decoding requestParameters: %w", v.ev.EventID, v.paramsErr)
		}
	}
	return v.params, v.paramsErr
}

// succeededParams is the request parameters of a call that succeeded: the
// rules that read them judge what a call changed, and a failed call changed
// nothing. ok is false for a failed call and when the parameters do not
// decode (err then says why).
func (v *eventView) succeededParams() (p map[string]any, ok bool, err error) {
	if !succeeded(v.ev) {
		return nil, false, nil
	}
	p, err = v.requestParams()
	return p, err == nil, err
}

// decodeObject decodes a JSON object; empty or "null" gives an empty map.
func decodeObject(s string) (map[string]any, error) {
	m := map[string]any{}
	if s == "" || s == "null" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// param looks a request parameter up by its CloudTrail (camelCase) name,
// falling back to a case-insensitive match for records that spell it as
// the API reference does (KeyPair rather than keyPair).
func param(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func paramTrue(m map[string]any, name string) (value, present bool) {
	v, ok := param(m, name)
	if !ok {
		return false, false
	}
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		return strings.EqualFold(b, "true"), true
	}
	return false, true
}

func paramString(m map[string]any, name string) string {
	v, ok := param(m, name)
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// succeeded: rules about what was done only count calls that took effect;
// failed attempts are the access denied rule's business.
func succeeded(ev *events.Event) bool { return ev.ErrorCode == "" }

// readOnlyCall uses the record's readOnly flag and, since LookupEvents
// results do not always carry it, the service's read-only action names.
func readOnlyCall(ev *events.Event) bool {
	if ev.ReadOnly || ev.EventName == "ExportServerEngineAttribute" {
		return true
	}
	for _, prefix := range []string{"Describe", "List", "Get"} {
		if strings.HasPrefix(ev.EventName, prefix) {
			return true
		}
	}
	return false
}

// caller names the principal for messages and findings.
func caller(ev *events.Event) string {
	switch {
	case ev.PrincipalARN != "":
		return ev.PrincipalARN
	case ev.Username != "":
		return ev.Username
	case ev.AccessKeyID != "":
		return "access key " + ev.AccessKeyID
	}
	return "unknown principal (" + ev.UserIdentityType + ")"
}

func when(ev *events.Event) string {
	return ev.EventTime.UTC().Format(time.RFC3339)
}

func matchRootCall(_ *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	if ev.UserIdentityType != "Root" {
		return "", false, nil
	}
	return fmt.Sprintf("%s by the root user of account %s at %s in %s", ev.EventName, ev.AccountID, when(ev), ev.Region), true, nil
}

func matchUnallowedPrincipal(s *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	if !succeeded(ev) || principalAllowed(s.allowedPrincipals, ev) {
		return "", false, nil
	}
	return fmt.Sprintf("%s by %s at %s in %s; the principal is not in allowed_principals", ev.EventName, caller(ev), when(ev), ev.Region), true, nil
}

func matchCredentialReset(_ *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	p, ok, err := v.succeededParams()
	if !ok {
		return "", false, err
	}
	return fmt.Sprintf("%s reset %s on server %s by %s at %s in %s", ev.EventName,
		orUnknown(paramString(p, "attributeName")), orUnknown(paramString(p, "serverName")), caller(ev), when(ev), ev.Region), true, nil
}

func matchRestoreKeyPair(_ *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	p, ok, err := v.succeededParams()
	if !ok {
		return "", false, err
	}
	key := paramString(p, "keyPair")
	if key == "" {
		return "", false, nil
	}
	return fmt.Sprintf("RestoreServer of backup %s to server %s with key pair %s by %s at %s in %s",
		orUnknown(paramString(p, "backupId")), orUnknown(paramString(p, "serverName")), key, caller(ev), when(ev), ev.Region), true, nil
}

func matchMutatingWithoutMFA(_ *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	human := ev.UserIdentityType == "IAMUser" || ev.UserIdentityType == "Root"
	if !human || ev.InvokedBy != "" || ev.MFAAuthenticated || readOnlyCall(ev) {
		return "", false, nil
	}
	return fmt.Sprintf("%s by %s (%s) without MFA at %s in %s", ev.EventName, caller(ev), ev.UserIdentityType, when(ev), ev.Region), true, nil
}

func matchSourceIP(s *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	if len(s.allowedNets) == 0 {
		return "", false, nil
	}
	addr, err := netip.ParseAddr(ev.SourceIPAddress)
	if err != nil {
		// CloudTrail records a service name or "AWS Internal" when an AWS
		// service made the call for the caller: there is no client IP to judge.
		if ev.InvokedBy != "" || ev.SourceIPAddress == "AWS Internal" || strings.HasSuffix(ev.SourceIPAddress, ".amazonaws.com") {
			return "", false, nil
		}
		return fmt.Sprintf("%s by %s at %s in %s from %q, which is not an IP address", ev.EventName, caller(ev), when(ev), ev.Region, ev.SourceIPAddress), true, nil
	}
	addr = addr.Unmap()
	if slices.ContainsFunc(s.allowedNets, func(p netip.Prefix) bool { return p.Contains(addr) }) {
		return "", false, nil
	}
	return fmt.Sprintf("%s by %s at %s in %s from %s, outside allowed_source_cidrs", ev.EventName, caller(ev), when(ev), ev.Region, addr), true, nil
}

func matchCreateServerExposed(_ *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	p, ok, err := v.succeededParams()
	if !ok {
		return "", false, err
	}
	var problems []string
	if sg, _ := param(p, "securityGroupIds"); isEmpty(sg) {
		problems = append(problems, "no security groups (OpsWorks CM then opens ports 22 and 443 to 0.0.0.0/0)")
	}
	// AssociatePublicIpAddress defaults to true in the OpsWorks CM API.
	if public, present := paramTrue(p, "associatePublicIpAddress"); public || !present {
		problems = append(problems, "a public IP address")
	}
	if len(problems) == 0 {
		return "", false, nil
	}
	return fmt.Sprintf("CreateServer of %s with %s by %s at %s in %s", orUnknown(paramString(p, "serverName")),
		strings.Join(problems, " and "), caller(ev), when(ev), ev.Region), true, nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		return len(x) == 0
	case string:
		return x == ""
	}
	return false
}

func matchBackupsDisabled(_ *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	p, ok, err := v.succeededParams()
	if !ok {
		return "", false, err
	}
	if disabled, _ := paramTrue(p, "disableAutomatedBackup"); !disabled {
		return "", false, nil
	}
	return fmt.Sprintf("UpdateServer disabled automated backups of %s by %s at %s in %s",
		orUnknown(paramString(p, "serverName")), caller(ev), when(ev), ev.Region), true, nil
}

func matchAfterEndOfLife(_ *settings, v *eventView) (string, bool, error) {
	ev := v.ev
	if !strings.EqualFold(ev.EventSource, events.DefaultEventSource) || readOnlyCall(ev) || ev.EventTime.Before(opsworksCMEndOfLife) {
		return "", false, nil
	}
	return fmt.Sprintf("%s by %s at %s in %s, after OpsWorks CM's end of life (2024-05-05)", ev.EventName, caller(ev), when(ev), ev.Region), true, nil
}

// accessDenied recognises AccessDenied, AccessDeniedException,
// UnauthorizedOperation, Client.UnauthorizedOperation and the like.
func accessDenied(code string) bool {
	code = strings.TrimPrefix(code, "Client.")
	return strings.HasPrefix(code, "AccessDenied") || strings.HasPrefix(code, "Unauthorized")
}

func aggregateAccessDenied(s *settings, evs []*events.Event) []eventHit {
	type tally struct {
		count       int
		first, last *events.Event
	}
	byPrincipal := map[string]*tally{}
	var order []string
	for _, ev := range evs {
		if !accessDenied(ev.ErrorCode) {
			continue
		}
		who := caller(ev)
		t := byPrincipal[who]
		if t == nil {
			t = &tally{first: ev, last: ev}
			byPrincipal[who] = t
			order = append(order, who)
		}
		t.count++
		if ev.EventTime.Before(t.first.EventTime) {
			t.first = ev
		}
		if !ev.EventTime.Before(t.last.EventTime) {
			t.last = ev
		}
	}
	slices.Sort(order)
	var hits []eventHit
	for _, who := range order {
		t := byPrincipal[who]
		if t.count < s.accessDeniedThreshold {
			continue
		}
		hits = append(hits, eventHit{event: t.last, message: fmt.Sprintf(
			"%d AccessDenied/Unauthorized errors by %s between %s and %s (threshold %d); latest: %s %s",
			t.count, who, when(t.first), when(t.last), s.accessDeniedThreshold, t.last.EventName, t.last.ErrorCode)})
	}
	return hits
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
