package sockets

import (
	"reflect"
	"slices"
	"strings"
)

// argNames are Args' JSON names, by field index.
var argNames = func() []string {
	t := reflect.TypeFor[Args]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return names
}()

// checkArgs refuses arguments the op does not take, as Python's TypeError.
func checkArgs(name string, spec *opSpec, a *Args) *Error {
	v := reflect.ValueOf(*a)
	for i, arg := range argNames {
		if arg == "requested" || v.Field(i).IsZero() || slices.Contains(spec.Args, arg) {
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
