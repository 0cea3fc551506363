package sockets

import (
	"reflect"
	"slices"
	"strings"
)

// argFields are Args' arguments by their JSON names, with where each is
// (those of More through its pointer).
var argFields = func() (fields []argField) {
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			at := append(slices.Clone(index), i)
			if f.Anonymous {
				walk(f.Type.Elem(), at)
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields = append(fields, argField{name, at})
		}
	}
	walk(reflect.TypeFor[Args](), nil)
	return fields
}()

type argField struct {
	name  string
	index []int
}

// argNames are Args' JSON names.
var argNames = func() []string {
	names := make([]string, len(argFields))
	for i, f := range argFields {
		names[i] = f.name
	}
	return names
}()

// given reports whether a has the argument f (false under a nil More).
func (f argField) given(a reflect.Value) bool {
	v, err := a.FieldByIndexErr(f.index)
	return err == nil && !v.IsZero()
}

// checkArgs refuses arguments the op does not take, as Python's TypeError.
func checkArgs(name string, spec *opSpec, a *Args) *Error {
	v := reflect.ValueOf(*a)
	for _, f := range argFields {
		arg := f.name
		if arg == "requested" || !f.given(v) || slices.Contains(spec.Args, arg) {
			continue
		}
		takes := "no arguments"
		if len(spec.Args) > 0 {
			takes = strings.Join(spec.allowed(), ", ")
		}
		hint := ""
		if arg == "timeout" {
			hint = "; a socket's timeout is set with settimeout"
		}
		return errType("%s() got an unexpected argument '%s' (it takes %s%s)", name, arg, takes, hint)
	}
	return nil
}
