// Package templates holds sockplay's server-rendered HTML as templ
// components. The page is a shell: the browser module in static/ fills it
// from the session's WebSocket. Views take plain values defined here, never
// the engine's types.
package templates

// Lab is a lab server as the page lists it.
type Lab struct {
	Name        string
	Proto       string
	Addr        string
	Description string
}
