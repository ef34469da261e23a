package provisioning

import "time"

// Notification kinds.
const (
	NotifyQuarantined = "quarantined"
	NotifyReleased    = "released"
	NotifyStaged      = "deletes-staged"
	// NotifyDisabled: quarantined longer than
	// provisioning.quarantine_disable_after, the application was disabled.
	NotifyDisabled = "disabled"
)

// Notification tells an operator that an application needs attention. It is
// POSTed as JSON to provisioning.notify_webhook.
type Notification struct {
	Kind        string    `json:"kind"`
	Application string    `json:"application"`
	AppID       string    `json:"applicationId"`
	Reason      string    `json:"reason"`
	Detail      string    `json:"detail"`
	Time        time.Time `json:"time"`
	// Staged is the number of staged disables and deletes (deletes-staged).
	Staged int `json:"staged,omitempty"`
}
