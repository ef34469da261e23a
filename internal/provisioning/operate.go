package provisioning

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/fault"
	"github.com/gatehouse-id/gatehouse/internal/provisioning/target"
)

// Status is an application with its engine state, for app show/status and
// the admin API.
type Status struct {
	App         Application
	Directory   string
	State       State
	Assignments []Assignment
	Cycles      []Cycle
	Staged      []Staged
	Escrows     []Escrow
	Linked      map[string]int // "User"/"Group" -> active links
	Disabled    map[string]int // deprovisioned links
}

// Status gathers an application's state.
func (s *Service) Status(ctx context.Context, name string, cycles int) (*Status, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &Status{App: a, Linked: map[string]int{}, Disabled: map[string]int{}}
	if d, err := s.Directory(ctx, a); err == nil {
		st.Directory = d.Name
	}
	if st.State, err = s.Store.State(ctx, a.ID); err != nil {
		return nil, err
	}
	if st.Assignments, err = s.Store.Assignments(ctx, a.ID); err != nil {
		return nil, err
	}
	if st.Cycles, err = s.Store.Cycles(ctx, a.ID, cycles); err != nil {
		return nil, err
	}
	if st.Staged, err = s.Store.Staged(ctx, a.ID); err != nil {
		return nil, err
	}
	if st.Escrows, err = s.Store.Escrows(ctx, a.ID); err != nil {
		return nil, err
	}
	refs, err := s.Store.LinkIndex(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, l := range refs {
		if l.Active {
			st.Linked[l.ObjectType]++
		} else {
			st.Disabled[l.ObjectType]++
		}
	}
	return st, nil
}

// ApproveDeletes lets the next cycle send the staged disables and deletes
// beyond the threshold, and asks for that cycle now.
func (s *Service) ApproveDeletes(ctx context.Context, name string, ev *audit.Event) (int, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return 0, err
	}
	staged, err := s.Store.Staged(ctx, a.ID)
	if err != nil {
		return 0, err
	}
	if len(staged) == 0 {
		return 0, fault.New(fault.NotFound, "staged", "application %q has no staged deletes", a.Name)
	}
	ev = fillEvent(ev, a)
	if ev != nil {
		ev.SetParameters(map[string]any{"application": a.Name, "staged": len(staged)})
	}
	_, err = s.Store.UpdateState(ctx, a.ID, func(st *State) error {
		st.DeletesApproved, st.RunRequested = true, true
		return nil
	}, ev)
	return len(staged), err
}

// RejectDeletes drops the staged disables and deletes: the target objects
// are left as they are and are no longer managed (unlinked). If they come
// back into scope they are matched again.
func (s *Service) RejectDeletes(ctx context.Context, name string, ev *audit.Event) (int, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return 0, err
	}
	staged, err := s.Store.Staged(ctx, a.ID)
	if err != nil {
		return 0, err
	}
	if len(staged) == 0 {
		return 0, fault.New(fault.NotFound, "staged", "application %q has no staged deletes", a.Name)
	}
	b := &Batch{}
	for _, x := range staged {
		b.ClearStaged = append(b.ClearStaged, x.SourceID)
		b.Unlink = append(b.Unlink, x.SourceID)
	}
	if ev = fillEvent(ev, a); ev != nil {
		ev.SetParameters(map[string]any{"application": a.Name, "rejected": len(staged)})
		b.Events = append(b.Events, ev)
	}
	return len(staged), s.Store.Apply(ctx, a.ID, b)
}

// Restart clears an application's state (links included) and asks for a
// cycle; the next cycle matches everything in scope again.
func (s *Service) Restart(ctx context.Context, name string, ev *audit.Event) error {
	a, err := s.App(ctx, name)
	if err != nil {
		return err
	}
	return s.Store.ResetApp(ctx, a.ID, true, fillEvent(ev, a))
}

// RequestRun asks the scheduler to run an application's cycle now.
func (s *Service) RequestRun(ctx context.Context, name string) error {
	a, err := s.App(ctx, name)
	if err != nil {
		return err
	}
	_, err = s.Store.UpdateState(ctx, a.ID, func(st *State) error { st.RunRequested = true; return nil }, nil)
	return err
}

// schemaHeader heads an exported mappings document.
const schemaHeader = `# Gatehouse attribute mappings and scoping filters of application %q (target profile %s).
# Edit and load with: gatehouse app mappings import %s --file FILE
# type: direct (source is a source attribute), constant (source is the value),
#       expression (source is an expression: Join(" ", [name.givenName], [name.familyName]))
# default: value used when the mapped value is empty; apply: always | on-create
# match: matching precedence (1 is tried first); scoping: filters ORed, clauses ANDed.
`

// ExportSchema renders an application's schema as YAML.
func (s *Service) ExportSchema(ctx context.Context, name string) ([]byte, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, schemaHeader, a.Name, a.TargetProfile, a.Name)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(a.Schema); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

// ParseSchema reads a mappings document strictly (unknown keys fail).
func ParseSchema(data []byte) (Schema, error) {
	var sc Schema
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		if errors.Is(err, io.EOF) {
			return sc, fault.New(fault.InvalidValue, "file", "the mappings document is empty")
		}
		return sc, fault.New(fault.InvalidSyntax, "file", "the mappings document is not valid: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return sc, nil
}

// ImportSchema validates and stores a mappings document. Target attributes
// are checked against the target's /Schemas when it answers (warnings say
// when it did not); expressions are compiled; errors name the mapping.
func (s *Service) ImportSchema(ctx context.Context, name string, data []byte, ev *audit.Event) (Application, []string, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return a, nil, err
	}
	sc, err := ParseSchema(data)
	if err != nil {
		return a, nil, err
	}
	var warnings []string
	known := KnownFunc(nil)
	if t, err := s.Target(a); err == nil {
		if info, err := t.Schemas(ctx); err == nil {
			if info.Source != "target" {
				warnings = append(warnings, "the target publishes no /Schemas; attributes were checked against RFC 7643 and the target profile")
			}
			known = func(objectType, path string) bool {
				rs := info.User
				if objectType == TypeGroup {
					rs = info.Group
				}
				return rs == nil || rs.Known(path)
			}
			warnings = append(warnings, info.Warnings...)
		} else {
			warnings = append(warnings, "the target's /Schemas could not be read ("+describeErr(err)+"); attributes were checked against RFC 7643 only")
		}
	}
	if _, err := CompileSchema(sc, known); err != nil {
		return a, warnings, err
	}
	if ev != nil {
		ev.SetParameters(map[string]any{"application": a.Name, "userMappings": len(sc.Users.Mappings), "groupMappings": len(sc.Groups.Mappings),
			"userScopingFilters": len(sc.Users.Scoping), "groupScopingFilters": len(sc.Groups.Scoping)})
	}
	out, err := s.UpdateApp(ctx, name, Update{Schema: &sc}, ev)
	if err == nil {
		s.ForgetSchema(out)
	}
	return out, warnings, err
}

func describeErr(err error) string {
	if te, ok := target.AsError(err); ok {
		return te.Code() + ": " + te.Detail
	}
	return err.Error()
}

// SetMapping adds or replaces (by target attribute) one mapping of an
// object type, validated like an import.
func (s *Service) SetMapping(ctx context.Context, name, objectType string, m Mapping, ev *audit.Event) (Application, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return a, err
	}
	sc := a.Schema
	obj := &sc.Users
	if objectType == TypeGroup {
		obj = &sc.Groups
	}
	list := append([]Mapping(nil), obj.Mappings...)
	replaced := false
	for i := range list {
		if strings.EqualFold(list[i].Target, m.Target) {
			list[i], replaced = m, true
		}
	}
	if !replaced {
		list = append(list, m)
	}
	obj.Mappings = list
	if ev != nil {
		ev.SetParameters(map[string]any{"application": a.Name, "objectType": objectType, "mapping": m})
	}
	return s.UpdateApp(ctx, name, Update{Schema: &sc}, ev)
}

// RemoveMapping deletes the mapping of a target attribute.
func (s *Service) RemoveMapping(ctx context.Context, name, objectType, targetAttr string, ev *audit.Event) (Application, error) {
	a, err := s.App(ctx, name)
	if err != nil {
		return a, err
	}
	sc := a.Schema
	obj := &sc.Users
	if objectType == TypeGroup {
		obj = &sc.Groups
	}
	var list []Mapping
	for _, m := range obj.Mappings {
		if !strings.EqualFold(m.Target, targetAttr) {
			list = append(list, m)
		}
	}
	if len(list) == len(obj.Mappings) {
		return a, fault.New(fault.NotFound, "target", "application %q has no %s mapping for %s", a.Name, strings.ToLower(objectType), targetAttr)
	}
	obj.Mappings = list
	return s.UpdateApp(ctx, name, Update{Schema: &sc}, ev)
}
