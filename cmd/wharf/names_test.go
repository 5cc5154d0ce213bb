package main_test

import (
	"strings"
	"testing"
)

// wharf admin create-user refuses another spelling of a name that is there, and says which.
func TestCLIAdminCreateUserRefusesLookAlikes(t *testing.T) {
	data := t.TempDir()
	mustWharf(t, nil, "", "admin", "create-user", "foo-bar", "--email", "a@example.com", "--data", data)
	_, err := wharf(t, nil, "", "admin", "create-user", "foo-bar-", "--email", "b@example.com", "--data", data)
	if err == nil || !strings.Contains(err.Error(), "it is the same name as the user foo-bar") {
		t.Errorf("create-user foo-bar-: %v", err)
	}
}
