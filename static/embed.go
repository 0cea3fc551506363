// Package static holds the browser side of sockplay: ES modules (no build
// step), CSS and images, embedded so the binary is the whole app.
package static

import "embed"

// FS is the static files, served under /static/.
//
//go:embed *.js *.css *.svg ruler/*.js py/*.js py/lib/*.py
var FS embed.FS
