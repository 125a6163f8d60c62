package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/opsaudit/terraform-provider-opsaudit/internal/awsclient"
)

// stringCheck is a string validator from a description and a check that
// returns the problem, or "" when the value is fine. Unknown and null values
// are left to other validators.
type stringCheck struct {
	description string
	check       func(string) string
}

func (v stringCheck) Description(context.Context) string         { return v.description }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.description }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if problem := v.check(req.ConfigValue.ValueString()); problem != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid value", problem)
	}
}

func knownRegion() validator.String {
	return stringCheck{description: "value must be an AWS region name", check: func(s string) string {
		if awsclient.KnownRegion(s) {
			return ""
		}
		return fmt.Sprintf("%q is not an AWS region name (for example us-east-1).", s)
	}}
}

func endpointURL() validator.String {
	return stringCheck{description: "value must be an absolute http or https URL", check: func(s string) string {
		if err := awsclient.ValidateEndpoint(s); err != nil {
			return fmt.Sprintf("%q is not a usable endpoint URL: %s. Give an absolute URL such as http://127.0.0.1:4599.", s, err)
		}
		return ""
	}}
}

func durationBetween(min, max time.Duration) validator.String {
	return stringCheck{description: fmt.Sprintf("value must be a duration between %s and %s", min, max), check: func(s string) string {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Sprintf("%q is not a duration such as \"1h\" or \"90m\": %s.", s, err)
		}
		if d < min || d > max {
			return fmt.Sprintf("%s is outside the allowed range %s to %s.", d, min, max)
		}
		return ""
	}}
}

func joinQuoted(ss []string) string {
	return strings.Join(ss, "`, `")
}
