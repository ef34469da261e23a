package scim_test

import "testing"

func TestProbeSecretCheck(t *testing.T) {
	e := newEnv(t)
	e.createUser("probe.user")
	e.secret("probe.user")
}
