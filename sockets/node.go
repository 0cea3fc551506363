package sockets

import (
	"fmt"
	"regexp"
	"strings"
)

// nodeSep parts a node's name from the rest of an id ("node-1.abc…"):
// node names never have one, and the base32 of ids never does.
const nodeSep = "."

// nodeName is what a node may be called: a DNS label, as a Kubernetes
// pod's name is, so that a proxy can match it in a path and name an
// upstream after it.
var nodeName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CheckNode says why name cannot be a node's name (Config.Node), if it
// cannot.
func CheckNode(name string) error {
	if !nodeName.MatchString(name) {
		return fmt.Errorf("%q is not a node name: lower-case letters, digits and '-', at most 63, not beginning or ending with '-'", name)
	}
	return nil
}

// NodeOf is the node a session id or watch token names, "" if none.
func NodeOf(id string) string {
	node, _, ok := strings.Cut(id, nodeSep)
	if !ok {
		return ""
	}
	return node
}
