// Package webhooks will hold the MemberGate admission webhooks: defaulting
// and validation with messages that say what to change.
package webhooks
