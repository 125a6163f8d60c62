// Package policy is the rule catalog and evaluator behind the
// opsaudit_compliance data source. It is pure: the provider reads the trail,
// its log bucket and the recorded events from AWS, maps them into Input, and
// this package judges them. It imports nothing from the AWS SDK or Terraform.
//
// Use:
//
//	e, err := policy.New(cfg)        // validates ids, CIDRs, severities; compiles CEL
//	res := e.Evaluate(input)         // never fails; problems become res.Reasons
//	js, _ := res.JSON()              // JSONReport, version 1
//	sarif, _ := res.SARIF(policy.SARIFOptions{ArtifactURI: "main.tf"})
//	junit, _ := res.JUnit()
//
// policy.CompileRules validates user rules without any input, for
// ValidateConfig at plan time; its errors are *CompileError with the rule id
// and the line:column in the condition. policy.CompileSigmaRules does the
// same for Sigma documents, given the CEL rules' ids; its errors are *sigma.Error with the document's
// index, the rule id, the line and, for what Sigma has but the engine does
// not support, the feature. A Sigma rule becomes a user event rule: its id,
// title, level as severity (informational is info), description and false
// positives as remediation, references and ATT&CK tags as References.
//
// Rule ids are "<target>_<snake_case>" (trail_, bucket_, event_). Catalog
// returns them with their Security Hub, CIS AWS Foundations v3.0.0, Checkov
// and Prowler references.
//
// Judgement calls, documented here because they shape results:
//   - Status is fail when a finding is at least FailOn, even on partial
//     input; otherwise unknown when anything is incomplete (Input.Incomplete,
//     a nil Trail or Bucket while rules of that target are enabled, a rule
//     that errored); otherwise pass.
//   - trail_log_integrity judges Input.LogIntegrity, which the provider
//     fills by validating the trail's digest and log files (costly, so
//     only when Evaluator.Runs says the rule runs): one finding per invalid
//     file, its S3 key as the resource; unknown when LogIntegrity is nil or
//     says files could not all be validated.
//   - Built-in event rules look only at events of the configured event
//     source; user rules (CEL and Sigma) see every event given. The rules
//     about named OpsWorks CM actions (DeleteServer, CreateServer, ...)
//     judge OpsWorks CM events only, whatever the source: other services'
//     actions of those names are not OpsWorks CM's.
//   - Rules about what a call did (deletions, exports, credential resets,
//     restores, server creation, backup changes) count successful calls only;
//     rules about who or where (root, MFA, source address, end of life) count
//     attempts too; failed attempts are what the access denied rule counts.
//   - An empty allowed_principals allows no one.
//   - A human identity, for the MFA rule, is an IAM user or the root user
//     calling directly (no invokedBy). Assumed-role sessions are not judged:
//     their MFA flag reflects how the role was assumed, and federated people
//     and automation look alike in CloudTrail.
//   - RestoreServer with any KeyPair counts as a new key pair: the record
//     does not say which key pair the server had before.
//   - CreateServer without associatePublicIpAddress counts as public, the
//     API's default.
//   - OpsWorks CM end of life is taken as the end of 2024-05-05 UTC.
package policy
