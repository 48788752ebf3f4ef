package auth

import "testing"

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want Role
		ok   bool
	}{
		{"admin", RoleAdmin, true},
		{"curator", RoleCurator, true},
		{"basic", RoleBasic, true},
		{"user", RoleBasic, true},
		{" Curator\t", RoleCurator, true},
		{"USER", RoleBasic, true},
		{"", "", false},
		{"root", "", false},
		{"admins", "", false},
	}
	for _, tt := range tests {
		got, ok := ParseRole(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRole(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRoleOrderAdminCuratorBasic(t *testing.T) {
	tests := []struct {
		role, min Role
		want      bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleCurator, true},
		{RoleAdmin, RoleBasic, true},
		{RoleCurator, RoleAdmin, false},
		{RoleCurator, RoleCurator, true},
		{RoleCurator, RoleBasic, true},
		{RoleBasic, RoleCurator, false},
		{RoleBasic, RoleBasic, true},
		{Role("root"), RoleBasic, false},
		{Role(""), RoleBasic, false},
		{RoleAdmin, Role("root"), false},
	}
	for _, tt := range tests {
		if got := tt.role.AtLeast(tt.min); got != tt.want {
			t.Errorf("%q.AtLeast(%q) = %v, want %v", tt.role, tt.min, got, tt.want)
		}
	}
	if RoleAdmin.Rank() != 2 || RoleCurator.Rank() != 1 || RoleBasic.Rank() != 0 || Role("x").Rank() != -1 {
		t.Errorf("ranks = %d %d %d %d", RoleAdmin.Rank(), RoleCurator.Rank(), RoleBasic.Rank(), Role("x").Rank())
	}
}

func TestForbiddenMessage(t *testing.T) {
	if got, want := ForbiddenMessage(RoleAdmin, RoleCurator), "forbidden: requires admin, principal is curator"; got != want {
		t.Errorf("ForbiddenMessage = %q, want %q", got, want)
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name, header, want string
		ok                 bool
	}{
		{"bearer token", "Bearer abc.def.ghi", "abc.def.ghi", true},
		{"scheme is case-insensitive", "bEARER sbk_x", "sbk_x", true},
		{"token is trimmed", "Bearer    tok  ", "tok", true},
		{"tab after the scheme", "Bearer\ttok", "tok", true},
		{"missing header", "", "", false},
		{"scheme only", "Bearer", "", false},
		{"empty token", "Bearer    ", "", false},
		{"basic scheme", "Basic dXNlcjpwYXNz", "", false},
		{"no space after the scheme", "Bearertok", "", false},
		{"token without scheme", "abc.def.ghi", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BearerToken(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Errorf("BearerToken(%q) = %q, %v, want %q, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestIsUUID(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30", "0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30", true},
		{"0B5C3F1E-8D2A-4C6B-9F41-2A7E5D9C1B30", "0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30", true},
		{"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000", true},
		{"acme", "", false},
		{"0b5c3f1e8d2a4c6b9f412a7e5d9c1b30", "", false},
		{"{0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30}", "", false},
		{"urn:uuid:0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b30", "", false},
		{"0b5c3f1e-8d2a-4c6b-9f41-2a7e5d9c1b3g", "", false},
	}
	for _, tt := range tests {
		got, ok := IsUUID(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("IsUUID(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
